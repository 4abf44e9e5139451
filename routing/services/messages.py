"""Messages: every Slack text the routing layer sends, and the outbox row it is queued in.

- ``task_notify``: a new follow-up task ("New lead for you: …");
- ``tasks_digest_notify``: a rep's new leads of a bulk import in one message;
- ``task_moved_notify``: an open task that came with a lead reassigned or rebalanced to its new owner;
- ``trigger_task_notify``: a hot / high-intent / cold trigger's task;
- ``task_escalation_notify``: an overdue task, to the team's manager or channel.
Messages about a task go to the rep's (or the manager's) chosen channels: ``delivery.card_deliver``.
Each message has a dedup key, so a job run twice queues it once. Text that came from outside (names, companies,
titles, task titles, reasons) passes ``revops.base.escaping.slack_escape`` (``esc``) on its way in.
"""

from __future__ import annotations

import dataclasses
import zoneinfo
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from leads.consent import outreach_allowed
from leads.models import Lead
from revops.base.channels.slack import TaskCard, list_blocks
from revops.base.choices import Channel
from revops.base.escaping import slack_escape as esc
from revops.base.notifications import notification_queue, notifications_queue_many

from ..models import Rep, RoutingDecision, Task
from ..priority import task_priority
from .delivery import card_deliver, rep_destinations, task_deliver, task_messages
from .slack_cards import routing_rule_labels, task_card

# A digest lists this many leads; the others are counted.
DIGEST_LINES = 10


def _local(when: datetime, rep: Rep | None, fmt: str = "%a %H:%M %Z") -> str:
    """A time as the rep reads it: in their own time zone."""
    zone = zoneinfo.ZoneInfo(rep.time_zone) if rep and rep.time_zone else timezone.get_current_timezone()
    return when.astimezone(zone).strftime(fmt)


def _lead_link(lead_id: int) -> str:
    return f"{settings.LEADFLOW_BASE_URL}/workspace/leads/{lead_id}/"


def task_notify(task: Task, lead: Lead, rep: Rep | None, *, send: bool = True) -> int | None:
    """The Slack message of a new follow-up task: who the lead is, the score and why, and when to follow up.
    Returns the new outbox row's id (None when it existed already, or the lead may not be contacted)."""
    if not outreach_allowed(lead):
        return None
    return task_deliver(task, lead, rep, text=_task_text(task, lead, rep), send=send)


def tasks_notify(tasks: list[tuple[Task, Lead, Rep | None]]) -> None:
    """:func:`task_notify` for each (task, lead, rep) of a batch, their outbox rows written together
    (``notifications_queue_many``)."""
    tasks = [(task, lead, rep) for task, lead, rep in tasks if outreach_allowed(lead)]
    rules = routing_rule_labels([task.decision_id for task, _, _ in tasks if task.decision_id])
    notifications_queue_many([message for task, lead, rep in tasks
                              for message in task_messages(task, lead, rep, text=_task_text(task, lead, rep),
                                                           rule=rules.get(task.decision_id, ""))])


def _task_text(task: Task, lead: Lead, rep: Rep | None) -> str:
    reasons = ", ".join(f"{esc(r['label'])} ({r['points']:+d})" for r in lead.score_reasons[:3] if r.get("points"))
    name = esc(lead.full_name or lead.email)
    due = _local(task.due_at, rep)
    priority = task_priority(score=lead.score, band=lead.band, due_at=task.due_at, now=timezone.now())
    link = _lead_link(lead.pk)
    who = name + (f", {esc(lead.title)}" if lead.title else "") + (f" at {esc(lead.company)}" if lead.company else "")
    score = lead.score if lead.score is not None else "-"
    return (
        f"New lead for you: {who}. Score {score} (band {lead.band or '-'}, {lead.get_stage_display()})."
        + (f" Why: {reasons}." if reasons else "")
        + f" Priority {priority}. Follow up by {due}: {link}"
    )


def tasks_digest_notify(tasks: list[Task], rep: Rep | None, leads: dict[int, dict[str, Any]]) -> int | None:
    """One Slack message for a rep's new leads of a batch (a single task gets the usual per-lead message); returns
    the new outbox row's id for the batch's send job."""
    tasks = [task for task in tasks if outreach_allowed(leads[task.lead_id])]
    if not tasks:
        return None
    if len(tasks) == 1:
        return task_notify(tasks[0], Lead.objects.get(pk=tasks[0].lead_id), rep, send=False)
    base = settings.LEADFLOW_BASE_URL
    lines, items = [], []
    for task in tasks[:DIGEST_LINES]:
        lead = leads[task.lead_id]
        name = esc(" ".join(filter(None, [lead["first_name"], lead["last_name"]])) or lead["email"])
        who = name + (f" at {esc(lead['company'])}" if lead["company"] else "")
        score = lead["score"] if lead["score"] is not None else "-"
        due = _local(task.due_at, rep)
        lines.append(f"• {who}: score {score} (band {lead['band'] or '-'}), follow up by {due}: "
                     f"{base}/workspace/leads/{task.lead_id}/")
        items.append((f"{who}: score {score} (band {lead['band'] or '-'}), follow up by {due}",
                       f"{base}/workspace/leads/{task.lead_id}/"))
    more = len(tasks) - DIGEST_LINES
    text = (f"{len(tasks)} new leads for you from an import:\n" + "\n".join(lines)
            + (f"\n…and {more} more in your queue: {base}/workspace/" if more > 0 else ""))
    recipient = (rep.slack_user_id if rep else "") or (rep.team.slack_channel if rep else "")
    blocks = list_blocks(f"{len(tasks)} new leads for you from an import", items,
                         f"…and {more} more in your queue" if more > 0 else "Your queue", f"{base}/workspace/")
    notification, created = notification_queue(dedup_key=f"tasks:{tasks[0].pk}+{len(tasks) - 1}:assigned",
                                               recipient=recipient, text=text, object_type="task",
                                               object_id=tasks[0].pk, send=False, blocks=blocks)
    return notification.pk if created else None


def task_moved_notify(task: Task, lead: Lead, decision: RoutingDecision, *, recipient: str) -> None:
    """The new owner of a lead moved by hand or by a rebalance hears of an open task that came with it, on their own
    channels (``recipient``, their Slack, when they are no rep); not for a lead that may not be contacted: the task
    would ask them to."""
    if not outreach_allowed(lead):
        return
    due = timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M %Z")
    rep = Rep.objects.select_related("team", "user").filter(user_id=task.assignee_id).first()
    card = dataclasses.replace(task_card(task, lead, rep), headline=f"{lead} is yours now ({decision.summary})")
    card_deliver(card, rep_destinations(rep) if rep else [(Channel.SLACK, recipient)],
                 key=f"task:{task.pk}:moved:{decision.pk}",
                 text=f"{esc(lead)} is yours now ({esc(decision.summary)}). Open task: {esc(task.title)}, due {due}: "
                      f"{_lead_link(lead.pk)}",
                 object_id=task.pk)


def trigger_task_notify(task: Task, lead: Lead, *, title: str) -> None:
    """The owner of a lead a trigger fired on hears of the task it created, on their channels (``notify_via``)."""
    trigger_tasks_notify([(task, lead, title)])


def trigger_tasks_notify(tasks: list[tuple[Task, Lead, str]]) -> None:
    """:func:`trigger_task_notify` for each (task, lead, title) of a batch: the owners read in one query, the outbox
    rows written together (``notifications_queue_many``)."""
    tasks = [(task, lead, title) for task, lead, title in tasks if outreach_allowed(lead)]
    reps = {rep.user_id: rep for rep in Rep.objects.select_related("team", "user")
            .filter(user_id__in={lead.owner_id for _, lead, _ in tasks})}
    notifications_queue_many([
        message for task, lead, title in tasks
        for message in task_messages(task, lead, reps.get(lead.owner_id),
                                     text=f"{esc(title)}. Score {lead.score}. {_lead_link(lead.pk)}", headline=title)])


def task_escalation_notify(task: Task, *, now: datetime) -> None:
    """An overdue task, to the assignee's team manager on the manager's channels (``notify_via``), or else the
    team's Slack channel.

    ``task`` comes with ``lead`` and ``assignee__rep__team__manager__rep__team`` selected. Not for a lead that may not
    be contacted: chasing the task would mean outreach.
    """
    if not outreach_allowed(task.lead):
        return
    rep = getattr(task.assignee, "rep", None)
    team = rep.team if rep else None
    manager_rep = getattr(team.manager, "rep", None) if team and team.manager else None
    team_channel = [(Channel.SLACK, team.slack_channel if team else "")]
    destinations = rep_destinations(manager_rep, fallback=team_channel) if manager_rep else team_channel
    overdue_minutes = int((now - task.due_at).total_seconds() // 60)
    assignee = task.assignee.get_full_name() or str(task.assignee)
    lead = task.lead
    card = TaskCard(
        task_id=task.pk, headline=f"Overdue by {overdue_minutes} min: {task.title}",
        who=f"{assignee}'s task on {lead.full_name or lead.email}", score=f"{lead.score} (band {lead.band or '-'})",
        due=_local(task.due_at, manager_rep), link=_lead_link(task.lead_id))
    card_deliver(card, destinations, key=f"task:{task.pk}:escalated", object_id=task.pk, buttons=False,
                 text=f"Overdue by {overdue_minutes} min: '{esc(task.title)}' for {esc(assignee)} "
                      f"(lead score {lead.score}, band {lead.band or '-'}). {_lead_link(task.lead_id)}")
