"""Rate-based workflow-health alerts: once an hour, the last complete hour of every workflow is compared with its
usual rate (health_rates.py); a workflow found far below or above it, or whose failure rate jumped, opens an incident
and alerts Slack and the RevOps admins by e-mail once; the first hour back to usual closes it with one recovery
message.

Idempotent: the incident rows are the state (one open incident per workflow and kind, enforced by a unique
constraint), and every message goes through the outbox with a key naming the incident, so a second run for the same
hour sends nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from revops.base.choices import Channel, IncidentKind, Workflow
from revops.base.jobs import periodic_job
from revops.base.models import WorkflowIncident
from revops.base.notifications import notification_queue
from revops.base.roles import ROLE_REVOPS_ADMIN
from revops.base.workflow_stats import hour_start

from .health_rates import WorkflowRate, workflow_rates

HEALTH_PATH = "/health/workflows/"


def _hour_text(hour: datetime) -> str:
    local = timezone.localtime(hour)
    return f"{local:%a %Y-%m-%d %H:00}–{(local + timedelta(hours=1)):%H:00} {local:%Z}"


def _recipients() -> list[tuple[str, str, str]]:
    """(dedup suffix, channel, recipient) of an alert: the Slack channel and every active RevOps admin's e-mail."""
    found = [("slack", Channel.SLACK, settings.LEADFLOW_HEALTH_SLACK_CHANNEL or settings.SLACK_DEFAULT_CHANNEL)]
    admins = (get_user_model().objects.filter(groups__name=ROLE_REVOPS_ADMIN, is_active=True).exclude(email="")
              .order_by("pk").values_list("pk", "email"))
    return found + [(f"email:{pk}", Channel.EMAIL, email) for pk, email in admins]


def _send(incident: WorkflowIncident, *, event: str, subject: str, text: str) -> int:
    """Queue one message per recipient; the key names the incident and the event, so each goes out once."""
    queued = 0
    for suffix, channel, recipient in _recipients():
        _, created = notification_queue(dedup_key=f"health:{incident.pk}:{event}:{suffix}", channel=channel,
                                        recipient=recipient, subject=subject, text=text,
                                        object_type="workflowincident", object_id=incident.pk)
        queued += created
    return queued


def _link() -> str:
    return f"{settings.LEADFLOW_BASE_URL}{HEALTH_PATH}"


def _open(rate: WorkflowRate, kind: str, detail: str) -> int:
    """Open the incident and alert; nothing when another run opened it first (the unique constraint says so)."""
    label = IncidentKind(kind).label.lower()
    switch = "on" if rate.enabled else "OFF"
    text = (f"Leadflow workflow health: {rate.label} {label}.\n{_hour_text(rate.hour)}: {detail}.\n"
            f"Kill switch: {switch}. See {_link()}")
    try:
        with transaction.atomic():
            incident = WorkflowIncident.objects.create(workflow=rate.workflow, kind=kind, first_hour=rate.hour,
                                                       last_hour=rate.hour, detail=text)
            return _send(incident, event="opened", subject=f"Leadflow alert: {rate.label} {label}", text=text)
    except IntegrityError:
        return 0


def _recover(incident: WorkflowIncident, rate: WorkflowRate) -> int:
    """Close the incident with one recovery message; nothing when another run closed it first."""
    label = IncidentKind(incident.kind).label.lower()
    usual = f"usual {rate.usual_runs:g}" if rate.usual_runs is not None else "no usual rate yet"
    failures = f", {rate.failures} failed" if rate.failures else ""
    text = (f"Leadflow workflow health: {rate.label} recovered ({label} since {_hour_text(incident.first_hour)}).\n"
            f"{_hour_text(rate.hour)}: {rate.runs} runs{failures}, {usual}. See {_link()}")
    with transaction.atomic():
        closed = WorkflowIncident.objects.filter(pk=incident.pk, resolved_at=None).update(
            resolved_at=timezone.now(), recovery_detail=text)
        if not closed:
            return 0
        return _send(incident, event="recovered", subject=f"Leadflow recovered: {rate.label}", text=text)


def workflow_health_check(*, hour: datetime | None = None, now: datetime | None = None) -> dict[str, int]:
    """Compare the hour (by default the last complete one) of every workflow with its usual rate; open, keep or
    close incidents. Returns how many incidents were opened and recovered and how many messages were queued.

    Steps, per workflow and kind (below, above, failures): off its usual rate and no open incident → open one and
    alert; off and open → note the hour; back to usual and open (an hour after the last one found off) → close it
    with a recovery message. An hour before the incident's last one never closes it (a late re-run of an old hour).
    """
    hour = hour_start(hour or (now or timezone.now()) - timedelta(hours=1))
    open_incidents = {(i.workflow, i.kind): i for i in WorkflowIncident.objects.filter(resolved_at=None)}
    outcome = {"opened": 0, "recovered": 0, "messages": 0}
    for rate in workflow_rates(hour=hour):
        off = rate.off_rate
        for kind in IncidentKind.values:
            incident = open_incidents.get((rate.workflow, kind))
            if kind in off and incident is None:
                queued = _open(rate, kind, off[kind])
                outcome["opened"] += 1 if queued else 0
                outcome["messages"] += queued
            elif kind in off:
                WorkflowIncident.objects.filter(pk=incident.pk, last_hour__lt=hour).update(last_hour=hour)
            elif incident is not None and hour > incident.last_hour:
                queued = _recover(incident, rate)
                outcome["recovered"] += 1 if queued else 0
                outcome["messages"] += queued
    return outcome


@periodic_job(workflow=Workflow.HEALTH_ALERTS)
def workflow_health_check_job() -> str:
    """Hourly: rate-based workflow-health alerts for the last complete hour (kill switch: health alerts)."""
    outcome = workflow_health_check()
    return f"{outcome['opened']} incidents opened, {outcome['recovered']} recovered, {outcome['messages']} messages"
