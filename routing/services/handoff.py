"""Hand-off: a lead an SDR owns that becomes SQL goes to the rules for SQLs (the AE rule); one lead, or a drain's
leads set-based."""

from __future__ import annotations

from functools import cache

from django.db import transaction

from leads.choices import Stage
from leads.models import Lead

from ..choices import RepRole
from ..models import Rep
from ..selectors import owner_is_sdr
from .assignment import RouteManyResult, RouteOutcome, lead_route, leads_reroute_chunk

CAUSE_STAGE_HANDOFF = "stage handoff"


def lead_stage_handoff(*, lead_id: int) -> RouteOutcome:
    """Hand an SQL lead an SDR owns to the rules for SQLs (the AE rule), with the cause "stage handoff".

    Idempotent: does nothing unless the lead is still SQL and still owned by an SDR. The routing is forced (the lead
    has an owner) and keeps the SDR only when the SQL rule's own pool contains them; the SDR's open tasks are
    cancelled and the new owner gets a follow-up task. Nobody available → the review queue, as any routing.
    """
    with transaction.atomic():
        lead = Lead.objects.select_for_update(of=("self",)).get(pk=lead_id)
        if lead.merged_into_id or lead.stage != Stage.SQL or not owner_is_sdr(owner_id=lead.owner_id):
            return RouteOutcome(None, "noop")
        return lead_route(lead_id=lead_id, cause=CAUSE_STAGE_HANDOFF, force=True, keep_current_owner=True)


def leads_stage_handoff_many(*, lead_ids: list[int]) -> RouteManyResult:
    """:func:`lead_stage_handoff` for a drain's leads in one transaction: the same checks after the leads' lock
    (still SQL, still owned by an SDR, not merged), the same decisions, cancelled tasks, history and messages, each
    choice seeing the loads and round-robin turns of the ones before it (``leads_reroute_chunk``)."""
    result = RouteManyResult()

    @cache
    def sdr_users() -> set[int]:  # read at the first lead asked about: after the leads' lock, as one lead's hand-off
        return set(Rep.objects.filter(role=RepRole.SDR).values_list("user_id", flat=True))

    with transaction.atomic():
        leads_reroute_chunk(sorted(set(lead_ids)), CAUSE_STAGE_HANDOFF, result,
                            keep=lambda lead: lead.stage == Stage.SQL and lead.owner_id in sdr_users())
    return result
