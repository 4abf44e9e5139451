"""Re-engagement: new activity on a lead that had gone quiet, or that waits in nurture.

A lead is quiet when it had no activity for ``LEADFLOW_REENGAGE_AFTER_DAYS`` (30) before the new events: no other
event, no task completed on it, no earlier re-engagement, no assignment (``selectors.lead_reengage_state``). New
engagement from the lead itself (an event not logged by a rep) on a quiet lead or one in the nurture stage:

1. moves a lead on the marketing side (new, engaged, MQL, nurture) to the stage "re-engaged", in the lead's history
   with the reason (scoring keeps it there unless the score earns SQL: ``scoring.engine.STAGE_FLOORS``); a lead
   sales works already (SQL, opportunity) keeps its stage;
2. with an owner: a "re-engage" task for the rep, due within 4 hours (or their next working morning), and the
   message on the rep's channels (``Rep.notify_via``: Slack, e-mail, Teams; ``delivery.task_deliver``);
3. without an owner: routed through the normal rules with the reason recorded in the decision and the history
   (a lead in review waits for its reviewer);
4. its nurture e-mails stop (an active nurture enrollment stops with the reason "re-engaged");
5. logged on the lead (automation log).

Once per re-engagement: the events that re-engaged a lead (and its re-engage task) are activity, so the next
re-engagement needs another quiet spell; a lead re-engaged from nurture is no longer in nurture. The job checks the
"Re-engagement" kill switch; a retried job finds the lead re-engaged and the task made (keyed by the newest event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from leads.choices import Stage
from leads.consent import outreach_allowed, outreach_skipped
from leads.models import Lead, LeadEvent
from leads.services.lifecycle import lead_is_closed
from leads.signals import lead_changed
from revops.base.automation import automation_log
from revops.base.choices import AutomationOutcome, Workflow
from revops.base.escaping import slack_escape as esc

from ..choices import NurtureStopReason, TaskKind
from ..models import Task
from ..selectors import REENGAGE_TASK_KEY, REP_LOGGED_EVENT_SOURCE, ROUTABLE_QUEUES, lead_reengage_state
from ..writes import task_get_or_create
from .assignment import lead_route
from .delivery import task_deliver
from .messages import _lead_link
from .nurture import lead_nurture_stop
from .sla import rep_for_user, tomorrow_morning_for

# The stages re-engagement moves to "re-engaged"; later stages belong to sales and keep their stage.
REENGAGE_STAGES = frozenset({Stage.NEW, Stage.ENGAGED, Stage.MQL, Stage.NURTURE})
CAUSE_REENGAGED = "re-engaged"


def reengage_after_days() -> int:
    """Days without any activity after which new activity re-engages a lead (``LEADFLOW_REENGAGE_AFTER_DAYS``)."""
    return int(getattr(settings, "LEADFLOW_REENGAGE_AFTER_DAYS", 30))


@dataclass(frozen=True)
class ReengageResult:
    """What a re-engagement did: the stage move (old stage, or "" when kept), the rep's task, the routing."""

    lead_id: int
    old_stage: str = ""
    task: Task | None = None
    routed: str = ""  # "assigned", "queued", "noop" when routed; "" when it had an owner

    def __str__(self) -> str:
        parts = [f"lead {self.lead_id} re-engaged" + (f" from {self.old_stage}" if self.old_stage else "")]
        if self.task is not None:
            parts.append(f"task {self.task.pk}")
        if self.routed:
            parts.append(f"routed: {self.routed}")
        return ", ".join(parts)


def lead_reengage_why(lead: Lead, *, previous: datetime | None, now: datetime) -> str:
    """Why this lead re-engages ("" when it does not: closed, or opted out): quiet for N days before the new events,
    or in the nurture stage. A lead the rules parked in the nurture queue re-engages after a quiet spell like any
    other: its first clicks after arriving are scoring's business (enough points and routing takes it out)."""
    if lead_is_closed(lead):
        return ""
    if not outreach_allowed(lead):
        return ""  # the caller records the skip (lead_reengage)
    if previous is not None and previous < now - timedelta(days=reengage_after_days()):
        return f"new activity after {(now - previous).days} quiet days"
    if lead.stage == Stage.NURTURE:
        return "new activity while in nurture"
    return ""


def lead_reengage(*, lead_id: int, event_ids: list[int], now: datetime | None = None) -> ReengageResult | None:
    """New activity on a quiet or nurture lead: re-engaged stage, the rep's task and message, or routing (the steps
    are listed at the top of the module). None when nothing is to be done (recent activity, closed, or only events
    a rep logged)."""
    now = now or timezone.now()
    with transaction.atomic():
        if not Lead.objects.select_for_update().filter(pk=lead_id).exists():
            return None
        lead = lead_reengage_state(lead_id=lead_id, event_ids=event_ids)
        events = list(LeadEvent.objects.filter(pk__in=event_ids, lead_id=lead_id)
                      .exclude(source=REP_LOGGED_EVENT_SOURCE).values_list("type", flat=True))
        if lead and events and not lead_is_closed(lead) and not outreach_allowed(lead):
            outreach_skipped(lead_ids=[lead.pk], what="re-engagement", workflow=Workflow.RE_ENGAGEMENT)
            return None
        why = lead_reengage_why(lead, previous=lead.previous_activity_at, now=now) if lead and events else ""
        if not why:
            return None
        why = f"{why} ({', '.join(sorted(set(events)))})"
        lead_nurture_stop(lead_id=lead.pk, reason=NurtureStopReason.REENGAGED, detail=why, now=now)
        old_stage = ""
        if lead.stage in REENGAGE_STAGES:
            old_stage = lead.stage
            lead.stage = Stage.RE_ENGAGED
            lead._change_reason = f"automation:re_engagement {why}: {Stage(old_stage).label} → re-engaged"[:1000]
            lead.save(update_fields=["stage", "updated_at"])
            lead_changed.send(sender=Lead, lead_id=lead.pk, fields=["stage"])  # webhooks' lead.stage_changed
        if lead.owner_id is None:
            routed = _route(lead, why)
            result = ReengageResult(lead.pk, old_stage, routed=routed)
        else:
            result = ReengageResult(lead.pk, old_stage, task=_task_for_rep(lead, why, now, max(event_ids)))
        automation_log(workflow=Workflow.RE_ENGAGEMENT, action="lead_reengage", outcome=AutomationOutcome.DONE,
                       object_type="lead", object_id=lead.pk, detail=f"{why}; {result}"[:500])
    return result


def _route(lead: Lead, why: str) -> str:
    """No owner: the normal routing, with the reason as the decision's cause (a lead in review waits)."""
    if lead.queue not in ROUTABLE_QUEUES:
        return "noop"
    outcome = lead_route(lead_id=lead.pk, cause=f"{CAUSE_REENGAGED}: {why}")
    return outcome.action


def _task_for_rep(lead: Lead, why: str, now: datetime, event_id: int) -> Task:
    """The rep's re-engage task (keyed by the newest event: a retried job finds it) and its message."""
    rep = rep_for_user(lead.owner_id)
    task, created = task_get_or_create(
        f"{REENGAGE_TASK_KEY}{lead.pk}:event:{event_id}",
        {"lead": lead, "assignee_id": lead.owner_id, "kind": TaskKind.RE_ENGAGE,
         "title": f"Re-engaged: {lead} is active again"[:255],
         "due_at": min(now + timedelta(hours=4), tomorrow_morning_for(rep=rep, now=now))},
        reason=f"automation:re_engagement {why}",
    )
    if created:
        task_deliver(task, lead, rep, headline=f"Re-engaged: {lead.full_name or lead.email}",
                     text=f"{esc(lead)} is active again ({esc(why)}): {_lead_link(lead.pk)}")
    return task
