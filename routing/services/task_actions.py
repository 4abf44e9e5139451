"""What a person does with a task, with an explicit actor: complete it with a disposition, snooze it, accept it,
reject it or ask for it to be reassigned. The workspace, the API and (later) Slack's buttons call these same
functions.

Who may act: the task's assignee; the manager of the assignee's team; a superuser. A rep never acts on another
rep's task (``TaskActionRefused``). Every action is one transaction, in the task's history with the actor and
the reason; a disposition moves the lead through ``leads.services.lifecycle`` where it changes the lead's stage.

| disposition     | lead                                                   | task                                  |
|-----------------|--------------------------------------------------------|---------------------------------------|
| contacted       | last_interaction_at                                    | done                                  |
| no_answer       | last_interaction_at                                    | done; a retry a working day later     |
|                 |                                                        | (at most ``LEADFLOW_NO_ANSWER_RETRIES``) |
| meeting_booked  | stage SQL (unless sales owns it already), interaction  | done                                  |
| disqualified    | lifecycle: disqualified, with a reason from the list   | done; the lead's other tasks cancelled |
| converted       | lifecycle: opportunity, with the deal value            | done                                  |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from leads.choices import Stage, Transition
from leads.consent import outreach_allowed, outreach_skipped
from leads.models import Lead
from leads.services.lifecycle import lead_is_closed, lead_touch_apply, lead_transition
from leads.signals import lead_changed
from revops.base.choices import Workflow
from revops.base.roles import may_read_one

from ..choices import Disposition, TaskStatus
from ..models import DisqualifyReason, Task
from ..scoping import tasks_visible_to
from ..signals import task_completed
from ..writes import task_get_or_create
from .sla import rep_for_user, tomorrow_morning_for

SNOOZE_CHOICES = ("1h", "tomorrow", "until")


class TaskActionRefused(PermissionDenied):
    """The actor may not act on this task (another rep's task)."""


@dataclass(frozen=True)
class CompleteResult:
    task: Task
    retry: Task | None = None


def no_answer_retries() -> int:
    return int(getattr(settings, "LEADFLOW_NO_ANSWER_RETRIES", 3))


def snooze_limit() -> int:
    return int(getattr(settings, "LEADFLOW_SNOOZE_LIMIT", 3))


def task_actor_may_act(task: Task, actor) -> bool:
    """The assignee, a manager of the assignee's team, or a RevOps admin (``routing.scoping.tasks_visible_to``)."""
    if actor is None or not actor.is_authenticated:
        return False
    if task.assignee_id == actor.pk:
        return True
    if not may_read_one(actor):  # a Data reader only reads the feed
        return False
    return tasks_visible_to(actor).filter(pk=task.pk).exists()


def _locked(task_id: int, actor) -> Task:
    task = Task.objects.select_for_update().select_related("lead").filter(pk=task_id).first()
    if task is None:
        raise Task.DoesNotExist(f"no task #{task_id}")
    if not task_actor_may_act(task, actor):
        raise TaskActionRefused("this task belongs to another rep")
    return task


def _save(task: Task, actor, reason: str, fields: list[str]) -> None:
    task._history_user = actor
    task._change_reason = reason[:1000]
    task.full_clean(exclude=["lead", "assignee", "decision", "merged_from"])
    task.save(update_fields=fields)


def _open(task: Task) -> None:
    if task.status != TaskStatus.OPEN:
        raise ValidationError({"task": f"the task is {task.get_status_display().lower()} already"})


# The list a fresh install starts with (migration 0006 writes the same names); editable in the admin.
DEFAULT_DISQUALIFY_REASONS = ("No budget", "No need", "Not the decision maker", "Bad contact data",
                              "Competitor or partner", "Student or job seeker", "Duplicate")


def disqualify_reasons() -> list[str]:
    return list(DisqualifyReason.objects.filter(active=True).values_list("name", flat=True))


def disqualify_reasons_defaults_ensure() -> int:
    """Create the default disqualification reasons that are missing; returns how many were created."""
    created = 0
    for order, name in enumerate(DEFAULT_DISQUALIFY_REASONS):
        created += DisqualifyReason.objects.get_or_create(name=name, defaults={"order": order * 10})[1]
    return created


def task_complete(*, task_id: int, actor, disposition: str = Disposition.CONTACTED, note: str = "",
                  reason: str = "", deal_value: Decimal | None = None, now: datetime | None = None) -> CompleteResult:
    """Close a task with a disposition and apply it to the lead (see the table at the top of the module).

    Steps: lock the task and check the actor; validate the disposition's own input (a disqualification's reason
    from the list, a conversion's deal value); mark the task done with the disposition; move the lead (lifecycle
    for disqualified / converted, stage SQL for a meeting, ``last_interaction_at`` for all); for no answer, create
    the next attempt a working day later unless the attempts are spent. A task already done is left as it is.
    """
    if disposition not in Disposition.values:
        raise ValidationError({"disposition": f"choose one of {', '.join(Disposition.values)}"})
    if disposition == Disposition.DISQUALIFIED and reason not in disqualify_reasons():
        raise ValidationError({"reason": "choose a disqualification reason from the list"})
    if deal_value is not None and deal_value < 0:
        raise ValidationError({"deal_value": "must not be negative"})
    now = now or timezone.now()
    with transaction.atomic():
        task = _locked(task_id, actor)
        if task.status == TaskStatus.DONE:
            return CompleteResult(task)
        _open(task)
        task.status, task.completed_at, task.disposition = TaskStatus.DONE, now, disposition
        task.disposition_reason = reason[:200]
        task.outcome_note = note[:500]
        label = Disposition(disposition).label.split(" (")[0]
        _save(task, actor, f"completed: {label}" + (f" ({reason})" if reason else "") + (f": {note}" if note else ""),
              ["status", "completed_at", "disposition", "disposition_reason", "outcome_note"])
        why = f"task #{task.pk}: {label}" + (f" ({reason})" if reason else "")
        if disposition == Disposition.DISQUALIFIED:
            lead_transition(lead_id=task.lead_id, to=Transition.DISQUALIFIED, reason=why, user=actor, at=now,
                            interaction=True)
        elif disposition == Disposition.CONVERTED:
            lead_transition(lead_id=task.lead_id, to=Transition.OPPORTUNITY, reason=why, user=actor, at=now,
                            deal_value=deal_value, interaction=True)
        else:
            _lead_touched(task.lead_id, actor=actor, why=why, now=now,
                          stage=Stage.SQL if disposition == Disposition.MEETING_BOOKED else None)
        retry = _retry_after_no_answer(task, actor, now) if disposition == Disposition.NO_ANSWER else None
        task_completed.send(sender=Task, task_id=task.pk, disposition=disposition)
    return CompleteResult(task, retry)


def _lead_touched(lead_id: int, *, actor, why: str, now: datetime, stage: str | None) -> None:
    lead = Lead.objects.select_for_update().get(pk=lead_id)
    fields = lead_touch_apply(lead, at=now)
    if stage and lead.stage in (Stage.NEW, Stage.ENGAGED, Stage.MQL, Stage.NURTURE, Stage.RE_ENGAGED):
        lead.stage = stage
        fields.append("stage")
    lead._history_user = actor
    lead._change_reason = why[:1000]
    lead.save(update_fields=fields)
    if "stage" in fields:  # a meeting booked: the stage moved outside scoring (webhooks' lead.stage_changed)
        lead_changed.send(sender=Lead, lead_id=lead.pk, fields=["stage"])


def _retry_after_no_answer(task: Task, actor, now: datetime) -> Task | None:
    """The next call attempt, due at the start of the rep's next working day; none past the limit or when the lead
    is closed."""
    lead = Lead.objects.get(pk=task.lead_id)
    if task.attempt >= no_answer_retries() + 1 or lead_is_closed(lead):
        return None
    if not outreach_allowed(lead):  # opted out since the last attempt: no further call
        outreach_skipped(lead_ids=[lead.pk], what="no-answer retry task", workflow=Workflow.TASKS)
        return None
    root = task.dedup_key.split(":retry:")[0]
    retry, _ = task_get_or_create(
        f"{root}:retry:{task.attempt + 1}",
        {"lead_id": task.lead_id, "assignee_id": task.assignee_id, "decision_id": task.decision_id,
         "kind": task.kind, "title": task.title, "attempt": task.attempt + 1,
         "due_at": tomorrow_morning_for(rep=rep_for_user(task.assignee_id), now=now)},
        reason=f"no answer on task #{task.pk}: attempt {task.attempt + 1} a working day later", user=actor,
    )
    return retry


def task_snooze(*, task_id: int, actor, until: datetime | None = None, minutes: int | None = None,
                preset: str = "", now: datetime | None = None) -> Task:
    """Move a task's due time: ``preset`` "1h" or "tomorrow" (the start of the rep's next working day in their time
    zone), or ``minutes``, or ``until`` (in the future). At most ``LEADFLOW_SNOOZE_LIMIT`` times: after that the
    task stays due and waits in the manager's view (its snooze count is shown there)."""
    now = now or timezone.now()
    with transaction.atomic():
        task = _locked(task_id, actor)
        _open(task)
        if task.snooze_count >= snooze_limit():
            raise ValidationError({"snooze": f"snoozed {task.snooze_count} times already: the manager sees it now"})
        if preset == "1h":
            until = now + timedelta(hours=1)
        elif preset == "tomorrow":
            until = tomorrow_morning_for(rep=rep_for_user(task.assignee_id), now=now)
        elif minutes is not None:
            if not 1 <= minutes <= 60 * 24 * 30:
                raise ValidationError({"minutes": "between 1 and 43200"})
            until = now + timedelta(minutes=minutes)
        if until is None:
            raise ValidationError({"until": "give a time, minutes or a preset (1h, tomorrow)"})
        if timezone.is_naive(until):
            raise ValidationError({"until": "give a time zone (ISO 8601 with an offset)"})
        if until <= now:
            raise ValidationError({"until": "must be in the future"})
        task.due_at, task.snooze_count, task.snoozed_at = until, task.snooze_count + 1, now
        task.escalated_at = None
        _save(task, actor, f"snoozed until {until:%Y-%m-%d %H:%M %Z} ({task.snooze_count}/{snooze_limit()})",
              ["due_at", "snooze_count", "snoozed_at", "escalated_at"])
    return task


def task_accept(*, task_id: int, actor, now: datetime | None = None) -> Task:
    """The assignee takes the task on (Slack's "Accept"); accepting twice changes nothing."""
    with transaction.atomic():
        task = _locked(task_id, actor)
        _open(task)
        if task.accepted_at is None:
            task.accepted_at = now or timezone.now()
            _save(task, actor, "accepted", ["accepted_at"])
    return task


def task_reassign_request(*, task_id: int, actor, reason: str, now: datetime | None = None,
                          verb: str = "asked to reassign") -> Task:
    """The assignee asks for the lead to go to someone else, with a reason: the task waits in the manager's queue
    (open, still theirs) until the manager reassigns the lead."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "say why"})
    with transaction.atomic():
        task = _locked(task_id, actor)
        _open(task)
        task.reassign_requested_at, task.reassign_reason = now or timezone.now(), reason[:300]
        _save(task, actor, f"{verb}: {reason}", ["reassign_requested_at", "reassign_reason"])
    return task


def task_reject(*, task_id: int, actor, reason: str, now: datetime | None = None) -> Task:
    """The assignee refuses the task (Slack's "Reject"), with a reason: a reassignment request the manager sees."""
    return task_reassign_request(task_id=task_id, actor=actor, reason=reason, now=now, verb="rejected")
