"""Time-in-stage SLAs (re-engagement is in ``reengagement``).

Stage SLAs (``StageSla``, e.g. "MQL for 7 days without a new activity"): the lead's rep is alerted at 1×, the
team's manager at 2×, and at expiry (3×) the lead is routed again through the normal rules when the policy says so,
with the reason recorded. Each level fires once per lead, stage and activity clock (a ``StageSlaAlert`` row claimed
by its unique key), is logged on the lead (automation log) and runs behind the "Stage SLAs" kill switch (checked by
the job). The clock is the lead's last activity: ``last_interaction_at``, else ``assigned_at``, else ``created_at``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from leads.choices import Stage
from leads.consent import NO_OUTREACH, outreach_allowed
from leads.models import Lead
from leads.services.lifecycle import lead_is_closed
from revops.base.automation import automation_log
from revops.base.choices import AutomationOutcome, Workflow
from revops.base.escaping import slack_escape as esc
from revops.base.notifications import notification_queue

from ..models import Rep, StageSla, StageSlaAlert
from .messages import _lead_link
from .reroute import leads_reroute

LEVEL_REP, LEVEL_MANAGER, LEVEL_EXPIRED = 1, 2, 3
BATCH = 1000


def stage_slas_check(*, now: datetime | None = None) -> dict[str, int]:
    """Fire every level of every active stage SLA that is due and has not fired yet; returns counts per level.

    Steps: for each active policy, the live open owned leads in its stage whose activity clock is older than the
    policy's days; the level reached (1×, 2×, 3×); each level up to it not yet claimed for this clock is claimed
    (unique row) and acted on in its own transaction.
    """
    now = now or timezone.now()
    counts = {"rep_alerts": 0, "manager_alerts": 0, "rerouted": 0}
    for policy in StageSla.objects.filter(active=True, days__gt=0):
        window = timedelta(days=policy.days)
        leads = (Lead.objects.live().filter(stage=policy.stage, owner__isnull=False)
                 .annotate(clock=Coalesce(F("last_interaction_at"), F("assigned_at"), F("created_at")))
                 .filter(clock__lt=now - window).order_by("pk")[:BATCH])
        for lead in leads:
            if lead_is_closed(lead):
                continue
            reached = min(LEVEL_EXPIRED, int((now - lead.clock) / window))
            for level in range(LEVEL_REP, reached + 1):
                if _fire(policy, lead, level, now):
                    counts[{1: "rep_alerts", 2: "manager_alerts", 3: "rerouted"}[level]] += 1
    return counts


def _fire(policy: StageSla, lead: Lead, level: int, now: datetime) -> bool:
    """Claim one level for the lead's clock and act on it; False when it fired before."""
    try:
        with transaction.atomic():
            alert = StageSlaAlert.objects.create(lead=lead, stage=policy.stage, level=level, since=lead.clock)
            days = int((now - lead.clock).total_seconds() // 86400)
            stage = Stage(policy.stage).label
            rep = Rep.objects.select_related("team__manager", "user").filter(user_id=lead.owner_id).first()
            if level != LEVEL_EXPIRED and not outreach_allowed(lead):
                # The alerts ask the rep (or their manager) to act on the lead: not for one that may not be contacted.
                recipient, text = "", ""
                detail = f"{NO_OUTREACH}: stage SLA alert (level {level}) skipped"
            elif level == LEVEL_REP:
                recipient = rep.slack_user_id if rep else ""
                text = (f"{esc(lead)} has been {stage} for {days} days without a new activity "
                        f"(SLA {policy.days} days): {_lead_link(lead.pk)}")
                detail = f"rep alerted: {stage} for {days} days (SLA {policy.days})"
            elif level == LEVEL_MANAGER:
                manager_rep = Rep.objects.filter(user_id=rep.team.manager_id).first() if rep and rep.team else None
                recipient = (manager_rep.slack_user_id if manager_rep else "") or (rep.team.slack_channel if rep
                                                                                   else "")
                text = (f"{esc(lead)} ({esc(rep or 'no rep')}) has been {stage} for {days} days without a new "
                        f"activity, twice its SLA of {policy.days} days: {_lead_link(lead.pk)}")
                detail = f"manager alerted: {stage} for {days} days (2× SLA {policy.days})"
            else:
                recipient, text = "", ""
                detail = f"expired: {stage} for {days} days (3× SLA {policy.days})"
                if policy.reroute_at_expiry:
                    moved = leads_reroute(lead_ids=[lead.pk], reason=f"stage SLA expired: {stage} for {days} days")
                    detail += f"; routed again ({'moved' if moved else 'no other owner'})"
            if text:
                notification_queue(dedup_key=f"stage_sla:{alert.pk}", recipient=recipient, text=text,
                                   object_type="lead", object_id=lead.pk)
            automation_log(workflow=Workflow.STAGE_SLA, action=f"stage_sla_level_{level}",
                           outcome=AutomationOutcome.DONE, object_type="lead", object_id=lead.pk, detail=detail)
    except IntegrityError:
        return False
    return True
