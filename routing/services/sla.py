"""SLA: when a follow-up is due and the escalation of overdue tasks to the team manager.

The due time comes from the most specific ``SlaPolicy`` over band, stage and source (else the built-in defaults:
a hot inbound lead within 4 working hours, an outbound-sourced one within 24), counted in the assigned rep's
working time (``routing.clock``: time zone, working hours and days, the public holidays of the rep's country).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from revops.base.jobscope import job_memo

from ..choices import TaskStatus
from ..clock import WorkingTime, next_working_morning, working_add
from ..models import Rep, SlaPolicy, Task, split_csv
from .messages import task_escalation_notify

DEFAULT_SLA_MINUTES = {"A": 240, "B": 480, "C": 1440, "D": 2880}
OUTBOUND_SLA_MINUTES = 24 * 60
DEFAULT_ESCALATE_AFTER = 60


def outbound_sources() -> frozenset[str]:
    """The lead sources counted as outbound (``LEADFLOW_OUTBOUND_SOURCES``)."""
    return frozenset(getattr(settings, "LEADFLOW_OUTBOUND_SOURCES", ("outbound", "prospecting", "list_purchase")))


def sla_policy_for(band: str, stage: str, source: str = "") -> SlaPolicy:
    """The SLA of a lead: the most specific matching ``SlaPolicy`` (source counts most, then band, then stage), else
    an unsaved policy with the built-in defaults. The policies (a short list an admin keeps) are read once per
    drain job (``revops.base.jobscope``), every time outside one."""
    policies = [p for p in job_memo("sla_policies", lambda: list(SlaPolicy.objects.all()))
                if p.band in (band, "") and p.stage in (stage, "") and p.source in (source or "", "")]
    if policies:
        return max(policies, key=lambda p: (bool(p.source), bool(p.band), bool(p.stage)))
    if source in outbound_sources():
        return SlaPolicy(source=source, minutes=OUTBOUND_SLA_MINUTES, escalate_after_minutes=DEFAULT_ESCALATE_AFTER)
    return SlaPolicy(band=band, minutes=DEFAULT_SLA_MINUTES.get(band, 1440),
                     escalate_after_minutes=DEFAULT_ESCALATE_AFTER)


def sla_minutes_for(band: str, stage: str, source: str = "") -> tuple[int, int]:
    """The follow-up SLA (working minutes) and escalation delay of ``sla_policy_for``."""
    policy = sla_policy_for(band, stage, source)
    return policy.minutes, policy.escalate_after_minutes


def rep_working_time(rep: Rep | None) -> WorkingTime:
    """A rep's working time for the SLA clock (no rep: UTC, every hour of Monday to Friday)."""
    if rep is None:
        return WorkingTime()
    days = frozenset(int(day) for day in split_csv(rep.working_days) if day.isdigit())
    return WorkingTime(time_zone=rep.time_zone or "UTC", start=rep.working_hours_start, end=rep.working_hours_end,
                       weekdays=days, country=rep.country)


def rep_for_user(user_id: int | None) -> Rep | None:
    return Rep.objects.filter(user_id=user_id).first() if user_id else None


def due_at_for(*, minutes: int, rep: Rep | None, now: datetime | None = None) -> datetime:
    """``minutes`` working minutes of the rep after ``now``."""
    return working_add(now or timezone.now(), minutes, rep_working_time(rep))


def tomorrow_morning_for(*, rep: Rep | None, now: datetime | None = None) -> datetime:
    """The start of the rep's next working day in their time zone (snooze "tomorrow", no-answer retries)."""
    return next_working_morning(now or timezone.now(), rep_working_time(rep))


def tasks_escalate_overdue(*, now: datetime | None = None) -> int:
    """Alert the team manager (or channel) once for every open task overdue past its escalation delay."""
    now = now or timezone.now()
    escalated = 0
    overdue = Task.objects.filter(status=TaskStatus.OPEN, escalated_at__isnull=True, due_at__lt=now).select_related(
        "lead", "assignee__rep__team__manager__rep__team"  # the manager's channels (delivery.rep_destinations)
    )
    for task in overdue[:1000]:
        _, escalate_after = sla_minutes_for(task.lead.band, task.lead.stage, task.lead.source)
        if task.due_at + timedelta(minutes=escalate_after) > now:
            continue
        with transaction.atomic():
            claimed = Task.objects.filter(pk=task.pk, escalated_at__isnull=True).update(escalated_at=now,
                                                                                        updated_at=now)
            if not claimed:
                continue
            task_escalation_notify(task, now=now)
            escalated += 1
    return escalated
