"""Tasks: the follow-up task of an assignment (one, or a batch's with one digest per rep), the open tasks of a closed
lead cancelled, and the open tasks that follow a lead: cancelled or moved
when its owner changes, moved with a merge and back on its undo.
The Slack texts are in messages.py, the due times in sla.py.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from leads.choices import CLOSED_FOR_WORK_STAGES, Outcome
from leads.consent import outreach_allowed, outreach_skipped
from leads.models import Lead
from leads.services.lifecycle import lead_is_closed
from revops.base.choices import Workflow
from revops.base.db.instances import instance_new
from revops.base.db.sql import bulk_insert, history_copy_all, rows_update_with_history
from revops.base.notifications import notifications_send_schedule

from ..choices import TaskKind, TaskStatus
from ..models import Rep, RoutingDecision, Task, TaskTemplate
from ..signals import follow_up_needed, lead_routed
from ..writes import task_get_or_create
from .messages import (
    task_moved_notify,
    task_notify,
    tasks_digest_notify,
    tasks_notify,
)
from .sla import due_at_for, sla_minutes_for
from .task_templates import task_template_for, template_fill, template_values


def _follow_up_title(name: str, company: str) -> str:
    return f"Follow up {name}" + (f" ({company})" if company else "")


def _follow_up_reason(minutes: int, band: str) -> str:
    return f"automation:tasks follow-up due in {minutes} min (band {band or '-'})"


# --- Follow-up tasks of assignments -------------------------------------------------------------------------------


def task_create_for_decision(*, decision_id: int) -> Task | None:
    """Create the follow-up task of an assignment (once per decision) and queue the rep's Slack message.

    Nothing is created when the decision was undone or the lead has since moved to someone else.
    """
    with transaction.atomic():
        decision = RoutingDecision.objects.select_related("lead", "rep__team", "owner").get(pk=decision_id)
        lead = Lead.objects.select_for_update().get(pk=decision.lead_id)
        if decision.undone_at or decision.owner_id is None or lead.owner_id != decision.owner_id:
            return None
        if lead_is_closed(lead):  # closed since it was routed: nothing to follow up
            return None
        if not outreach_allowed(lead):  # owned, but no one may contact it: said on the lead, not silently dropped
            outreach_skipped(lead_ids=[lead.pk], what="follow-up task", workflow=Workflow.TASKS)
            return None
        minutes, _ = sla_minutes_for(lead.band, lead.stage, lead.source)
        name = lead.full_name or lead.email or lead.phone
        template = task_template_for(source=lead.source, band=lead.band, stage=lead.stage)
        title = (template_fill(template.title, template_values(lead, decision.owner.first_name))[:255] if template
                 else _follow_up_title(name, lead.company))
        task, created = task_get_or_create(
            f"follow_up:decision:{decision.pk}",
            {"lead": lead, "assignee": decision.owner, "decision": decision, "kind": TaskKind.FOLLOW_UP,
             "title": title, "due_at": due_at_for(minutes=minutes, rep=decision.rep)},
            reason=_follow_up_reason(minutes, lead.band),
        )
        if created:
            task_notify(task, lead, decision.rep)
    return task


def tasks_create_for_decisions(*, decision_ids: list[int], digest: bool = True) -> list[Task]:
    """The follow-up tasks of a batch of assignments (``leads_route_many``), and one Slack digest per rep.

    The same task ``task_create_for_decision`` creates for one decision (same key, title, SLA and history reason),
    created in one insert for the batch; a decision undone since, or whose lead has moved on, gets none; a task
    that exists already is not created again. Each rep gets one message listing their new leads instead of one
    message per lead: an import of 300 leads is one notification, not 300. ``digest=False`` (a drained
    micro-batch of website leads): each task gets its own message, as ``task_create_for_decision`` sends it.
    """
    with transaction.atomic():
        decisions = list(RoutingDecision.objects.filter(pk__in=decision_ids, undone_at__isnull=True,
                                                        owner__isnull=False).order_by("pk")
                         .values_list("pk", "lead_id", "owner_id", "rep_id"))
        # Locked in ascending id, as every batch that locks several leads does: two workers never wait on each other.
        leads = {row["id"]: row for row in Lead.objects.select_for_update().filter(pk__in=[d[1] for d in decisions])
                 .order_by("pk").values("id", "owner_id", "band", "stage", "first_name", "last_name", "email", "phone",
                                        "company", "score", "source", "outcome", "merged_into_id", "title", "industry",
                                        "country", "consent")}
        reps = Rep.objects.select_related("team", "user").in_bulk({d[3] for d in decisions if d[3]})
        keys = {d[0]: f"follow_up:decision:{d[0]}" for d in decisions}
        existing = set(Task.objects.filter(dedup_key__in=keys.values()).values_list("dedup_key", flat=True))
        sla: dict[tuple[str, str, str], int] = {}
        templates: dict[tuple[str, str, str], TaskTemplate | None] = {}
        now = timezone.now()
        tasks, task_reps, no_outreach = [], {}, []
        for decision_id, lead_id, owner_id, rep_id in decisions:
            lead = leads.get(lead_id)
            if lead is None or lead["owner_id"] != owner_id or keys[decision_id] in existing:
                continue
            if lead["outcome"] != Outcome.OPEN or lead["merged_into_id"] or lead["stage"] in CLOSED_FOR_WORK_STAGES:
                continue
            if not outreach_allowed(lead):
                no_outreach.append(lead_id)
                continue
            band, stage, source = lead["band"], lead["stage"], lead["source"]
            if (band, stage, source) not in sla:
                sla[(band, stage, source)] = sla_minutes_for(band, stage, source)[0]
            minutes = sla[(band, stage, source)]
            if (band, stage, source) not in templates:
                templates[(band, stage, source)] = task_template_for(source=source, band=band, stage=stage)
            template = templates[(band, stage, source)]
            name = " ".join(filter(None, [lead["first_name"], lead["last_name"]])) or lead["email"] or lead["phone"]
            rep = reps.get(rep_id)
            title = (template_fill(template.title, template_values(lead, rep.user.first_name if rep else ""))[:255]
                     if template else _follow_up_title(name, lead["company"]))
            task = instance_new(Task, dict(lead_id=lead_id, assignee_id=owner_id, decision_id=decision_id,
                                           kind=TaskKind.FOLLOW_UP, title=title,
                                           due_at=due_at_for(minutes=minutes, rep=reps.get(rep_id), now=now),
                                           dedup_key=keys[decision_id]))
            task._change_reason = _follow_up_reason(minutes, band)
            tasks.append(task)
            task_reps[task.dedup_key] = reps.get(rep_id)
        outreach_skipped(lead_ids=no_outreach, what="follow-up task", workflow=Workflow.TASKS)
        if not tasks:
            return []
        created = bulk_insert(tasks)
        by_reason: dict[str, list[int]] = {}
        for task in created:
            by_reason.setdefault(task._change_reason, []).append(task.pk)
        for reason, task_ids in by_reason.items():
            history_copy_all(Task, task_ids, reason=reason, now=now, history_type="+")
        if not digest:
            lead_rows = Lead.objects.in_bulk([task.lead_id for task in created])
            tasks_notify([(task, lead_rows[task.lead_id], task_reps[task.dedup_key]) for task in created])
            return created
        by_rep: dict[int, list[Task]] = {}
        for task in created:
            rep = task_reps[task.dedup_key]
            by_rep.setdefault(rep.pk if rep else 0, []).append(task)
        digests = [tasks_digest_notify(rep_tasks, task_reps[rep_tasks[0].dedup_key], leads)
                   for rep_tasks in by_rep.values()]
        notifications_send_schedule([pk for pk in digests if pk is not None])
    return created


# --- Open tasks that follow a lead --------------------------------------------------------------------------------


def lead_tasks_close(*, lead_id: int, reason: str, user_id: int | None = None) -> list[int]:
    """A lead was closed (``leads.services.lifecycle``): cancel its open tasks with the reason, in their history.

    Called in the transaction of the close, so a closed lead never keeps an open task."""
    user = User.objects.filter(pk=user_id).first() if user_id else None
    cancelled = []
    for task in Task.objects.select_for_update().filter(lead_id=lead_id, status=TaskStatus.OPEN):
        task.status = TaskStatus.CANCELLED
        task.completed_at = timezone.now()
        task.outcome_note = f"lead closed: {reason}"[:500]
        task._history_user = user
        task._change_reason = (f"lead closed: {reason}" if user else f"automation:lifecycle lead closed: {reason}")[
            :1000]
        task.save(update_fields=["status", "completed_at", "outcome_note"])
        cancelled.append(task.pk)
    return cancelled


def tasks_cancel_open_many(moves: list[tuple[int, int, str]]) -> dict[int, list[int]]:
    """:func:`tasks_cancel_open` for a batch's leads (automation, no user): ``moves`` are (lead id, previous owner's
    user id, reason); the tasks are locked in one statement (ascending id) and written with their history rows in
    one more. Returns the cancelled task ids by lead."""
    owners = {lead_id: (assignee_id, reason) for lead_id, assignee_id, reason in moves}
    tasks = [task for task in Task.objects.select_for_update().filter(lead_id__in=owners, status=TaskStatus.OPEN)
             .order_by("pk") if task.assignee_id == owners[task.lead_id][0]]
    cancelled: dict[int, list[int]] = {}
    for task in sorted(tasks, key=lambda task: (task.due_at, task.pk)):  # listed as one lead's are (Task's order)
        task.status = TaskStatus.CANCELLED
        task.outcome_note = owners[task.lead_id][1][:500]
        cancelled.setdefault(task.lead_id, []).append(task.pk)
    rows_update_with_history(tasks, ["status", "outcome_note"],
                             reasons=[f"automation:routing {owners[task.lead_id][1]}"[:1000] for task in tasks])
    return cancelled


def tasks_cancel_open(lead: Lead, assignee_id: int, *, reason: str, user=None) -> list[int]:
    """Cancel the open tasks of a lead assigned to one user (their owner changed); returns the task ids."""
    cancelled = []
    for task in Task.objects.select_for_update().filter(lead=lead, assignee_id=assignee_id, status=TaskStatus.OPEN):
        task.status = TaskStatus.CANCELLED
        task.outcome_note = reason[:500]
        task._history_user = user
        task._change_reason = (reason if user else f"automation:routing {reason}")[:1000]
        task.save(update_fields=["status", "outcome_note"])
        cancelled.append(task.pk)
    return cancelled


def tasks_move_open(lead: Lead, *, to_user_id: int, reason: str, user=None) -> list[dict[str, int]]:
    """Give a lead's open tasks to its new owner; returns [{"task": id, "from": old assignee id}] for undo."""
    moved = []
    for task in Task.objects.select_for_update().filter(lead=lead, status=TaskStatus.OPEN).exclude(
        assignee_id=to_user_id
    ):
        moved.append({"task": task.pk, "from": task.assignee_id})
        task.assignee_id = to_user_id
        task.reassign_requested_at, task.reassign_reason = None, ""  # a request is answered by the move
        task._history_user = user
        task._change_reason = reason[:1000]
        task.save(update_fields=["assignee", "reassign_requested_at", "reassign_reason"])
    return moved


def tasks_after_manual_move(decision: RoutingDecision, lead: Lead, *, recipient: str) -> None:
    """The new owner hears of a lead moved to them: its moved open tasks, or (after commit) a new follow-up task.
    A reassignment or a rebalance is a routing too (webhooks' lead.routed)."""
    lead_routed.send(sender=RoutingDecision, decision_id=decision.pk)
    moved = [m["task"] for m in decision.explanation.get("moved_tasks") or []]
    if not moved:
        decision_id = decision.pk
        follow_up_needed.send(sender=RoutingDecision, decision_id=decision_id)
        return
    for task in Task.objects.filter(pk__in=moved):
        task_moved_notify(task, lead, decision, recipient=recipient)


def lead_tasks_follow_merge(*, survivor_id: int, merged_id: int) -> int:
    """A lead was merged: its tasks move to the survivor, remembering where they came from (for undo)."""
    with transaction.atomic():
        tasks = list(Task.objects.select_for_update().filter(lead_id=merged_id))
        for task in tasks:
            task.lead_id = survivor_id
            task.merged_from_id = merged_id
            task._change_reason = f"automation:dedup lead #{merged_id} merged into #{survivor_id}"
            task.save(update_fields=["lead", "merged_from"])
        survivor = Lead.objects.get(pk=survivor_id)
        if lead_is_closed(survivor):  # the tasks of a lead merged into a closed one have nothing left to do
            lead_tasks_close(lead_id=survivor_id, reason=f"merged into closed lead #{survivor_id}")
    return len(tasks)


def lead_tasks_follow_unmerge(*, survivor_id: int, merged_id: int) -> int:
    """A merge was undone: the tasks that came with the merged lead go back to it."""
    with transaction.atomic():
        tasks = list(Task.objects.select_for_update().filter(lead_id=survivor_id, merged_from_id=merged_id))
        for task in tasks:
            task.lead_id = merged_id
            task.merged_from_id = None
            task._change_reason = f"automation:dedup merge undone, back to lead #{merged_id}"
            task.save(update_fields=["lead", "merged_from"])
    return len(tasks)
