"""The demo's history after its leads went through the pipeline: outcomes from a plausible model, and the reps'
work on their tasks, all through the services the workspace and the API use (``task_complete``, ``task_snooze``,
``task_reassign_request``, ``lead_transition``), so the data is consistent by construction: a closed lead has no
open task, a won lead is a customer, every change is in the history.

The outcome model: the chance to win grows with fit and with engagement (a logistic curve over both), so the score
bands separate; the deal size grows with the company's size. Tasks are left in every state: due, overdue, snoozed,
asked to reassign, and done with each disposition. A few leads went quiet weeks ago and came back today: re-engaged
(``demo_reengaged``), through the same event path as any lead.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q

from leads.choices import Outcome, Stage, Transition
from leads.models import Lead, LeadEvent
from leads.services import events_record, lead_is_closed, lead_transition
from routing.choices import Disposition, TaskStatus
from routing.models import Task
from routing.services import disqualify_reasons, task_complete, task_reassign_request, task_snooze

CLOSE_SHARE_OWNED = 0.35  # of the leads a rep owns, closed before today
CLOSE_SHARE_UNOWNED = 0.08  # of the leads nobody owns (nurture, review): mostly lost


def win_probability(fit: int, engagement: int) -> float:
    """A plausible funnel: a good fit and real engagement both raise the chance to convert."""
    z = (0.9 * fit + 1.1 * engagement - 55) / 9
    return 0.04 + 0.72 / (1 + math.exp(-z))


def deal_value_for(rng: random.Random, employees: int | None) -> Decimal:
    """Bigger companies buy more seats: about 40 per employee (log-scaled above 1,000), at least 3,000."""
    size = employees or rng.choice([20, 80, 300])
    seats = size if size <= 1000 else 1000 + 400 * math.log(size / 1000 + 1)
    return Decimal(round(max(3000, seats * 40 * rng.uniform(0.6, 1.5)), -2))


def demo_outcomes(rng: random.Random, now: datetime) -> dict[str, int]:
    """Close a share of the leads (won or lost by ``win_probability``) as their rep would: the open task completed
    with a disposition, then the lead closed through the lifecycle, at a date over the last 80 days."""
    counts = {"won": 0, "lost": 0}
    leads = Lead.objects.live().filter(outcome=Outcome.OPEN).exclude(score__isnull=True).order_by("pk")
    for lead in leads.iterator():
        share = CLOSE_SHARE_OWNED if lead.owner_id else CLOSE_SHARE_UNOWNED
        if rng.random() >= share:
            continue
        won = rng.random() < win_probability(lead.fit_score or 0, lead.engagement_score or 0)
        at = now - timedelta(days=rng.uniform(1, 80))
        # The demo's leads are all inserted today; a lead closed weeks ago arrived before that (days to close).
        arrived = at - timedelta(days=rng.uniform(3, 45))
        if lead.created_at > arrived:
            Lead.objects.filter(pk=lead.pk).update(created_at=arrived)
        value = deal_value_for(rng, lead.employees) if won else None
        task = Task.objects.filter(lead=lead, status=TaskStatus.OPEN).order_by("pk").first()
        if task is not None:
            disposition = Disposition.CONVERTED if won else Disposition.CONTACTED
            task_complete(task_id=task.pk, actor=task.assignee, disposition=disposition, deal_value=value,
                          note="demo", now=at)
        lead_transition(lead_id=lead.pk, to=Transition.WON if won else Transition.LOST, user=lead.owner,
                        reason="demo: signed" if won else "demo: chose another vendor", deal_value=value, at=at,
                        interaction=True)
        counts["won" if won else "lost"] += 1
    return counts


def demo_task_states(rng: random.Random, now: datetime) -> dict[str, int]:
    """Work the open tasks of open leads so the queue shows every state; the remaining ones stay due, some aged
    into overdue (leads that arrived days ago)."""
    counts: dict[str, int] = {}
    reasons = disqualify_reasons()
    plan = [("contacted", 0.12), ("no_answer", 0.08), ("meeting_booked", 0.06),
            ("disqualified", 0.04 if reasons else 0), ("converted", 0.03), ("snoozed", 0.08),
            ("reassign", 0.03), ("overdue", 0.2)]
    task_ids = list(Task.objects.filter(status=TaskStatus.OPEN).order_by("pk").values_list("pk", flat=True))
    for task_id in task_ids:
        # Read each task afresh: working one task may have closed the lead and cancelled its other tasks.
        task = Task.objects.select_related("lead", "assignee").get(pk=task_id)
        if task.status != TaskStatus.OPEN or lead_is_closed(task.lead):
            continue
        roll, state = rng.random(), "due"
        for name, share in plan:
            if roll < share:
                state = name
                break
            roll -= share
        actor = task.assignee
        if state in Disposition.values:
            task_complete(task_id=task.pk, actor=actor, disposition=state, note="demo",
                          reason=rng.choice(reasons) if state == Disposition.DISQUALIFIED else "",
                          deal_value=deal_value_for(rng, task.lead.employees) if state == Disposition.CONVERTED
                          else None, now=now - timedelta(hours=rng.uniform(1, 48)))
        elif state == "snoozed":
            task_snooze(task_id=task.pk, actor=actor, preset=rng.choice(["1h", "tomorrow"]), now=now)
        elif state == "reassign":
            task_reassign_request(task_id=task.pk, actor=actor, reason=rng.choice(
                ["Speaks only German", "Existing customer of a colleague", "Not my territory"]))
        elif state == "overdue":
            days = rng.uniform(0.2, 5)
            task.due_at = now - timedelta(days=days)
            task._change_reason = f"demo: the lead arrived {days:.1f} days ago"
            task.save(update_fields=["due_at"])
        counts[state] = counts.get(state, 0) + 1
    return counts


def demo_reengaged(rng: random.Random, now: datetime, *, owned: int = 4, unowned: int = 2) -> int:
    """Some open leads went quiet long ago and click today: their history (arrival, assignment, events) is moved
    back 40–70 days, then a new event goes through ``events_record`` like any other, so the pipeline re-engages them
    (stage re-engaged, the rep's task and message, or routing for a lead nobody owns). Returns how many re-engaged."""
    open_leads = (Lead.objects.live().filter(outcome=Outcome.OPEN, stage__in=[Stage.NEW, Stage.ENGAGED, Stage.MQL])
                  .exclude(tasks__completed_at__isnull=False).order_by("pk"))
    picked = (list(open_leads.filter(owner__isnull=False).values_list("pk", flat=True)[:owned])
              + list(open_leads.filter(owner__isnull=True, queue="nurture").values_list("pk", flat=True)[:unowned]))
    for lead_id in picked:
        back = timedelta(days=rng.uniform(40, 70))
        lead = Lead.objects.get(pk=lead_id)
        Lead.objects.filter(pk=lead_id).update(
            created_at=lead.created_at - back, assigned_at=lead.assigned_at and lead.assigned_at - back,
            last_interaction_at=lead.last_interaction_at and lead.last_interaction_at - back)
        for event in LeadEvent.objects.filter(lead_id=lead_id):
            LeadEvent.objects.filter(pk=event.pk).update(occurred_at=event.occurred_at - back)
        events_record(lead_id=lead_id, items=[{
            "type": "page_view", "occurred_at": now - timedelta(minutes=rng.uniform(5, 90)), "source": "demo",
            "properties": {"url": "https://leadflow.example/pricing"}}])
    return Lead.objects.filter(pk__in=picked, stage=Stage.RE_ENGAGED).count()


def demo_open_tasks_on_closed_leads() -> int:
    """How many open tasks belong to closed leads (zero by construction; the demo's test checks it)."""
    closed = Q(lead__outcome__in=[Outcome.WON, Outcome.LOST]) | Q(lead__merged_into__isnull=False) | Q(
        lead__stage__in=["customer", "disqualified"])
    return Task.objects.filter(closed, status=TaskStatus.OPEN).count()
