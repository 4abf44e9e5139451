"""Re-routing: a deactivated rep's open leads, the leads a territory change affects, an admin's "route again".

Each lead is routed again by the rules in its own transaction; one lead's failure sends it to review and the others
go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from revops.base.jobs import TRANSIENT_ERRORS

from ..models import Rep, Territory
from ..selectors import rep_open_lead_ids, territory_lead_ids
from ..signals import territory_reroute_requested
from .assignment import lead_route, lead_route_failed

CAUSE_REP_DEACTIVATED = "rep deactivated"
CAUSE_TERRITORY = "territory change"


@dataclass
class RerouteResult:
    """Leads looked at, and what became of them: moved (a decision written), unchanged, failed (→ review)."""

    considered: int = 0
    moved: int = 0
    unchanged: int = 0
    failed: int = 0
    decisions: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.considered} leads: {self.moved} re-routed, {self.unchanged} unchanged, {self.failed} failed"


def _reroute_each(lead_ids: list[int], *, cause: str, user=None, keep_current_owner: bool) -> RerouteResult:
    """Route each lead again in its own transaction; one lead's failure sends it to review, the others go on."""
    result = RerouteResult(considered=len(lead_ids))
    for lead_id in lead_ids:
        try:
            outcome = lead_route(lead_id=lead_id, cause=cause, force=True, keep_current_owner=keep_current_owner,
                                 user=user)
        except TRANSIENT_ERRORS:
            raise  # the job is retried; leads already re-routed are skipped next time (their state changed)
        except Exception as exc:  # noqa: BLE001 - one broken lead must not stop the others; it goes to review
            lead_route_failed(lead_id, "routing", f"{type(exc).__name__}: {exc}")
            result.failed += 1
            continue
        if outcome.decision is None:
            result.unchanged += 1
        else:
            result.moved += 1
            result.decisions.append(outcome.decision.pk)
    return result


def leads_reroute(*, lead_ids: list[int], user=None, reason: str) -> int:
    """Route the given leads again now, whatever their owner or queue (admin action "Route again")."""
    return _reroute_each(sorted(lead_ids), cause=reason, user=user, keep_current_owner=False).moved


def rep_leads_reroute(*, rep_id: int) -> RerouteResult:
    """Re-route every open lead of a deactivated rep by the rules (the rep is skipped as inactive).

    Idempotent: a rep active again keeps their leads; a second run finds no leads left to move.
    """
    rep = Rep.objects.select_related("user").get(pk=rep_id)
    if rep.is_active and rep.user.is_active:
        return RerouteResult()
    return _reroute_each(rep_open_lead_ids(rep=rep), cause=CAUSE_REP_DEACTIVATED, keep_current_owner=False)


def territory_leads_reroute(*, territory_id: int, user=None) -> RerouteResult:
    """Re-route the open leads a territory change may affect; an owner who still fits keeps the lead."""
    territory = Territory.objects.get(pk=territory_id)
    return _reroute_each(territory_lead_ids(territory=territory), cause=f"{CAUSE_TERRITORY}: {territory.name}",
                         user=user, keep_current_owner=True)


def territory_leads_reroute_request(*, territory_id: int) -> None:
    """Ask for a territory's open leads to be re-routed in a worker (admin action): announced after commit."""
    territory_reroute_requested.send(sender=Territory, territory_id=territory_id)
