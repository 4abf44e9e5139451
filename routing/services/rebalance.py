"""Workload rebalancing: even out a team's open leads, moving leads from overloaded reps to the least loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from leads.choices import Queue
from leads.models import Lead

from ..models import Rep, RoutingDecision, Team
from ..selectors import leads_open, leads_territory_rule, rep_territory_ids
from .assignment import lead_routing_state
from .pools import rep_unavailable_reason
from .tasks import tasks_after_manual_move, tasks_move_open

CAUSE_REBALANCE = "rebalance"


@dataclass
class RebalanceResult:
    """Moves made (lead, from, to, why) and the team's open-lead counts before and after."""

    team: str
    moves: list[dict[str, Any]] = field(default_factory=list)
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        counts = ", ".join(f"{name} {self.before[name]}→{self.after[name]}" for name in self.before)
        return f"{self.team}: moved {len(self.moves)} leads ({counts})"


def routing_rebalance(*, team_id: int, user=None, dry_run: bool = False) -> RebalanceResult:
    """Even out open leads in a team: leads move from reps over capacity or above the average to the least loaded.

    Steps:
    1. lock the open leads the team's active reps own (id order), then the team's reps (id order);
    2. receivers are reps who could take a lead now (active, in office; working hours and daily caps are about new
       leads and do not apply); donors are active reps over capacity or above the team's average (rounded up);
    3. repeatedly move one lead from the most loaded donor to the least loaded receiver while that narrows the
       gap (donor − receiver ≥ 2, or the donor is over capacity) and the receiver stays within capacity;
       a donor gives its most recently assigned leads first (the least worked); a lead routed by a rule with
       ``match_rep_territory`` only goes to a rep of that territory;
    4. each move writes a decision (cause "rebalance", with the counts and the reason) and moves the open tasks.
    """
    now = timezone.now()
    team = Team.objects.get(pk=team_id)
    result = RebalanceResult(team=team.name)
    with transaction.atomic():
        user_ids = list(Rep.objects.filter(team=team, is_active=True).values_list("user_id", flat=True))
        leads = list(
            leads_open(Lead.objects.select_for_update(of=("self",))).filter(owner_id__in=user_ids).order_by("pk")
        )
        reps = [r for r in Rep.objects.pool_locked(team_ids=[team.pk]) if r.is_active and r.user.is_active]
        if not reps:
            return result
        counts = {r.pk: 0 for r in reps}
        by_user = {r.user_id: r for r in reps}
        owned: dict[int, list[Lead]] = {r.pk: [] for r in reps}
        for lead in leads:
            if lead.owner_id in by_user:
                rep = by_user[lead.owner_id]
                counts[rep.pk] += 1
                owned[rep.pk].append(lead)
        for rep_leads in owned.values():
            rep_leads.sort(key=lambda item: (item.assigned_at or item.created_at, item.pk))  # newest last
        result.before = {str(r): counts[r.pk] for r in reps}
        total = sum(counts.values())
        ceiling = -(-total // len(reps))
        receivers = [r for r in reps if _can_receive_moved_leads(r, now)]
        territory_rules = leads_territory_rule(lead_ids=[lead.pk for lead in leads])
        rep_territories = rep_territory_ids(reps)
        moves_left = len(leads)
        while moves_left > 0:
            moves_left -= 1
            donors = [r for r in reps if counts[r.pk] > r.capacity or counts[r.pk] > ceiling]
            donors.sort(key=lambda r: (-(counts[r.pk] - min(r.capacity, ceiling)), r.pk))
            move = None
            for donor in donors:
                over_capacity = counts[donor.pk] > donor.capacity
                targets = sorted((r for r in receivers if r.pk != donor.pk and counts[r.pk] < r.capacity
                                  and (counts[donor.pk] - counts[r.pk] >= 2 or over_capacity)),
                                 key=lambda r: (counts[r.pk], r.pk))
                for target in targets:
                    lead = next((item for item in reversed(owned[donor.pk])
                                 if territory_rules.get(item.pk) is None
                                 or territory_rules[item.pk] in rep_territories.get(target.pk, ())), None)
                    if lead is not None:
                        move = (donor, target, lead, over_capacity)
                        break
                if move:
                    break
            if move is None:
                break
            donor, target, lead, over_capacity = move
            why = (f"{donor} over capacity ({counts[donor.pk]}/{donor.capacity})" if over_capacity
                   else f"{donor} above the team average ({counts[donor.pk]} open, average {total / len(reps):.1f})")
            result.moves.append({"lead": lead.pk, "from": str(donor), "to": str(target), "reason": why,
                                 "from_open": counts[donor.pk], "to_open": counts[target.pk]})
            owned[donor.pk].remove(lead)
            owned[target.pk].append(lead)
            counts[donor.pk] -= 1
            counts[target.pk] += 1
            if not dry_run:
                _rebalance_move(lead, donor, target, why, counts, user, now, team.slack_channel)
        result.after = {str(r): counts[r.pk] for r in reps}
        if dry_run:
            transaction.set_rollback(True)
    return result


def _can_receive_moved_leads(rep: Rep, now: datetime) -> bool:
    """Active and in office (capacity is checked by the caller; hours and daily caps are about new leads)."""
    reason = rep_unavailable_reason(rep, now, 0, 0, 0)
    return reason is None or reason.startswith("outside working hours")


def _rebalance_move(lead: Lead, donor: Rep, target: Rep, why: str, counts: dict[int, int], user,
                    now: datetime, team_channel: str) -> RoutingDecision:
    summary = f"rebalanced from {donor} to {target}: {why}"
    explanation = {"at": now.isoformat(), "rebalance": {"reason": why, "from": donor.pk, "to": target.pk,
                                                        "from_open_after": counts[donor.pk],
                                                        "to_open_after": counts[target.pk]},
                   "before": lead_routing_state(lead)}
    explanation["moved_tasks"] = tasks_move_open(lead, to_user_id=target.user_id, user=user,
                                                  reason=f"automation:routing rebalance: {summary}")
    decision = RoutingDecision.objects.create(
        lead=lead, rep_id=target.pk, owner_id=target.user_id, previous_owner_id=lead.owner_id,
        previous_queue=lead.queue, queue=Queue.NONE, summary=summary[:500], explanation=explanation,
        cause=CAUSE_REBALANCE, user=user,
    )
    lead.owner_id, lead.queue, lead.queue_reason, lead.assigned_at = target.user_id, Queue.NONE, "", now
    lead._history_user = user
    lead._change_reason = f"automation:routing rebalance {summary}"[:1000]
    lead.save(update_fields=["owner", "queue", "queue_reason", "assigned_at", "updated_at"])
    tasks_after_manual_move(decision, lead, recipient=target.slack_user_id or team_channel)
    return decision
