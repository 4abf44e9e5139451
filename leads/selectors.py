"""Business logic of the lead layer that reads: whether a lead may be contacted, a lead locked for an update with
a statement compiled once, the leads due for re-enrichment."""

from datetime import timedelta

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from revops.base.db.sql import rows_compiled_once, rows_compiled_once_and_branch
from revops.base.models import ErasureRecord

from .consent import outreach_allowed
from .models import Lead, WebForm
from .webform_models import origin_normalize

REENRICH_AFTER_DAYS = 60


def lead_contactable(lead: Lead) -> bool:
    """Whether outreach (a call, an e-mail, a re-engagement) may go to this lead: ``leads.consent.outreach_allowed``
    and not merged away."""
    return outreach_allowed(lead) and lead.merged_into_id is None


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
_EMAIL_AT = _LEAD_ATTNAMES.index("email")  # where the erasure check's branch carries the hash it found


def leads_live_matching(column: str, value, *, newest_first: bool, limit: int) -> list[Lead]:
    """The live leads whose ``column`` equals ``value`` (by id, newest first or oldest first, at most ``limit``), the
    statement compiled once per column, order and limit: the duplicate check runs these on every lead the API takes,
    and compiling a 56-column query cost more than running it."""
    rows = rows_compiled_once(("live matching", column, newest_first, limit),
                              lambda: _matching_query(column, "?", newest_first, limit), [value])
    return [Lead.from_db(connection.alias, _LEAD_ATTNAMES, row) for row in rows]


def leads_live_matching_except(column: str, value, *, newest_first: bool, limit: int, exclude_id: int) -> list[Lead]:
    """``leads_live_matching`` leaving one lead out (a stored lead's re-check): an ordinary query."""
    return list(_matching_query(column, value, newest_first, limit, Lead.objects.live().exclude(pk=exclude_id)))


# The look-ups' order: by id, written as an expression the primary key's index cannot give. Ordered by the column
# itself, a prepared look-up planned while the table looked empty (a fresh database, before autovacuum's first
# ANALYZE) walks the whole primary key filtering on the e-mail (2.3 ms at 5,000 leads, growing with each lead, against
# 0.1 ms by the e-mail's index; docs/benchmarks.md, twenty-eighth stop). The matches of one value are a handful,
# sorted after the index scan either way.
_BY_ID = RawSQL('"leads_lead"."id" + 0', ())


def _matching_query(column: str, value, newest_first: bool, limit: int, leads=None):
    """The live leads whose ``column`` equals ``value``, by id (newest or oldest first), at most ``limit``."""
    leads = Lead.objects.live() if leads is None else leads
    order = _BY_ID.desc() if newest_first else _BY_ID.asc()
    return leads.filter(**{column: value}).order_by(order)[:limit]


def leads_live_matching_together(lookups: list[tuple[str, str, bool, int]]) -> list[list[Lead]]:
    """``leads_live_matching`` for each ``(column, value, newest_first, limit)``, in one statement where the database
    takes a UNION ALL of ordered, limited look-ups (PostgreSQL: one round trip for the duplicate check's up to four
    instead of one each; SQLite runs each alone, in-process). The results are exactly the separate look-ups': a
    lead found by one look-up and also matching another's column belongs to that one's answer only if it is among
    its own first ``limit`` in its order, which are all in the union."""
    if len(lookups) < 2 or not connection.features.supports_slicing_ordering_in_compound:
        return [leads_live_matching(column, value, newest_first=newest_first, limit=limit)
                for column, value, newest_first, limit in lookups]
    rows = rows_compiled_once(_together_key(lookups), lambda: _together(lookups), [v for _, v, _, _ in lookups])
    return _answers(lookups, rows)


def leads_live_matching_and_erasures(lookups: list[tuple[str, str, bool, int]],
                                     hashes: list[str]) -> tuple[list[list[Lead]], set[str]]:
    """``leads_live_matching_together`` (one look-up or more) and which of ``hashes`` (an e-mail's,
    ``revops.base.privacy.erasure_hashes_to_check``) an erasure on request is recorded under, in the same statement:
    the API's duplicate check answers its erasure check too (PostgreSQL only, where the look-ups run together)."""
    branch = _ERASURE_BRANCH.get(len(hashes))
    if branch is None:
        columns = ["NULL"] * len(_LEAD_ATTNAMES)
        columns[_EMAIL_AT] = "email_hash"  # a text column
        branch = _ERASURE_BRANCH[len(hashes)] = (
            f"SELECT {', '.join(columns)} FROM {ErasureRecord._meta.db_table} "
            f"WHERE email_hash IN ({', '.join(['%s'] * len(hashes))})")
    rows, erasures = rows_compiled_once_and_branch(_together_key(lookups), lambda: _together(lookups),
                                                   [v for _, v, _, _ in lookups], branch, hashes)
    return _answers(lookups, rows), {row[_EMAIL_AT] for row in erasures}


_ERASURE_BRANCH: dict[int, str] = {}


def _together_key(lookups) -> tuple:
    return ("live matching together",
            tuple((column, newest_first, limit) for column, _, newest_first, limit in lookups))


def _together(lookups):
    parts = [_matching_query(column, "?", newest_first, limit) for column, _, newest_first, limit in lookups]
    return parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]


def _answers(lookups, rows) -> list[list[Lead]]:
    """Each look-up's answer out of the rows of all of them."""
    found = {lead.pk: lead for lead in (Lead.from_db(connection.alias, _LEAD_ATTNAMES, row) for row in rows)}
    answers = []
    for column, value, newest_first, limit in lookups:
        same = sorted((lead for lead in found.values() if getattr(lead, column) == value),
                      key=lambda lead: lead.pk, reverse=newest_first)
        answers.append(same[:limit])
    return answers


def leads_locked(*, lead_ids: list[int]) -> dict[int, Lead]:
    """The leads with these ids, locked until the transaction ends in ascending id (the order every batch takes them
    in), by id: :func:`lead_locked` for a batch, in one statement."""
    return {lead.pk: lead for lead in _locking_in_order(lead_ids)}


def leads_locked_in_order(*, lead_ids: list[int]) -> None:
    """Lock these leads until the transaction ends, in ascending id (the order every batch takes them in, so two
    workers never wait on each other)."""
    list(_locking_in_order(lead_ids).values_list("pk", flat=True))


def _locking_in_order(lead_ids: list[int]):
    """The locking query of these leads in ascending id (SQLite's backend skips Django's own transaction check)."""
    if not connection.in_atomic_block:
        raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
    return Lead.objects.select_for_update().filter(pk__in=lead_ids).order_by("pk")


def leads_due_for_reenrichment(*, now=None, limit: int = 1000) -> list[int]:
    """Live leads older than 60 days, not enriched in 60 days, with incomplete firmographic fields."""
    now = now or timezone.now()
    horizon = now - timedelta(days=REENRICH_AFTER_DAYS)
    incomplete = Q(industry="") | Q(employees__isnull=True) | Q(company="") | Q(annual_revenue__isnull=True)
    return list(
        Lead.objects.live()
        .filter(incomplete, created_at__lt=horizon)
        .filter(Q(enriched_at__isnull=True) | Q(enriched_at__lt=horizon))
        .order_by("enriched_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def webform_active_get(*, key: str) -> WebForm | None:
    """The active website form with this public key, or None."""
    return WebForm.objects.filter(key=key, active=True).first()


def webform_origin_allowed(*, key: str, origin: str) -> bool:
    """Whether a page at ``origin`` may post the active form ``key`` from a browser (its CORS allow-list)."""
    form = webform_active_get(key=key)
    return form is not None and origin_normalize(origin) in form.origins()
