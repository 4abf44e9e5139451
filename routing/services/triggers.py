"""Trigger tasks: what the owner is asked to do when scoring fires a trigger on their lead (hot, high intent, cold),
one lead or a drain's triggers set-based.

A trigger's task goes to the owner the lead has after its hand-off. A lead an SDR owns that scoring has just made SQL
fires its hot trigger and its hand-off (routing/jobs.py ``lead_after_scoring_schedule``) in the same commit, as two
steps that may run in either order. Before, the step that ran first decided: the SDR could get the hot-lead task and
its message a moment before the hand-off moved the lead and cancelled the task. Now the trigger's step makes a due
hand-off first (routing on; the hand-off decides as it always does: a seconded SDR in the SQL pool keeps the lead),
and the task goes to the owner after it; the hand-off's own step then finds nothing to do. Either order gives the
same owners, tasks and messages: the new owner gets the hand-off's follow-up task and the trigger's task.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from leads.consent import outreach_allowed, outreach_skipped
from leads.models import Lead
from leads.services.lifecycle import lead_is_closed
from revops.base.choices import Workflow
from revops.base.db.instances import instance_new
from revops.base.db.sql import bulk_insert, history_copy
from revops.base.switches import workflow_enabled

from ..choices import TaskKind
from ..models import Task
from ..selectors import leads_sql_owned_by_sdr_ids
from ..writes import task_get_or_create
from .handoff import lead_stage_handoff, leads_stage_handoff_many
from .messages import trigger_task_notify, trigger_tasks_notify

# What the owner is asked to do when scoring fires a trigger on one of their leads: (task kind, due in, text). The
# text's fields come from the trigger's detail (scoring/services/triggers.py): a hot trigger's net points gained and
# its window, a high-intent trigger's intent rule.
TRIGGER_TASKS = {
    "hot": (TaskKind.HOT_LEAD, timedelta(minutes=15), "Hot lead: {points} in {window}. Call now"),
    "high_intent": (TaskKind.HOT_LEAD, timedelta(minutes=15), "High intent ({intent}). Call now"),
    "cold": (TaskKind.RE_ENGAGE, timedelta(days=3), "Gone cold: re-engage"),
}


def _trigger_title(text: str, detail: dict | None, lead: Lead) -> str:
    """The task's title from its trigger's detail, with the lead's name: "Hot lead: +45 points in 24 h. Call now:
    Sam Probe"; a detail without a figure reads "many points", "a short time", "repeated visits"."""
    detail = detail or {}
    gained, hours = detail.get("gained"), detail.get("window_hours")
    points = f"+{gained} points" if isinstance(gained, int) else "many points"
    window = f"{hours} h" if isinstance(hours, int) and hours > 0 else "a short time"
    intent = str(detail.get("label") or "repeated visits").lower()
    return text.format(points=points, window=window, intent=intent) + f": {lead.full_name or lead.email}"


def _handoffs_due(lead_ids: list[int]) -> list[int]:
    """The leads whose hand-off is due now (``leads_sql_owned_by_sdr_ids``), routing on (switched off, the hand-off
    waits for routing's catch-up and the owner of the moment gets the task)."""
    if not lead_ids or not workflow_enabled(Workflow.ROUTING):
        return []
    return leads_sql_owned_by_sdr_ids(among=lead_ids)


def lead_trigger_task(*, lead_id: int, kind: str, trigger_id: int, detail: dict | None = None) -> Task | None:
    """A hot / high-intent / cold trigger on an owned lead: one task for the owner (per trigger) and a message.

    Nothing for a lead with no owner (routing places it), or one that may not be contacted (opted out, suppressed:
    outreach checks consent). A due hand-off is made first (module docstring).
    """
    if kind not in TRIGGER_TASKS:
        return None
    task_kind, due_in, text = TRIGGER_TASKS[kind]
    with transaction.atomic():
        if _handoffs_due([lead_id]):
            lead_stage_handoff(lead_id=lead_id)
        lead = Lead.objects.select_for_update().filter(pk=lead_id).first()
        if lead is None or lead.owner_id is None or lead.merged_into_id or lead_is_closed(lead):
            return None
        if not outreach_allowed(lead):
            outreach_skipped(lead_ids=[lead.pk], what=f"{kind} trigger task", workflow=Workflow.TASKS)
            return None
        title = _trigger_title(text, detail, lead)
        task, created = task_get_or_create(
            f"trigger:{trigger_id}",
            {"lead": lead, "assignee_id": lead.owner_id, "kind": task_kind, "title": title[:255],
             "due_at": timezone.now() + due_in},
            reason=f"automation:tasks {kind} trigger #{trigger_id}",
        )
        if created:
            trigger_task_notify(task, lead, title=title)
    return task


def leads_trigger_tasks(*, triggers: list[tuple[int, str, int, dict | None]]) -> list[Task]:
    """:func:`lead_trigger_task` for a drain's triggers, each (lead id, kind, trigger id, detail), in one
    transaction: the due hand-offs made first (``leads_stage_handoff_many``), the leads locked in one statement
    (ascending id), the same checks, the new tasks in one insert with their history rows, and each task's own
    message (its owner's channels) queued together. A trigger whose task exists already gets none again."""
    triggers = [trigger for trigger in triggers if trigger[1] in TRIGGER_TASKS]
    if not triggers:
        return []
    trigger_leads = sorted({trigger[0] for trigger in triggers})
    with transaction.atomic():
        due = _handoffs_due(trigger_leads)
        if due:
            # All the triggers' leads locked first, in ascending id, as every batch locks them; then the hand-offs.
            list(Lead.objects.select_for_update().filter(pk__in=trigger_leads).order_by("pk").values_list("pk"))
            leads_stage_handoff_many(lead_ids=due)
        leads = {lead.pk: lead for lead in Lead.objects.select_for_update().filter(pk__in=trigger_leads)
                 .order_by("pk")}
        keys = {f"trigger:{trigger_id}" for _, _, trigger_id, _ in triggers}
        seen = set(Task.objects.filter(dedup_key__in=keys).values_list("dedup_key", flat=True))
        now = timezone.now()
        tasks, titles, no_outreach = [], {}, {}
        for lead_id, kind, trigger_id, detail in triggers:
            lead, key = leads.get(lead_id), f"trigger:{trigger_id}"
            if lead is None or lead.owner_id is None or lead.merged_into_id or lead_is_closed(lead) or key in seen:
                continue
            if not outreach_allowed(lead):
                no_outreach.setdefault(kind, []).append(lead_id)
                continue
            seen.add(key)
            task_kind, due_in, text = TRIGGER_TASKS[kind]
            title = _trigger_title(text, detail, lead)
            task = instance_new(Task, dict(lead_id=lead_id, assignee_id=lead.owner_id, kind=task_kind,
                                           title=title[:255], due_at=now + due_in, dedup_key=key))
            task._change_reason = f"automation:tasks {kind} trigger #{trigger_id}"
            tasks.append(task)
            titles[key] = title
        for kind, lead_ids in no_outreach.items():
            outreach_skipped(lead_ids=lead_ids, what=f"{kind} trigger task", workflow=Workflow.TASKS)
        if not tasks:
            return []
        created = bulk_insert(tasks)
        history_copy(Task, [(task.pk, task._change_reason) for task in created], now=now, history_type="+")
        trigger_tasks_notify([(task, leads[task.lead_id], titles[task.dedup_key]) for task in created])
    return created
