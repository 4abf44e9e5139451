"""SLA: when a follow-up is due (``SlaPolicy`` rows, else the built-in defaults) and the escalation of overdue tasks
to the team manager."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..choices import TaskStatus
from ..models import SlaPolicy, Task
from .messages import task_escalation_notify

DEFAULT_SLA_MINUTES = {"A": 60, "B": 240, "C": 1440, "D": 2880}


def sla_minutes_for(band: str, stage: str) -> tuple[int, int]:
    """The follow-up SLA and escalation delay: the most specific SlaPolicy, else the built-in defaults."""
    policies = list(SlaPolicy.objects.filter(Q(band=band) | Q(band=""), Q(stage=stage) | Q(stage="")))
    if policies:
        best = max(policies, key=lambda p: (bool(p.band), bool(p.stage)))
        return best.minutes, best.escalate_after_minutes
    return DEFAULT_SLA_MINUTES.get(band, 1440), 60


def tasks_escalate_overdue(*, now: datetime | None = None) -> int:
    """Alert the team manager (or channel) once for every open task overdue past its escalation delay."""
    now = now or timezone.now()
    escalated = 0
    overdue = Task.objects.filter(status=TaskStatus.OPEN, escalated_at__isnull=True, due_at__lt=now).select_related(
        "lead", "assignee__rep__team__manager__rep"
    )
    for task in overdue[:1000]:
        _, escalate_after = sla_minutes_for(task.lead.band, task.lead.stage)
        if task.due_at + timedelta(minutes=escalate_after) > now:
            continue
        with transaction.atomic():
            claimed = Task.objects.filter(pk=task.pk, escalated_at__isnull=True).update(escalated_at=now)
            if not claimed:
                continue
            task_escalation_notify(task, now=now)
            escalated += 1
    return escalated
