"""Business logic of the lead layer that reads."""

from django.db import connection
from django.db.models import QuerySet
from django.db.transaction import TransactionManagementError

from revops.base.db.sql import rows_compiled_once

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


def lead_locked(*, lead_id: int) -> Lead:
    """``Lead.objects.select_for_update().get(pk=lead_id)`` with the statement compiled once per database.

    Routing and scoring lock the lead they work on first thing, thousands of times a minute; compiling a 56-column
    query each time was the largest single cost of a routing decision. Same SQL, same converters, same instance.
    """
    if not connection.in_atomic_block:
        raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
    rows = rows_compiled_once("lead locked", lambda: Lead.objects.select_for_update().filter(pk=0), [lead_id])
    if not rows:
        raise Lead.DoesNotExist(f"Lead {lead_id} does not exist.")
    return Lead.from_db(connection.alias, _LEAD_ATTNAMES, rows[0])


_LEAD_ATTNAMES = [f.attname for f in Lead._meta.concrete_fields]
