"""What the demo adds so every dashboard shows something: an A/B threshold experiment running while the leads arrive,
"score is wrong" flags, a trained predictive model (its probabilities feed the calibration chart; weight 0, so scores
do not move), and weeks of history.

The demo's leads all go through the pipeline in a few minutes. ``demo_timeline`` spreads the ones whose story is
over (closed) or that never reached a rep's task list (nurture, review) over the last weeks: each lead's pipeline
rows (history, routing decisions, their tasks) are laid out in order from its arrival, with days between stage
changes and minutes between a score and the routing it caused, before its close. Open leads whose follow-up was
done or fell overdue before today arrived a few hours before that; the others keep today's dates. Demo only: one lead
at a time."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db import transaction

from leads.choices import Outcome
from leads.models import Lead
from routing.models import RoutingDecision, Task
from routing.services import decision_repeats_refresh
from scoring.choices import FeedbackReason
from scoring.models import ScoringExperiment, ScoringModel
from scoring.services import experiment_start, predictive_train, score_feedback_create


def demo_experiment() -> ScoringExperiment:
    """Variant B qualifies leads at an MQL threshold 5 points lower, for half of the leads."""
    model = ScoringModel.objects.get(segment="default", status="active")
    experiment = ScoringExperiment(segment="default", name="MQL threshold 5 points lower",
                                   b_mql_threshold=max(model.mql_threshold - 5, 0), split_percent=50)
    experiment.full_clean()
    experiment._change_reason = "demo"
    experiment.save()
    return experiment_start(experiment_id=experiment.pk)


def demo_feedback(rng: random.Random, users: dict) -> int:
    """Managers flag scores that look wrong: some lost leads of the top bands (too high), some won leads of the
    bottom bands (too low), a few with wrong data."""
    manager = users.get("manager")
    plan = [(Lead.objects.live().filter(outcome=Outcome.LOST, band__in=["A", "B"]), FeedbackReason.TOO_HIGH, 0.5),
            (Lead.objects.live().filter(outcome=Outcome.WON, band__in=["C", "D"]), FeedbackReason.TOO_LOW, 0.6),
            (Lead.objects.live().filter(outcome=Outcome.OPEN, band="A"), FeedbackReason.WRONG_DATA, 0.03)]
    flags = 0
    for leads, reason, share in plan:
        for lead_id in leads.order_by("pk").values_list("pk", flat=True):
            if rng.random() < share:
                score_feedback_create(lead_id=lead_id, user=manager, reason=reason, comment="demo")
                flags += 1
    return flags


def demo_predictive() -> str:
    """Train the win-probability model on the demo's closed leads and activate it (rescoring writes each lead's
    probability; the model's weight is 0, so no score moves)."""
    row = predictive_train(activate=True)
    return row.status


def _place(rng: random.Random, arrival: datetime, end: datetime, stages: list[str]) -> list[datetime]:
    """Dates for a lead's pipeline history rows (their stages in order): the first at arrival, a few minutes
    between rows of the same stage, days between stage changes, all within the first 70 % of [arrival, end]."""
    gaps = [0.0]
    for before, after in zip(stages, stages[1:], strict=False):
        gaps.append(rng.uniform(1, 8) * 86400 if after != before else rng.uniform(60, 600))
    span = max((end - arrival).total_seconds() * 0.7, 60.0)
    total = sum(gaps) or 1.0
    scale = min(1.0, span / total)
    dates, at = [], arrival
    for gap in gaps:
        at += timedelta(seconds=gap * scale)
        dates.append(at)
    return dates


def _retime_task(rng: random.Random, task: Task, new: datetime, touched: datetime | None) -> datetime | None:
    """Move a task to start at ``new``; returns the lead's earliest completion so far (its first touch)."""
    sla = task.due_at - task.created_at
    # A task the demo aged into overdue keeps its due date; the others keep their SLA from the new start.
    fields = {"created_at": new, "due_at": task.due_at if sla < timedelta(0) else new + sla}
    if task.completed_at is not None:  # the follow-up was the first contact, mostly within its SLA
        fields["completed_at"] = min(max(task.completed_at, new), new + abs(sla) * rng.uniform(0.2, 1.3))
        touched = min(touched or fields["completed_at"], fields["completed_at"])
    Task.objects.filter(pk=task.pk).update(**fields)
    return touched


def _retime(rng: random.Random, lead: dict, arrival: datetime, end: datetime, pipeline_end: datetime) -> None:
    history = Lead.history.model.objects.filter(id=lead["pk"])
    rows = list(history.filter(history_date__lt=pipeline_end).order_by("history_date", "history_id")
                .values_list("history_id", "history_date", "stage"))
    if not rows:
        return
    dates = _place(rng, arrival, end, [stage for _, _, stage in rows])
    mapping = [(old, new) for (_, old, _), new in zip(rows, dates, strict=True)]
    for (history_id, _, _), new in zip(rows, dates, strict=True):
        history.filter(history_id=history_id).update(history_date=new)
    later = history.filter(history_date__gte=pipeline_end).order_by("history_date", "history_id")
    if lead["closed_at"] is not None:
        for index, history_id in enumerate(later.values_list("history_id", flat=True)):
            history.filter(history_id=history_id).update(history_date=lead["closed_at"] + timedelta(seconds=index))

    def moved(old: datetime) -> datetime:
        """The new date of the history row at or before ``old``, plus a minute: what it caused came right after."""
        before = [new for at, new in mapping if at <= old]
        return (before[-1] if before else arrival) + timedelta(minutes=rng.uniform(0.5, 3))

    assigned = touched = None
    for decision in RoutingDecision.objects.filter(lead_id=lead["pk"]).order_by("created_at", "id"):
        new = moved(decision.created_at)
        RoutingDecision.objects.filter(pk=decision.pk).update(created_at=new)
        for task in Task.objects.filter(decision=decision):
            touched = _retime_task(rng, task, new, touched)
        if decision.owner_id is not None and assigned is None:
            assigned = new
    for task in Task.objects.filter(lead_id=lead["pk"], decision__isnull=True):  # hot-lead and re-engage tasks
        touched = _retime_task(rng, task, moved(task.created_at), touched)
    if touched is not None or (lead["first_touched_at"] is not None and assigned is not None
                               and lead["first_touched_at"] < assigned):
        Lead.objects.filter(pk=lead["pk"]).update(
            first_touched_at=touched or assigned + timedelta(hours=rng.uniform(0.2, 20)))
    last_owner = RoutingDecision.objects.filter(lead_id=lead["pk"], owner__isnull=False).order_by("-created_at").first()
    Lead.objects.filter(pk=lead["pk"]).update(
        created_at=arrival, assigned_at=last_owner.created_at if last_owner and lead["owner_id"] else None)


def demo_timeline(rng: random.Random, now: datetime, pipeline_end: datetime) -> int:
    """Spread the closed leads and the leads without any task over the last ten weeks, and move open leads whose
    tasks were done or fell overdue before today back before that (see the module docstring); returns how many leads
    were re-dated."""
    with_tasks = set(Task.objects.values_list("lead_id", flat=True).distinct())
    # Open leads whose tasks were worked or aged "in the past" (done hours ago, overdue for days): they arrived
    # before that, so their whole story moves back before the earliest such date.
    earliest = {}
    for lead_id, created, completed, due in Task.objects.filter(lead__outcome=Outcome.OPEN).values_list(
            "lead_id", "created_at", "completed_at", "due_at"):
        for at in (completed, due if due < created else None):
            if at is not None and at < created:
                earliest[lead_id] = min(earliest.get(lead_id, at), at)
    leads = Lead.objects.live().order_by("pk").values("pk", "created_at", "closed_at", "first_touched_at", "owner_id")
    moved = 0
    with transaction.atomic():
        for lead in leads:
            if lead["closed_at"] is not None:
                arrival, end = lead["created_at"], lead["closed_at"]
            elif lead["pk"] not in with_tasks:
                arrival, end = now - timedelta(days=rng.uniform(1, 70)), now
            elif lead["pk"] in earliest:
                end = earliest[lead["pk"]]
                arrival = end - timedelta(hours=rng.uniform(1, 6))
            else:
                continue
            _retime(rng, lead, arrival, end, pipeline_end)
            moved += 1
        decision_repeats_refresh()  # the decisions' dates moved: their earlier decisions of the same kind too
    return moved
