"""Business logic of the lead layer that reads."""

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.transaction import TransactionManagementError

from .filtersets import LeadFilterSet
from .models import Lead


def lead_list(*, filters: dict | None = None) -> QuerySet[Lead]:
    """Live leads, filtered with the LeadFilterSet vocabulary (stage, band, owner, queue, score range...)."""
    queryset = Lead.objects.live().select_related("owner")
    return LeadFilterSet(filters or {}, queryset).qs


def lead_get(*, lead_id: int) -> Lead:
    return Lead.objects.select_related("owner", "account").get(pk=lead_id)


def lead_contactable(lead: Lead) -> bool:
    """Whether outreach (a call, an e-mail, a re-engagement) may go to this lead: not opted out, not suppressed."""
    from .choices import Consent, Stage

    return lead.consent != Consent.OPT_OUT and lead.stage != Stage.SUPPRESSED and lead.merged_into_id is None


_LOCK_QUERIES: dict[tuple[str, str], tuple] = {}


def lead_locked(*, lead_id: int, using: str = DEFAULT_DB_ALIAS) -> Lead:
    """``Lead.objects.select_for_update().get(pk=lead_id)`` with the statement compiled once per database.

    Routing and scoring lock the lead they work on first thing, thousands of times a minute; compiling a 56-column
    query each time was the largest single cost of a routing decision. Same SQL, same converters, same instance.
    """
    connection = connections[using]
    if not connection.in_atomic_block:
        raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
    key = (using, connection.vendor)
    if key not in _LOCK_QUERIES:
        compiler = Lead.objects.select_for_update().filter(pk=0).query.get_compiler(using)
        sql, _ = compiler.as_sql()
        converters = compiler.get_converters([column for column, _, _ in compiler.select])
        _LOCK_QUERIES[key] = (sql, list(converters.items()), [f.attname for f in Lead._meta.concrete_fields])
    sql, converters, names = _LOCK_QUERIES[key]
    with connection.cursor() as cursor:
        cursor.execute(sql, [lead_id])
        row = cursor.fetchone()
    if row is None:
        raise Lead.DoesNotExist(f"Lead {lead_id} does not exist.")
    values = list(row)
    for position, (functions, expression) in converters:
        for function in functions:
            values[position] = function(values[position], expression, connection)
    return Lead.from_db(using, names, values)
