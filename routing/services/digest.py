"""The rep's daily e-mail digest at 08:00 (``LEADFLOW_DIGEST_HOUR``) in their own time zone: new leads of the last
24 hours, tasks due today, overdue tasks, each with a link. Run hourly; each rep gets one digest per local day (the
outbox's dedup key), and nothing on a day with nothing to say. The team's manager gets the day's summary of breaches
(open follow-ups past their due time) at the same hour of their own time zone."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from leads.consent import outreach_allowed_q
from revops.base.choices import Channel
from revops.base.notifications import notification_queue

from ..choices import TaskStatus
from ..models import Rep, Task, Team


def _line(task: Task, zone: zoneinfo.ZoneInfo) -> dict:
    lead = task.lead
    return {"who": (lead.full_name or lead.email) + (f" at {lead.company}" if lead.company else ""),
            "score": lead.score if lead.score is not None else "-", "band": lead.band or "-",
            "title": task.title, "due": task.due_at.astimezone(zone).strftime("%a %H:%M %Z"),
            "link": f"{settings.LEADFLOW_BASE_URL}/workspace/leads/{task.lead_id}/"}


def rep_digest(rep: Rep, *, now: datetime) -> int | None:
    """Queue one rep's digest for their local day; returns the outbox row id (None: nothing to say, or sent)."""
    zone = zoneinfo.ZoneInfo(rep.time_zone or "UTC")
    local = now.astimezone(zone)
    end_of_day = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    # Only leads that may be contacted: every line of the digest asks the rep to follow up.
    tasks = Task.objects.select_related("lead").filter(outreach_allowed_q("lead__"), assignee_id=rep.user_id,
                                                       status=TaskStatus.OPEN)
    new = [_line(t, zone) for t in tasks.filter(created_at__gte=now - timedelta(days=1)).order_by("due_at")[:50]]
    due_today = [_line(t, zone) for t in tasks.filter(due_at__gte=now, due_at__lt=end_of_day).order_by("due_at")[:50]]
    overdue = [_line(t, zone) for t in tasks.filter(due_at__lt=now).order_by("due_at")[:50]]
    if not (new or due_today or overdue) or not rep.user.email:
        return None
    context = {"rep": rep, "day": local.strftime("%A %d %B"), "new": new, "due_today": due_today,
               "overdue": overdue, "queue": f"{settings.LEADFLOW_BASE_URL}/workspace/"}
    notification, created = notification_queue(
        dedup_key=f"digest:{rep.pk}:{local.date().isoformat()}", channel=Channel.EMAIL, recipient=rep.user.email,
        subject=f"Your leads for {context['day']}: {len(new)} new, {len(due_today)} due today, "
                f"{len(overdue)} overdue",
        text=render_to_string("email/digest.txt", context), html=render_to_string("email/digest.html", context),
        object_type="rep", object_id=rep.pk)
    return notification.pk if created else None


def team_breaches_summary(team: Team, *, now: datetime, zone: zoneinfo.ZoneInfo) -> int | None:
    """The manager's daily summary of SLA breaches: the team's open tasks past their due time, oldest first."""
    manager = team.manager
    if manager is None or not manager.email:
        return None
    overdue = list(Task.objects.select_related("lead", "assignee")
                   .filter(outreach_allowed_q("lead__"), assignee__rep__team=team, status=TaskStatus.OPEN,
                           due_at__lt=now).order_by("due_at")[:100])
    if not overdue:
        return None
    local = now.astimezone(zone)
    lines = [{**_line(task, zone), "rep": task.assignee.get_full_name() or task.assignee.username,
              "hours": int((now - task.due_at).total_seconds() // 3600)} for task in overdue]
    context = {"team": team, "day": local.strftime("%A %d %B"), "lines": lines,
               "manager_view": f"{settings.LEADFLOW_BASE_URL}/workspace/manager/"}
    notification, created = notification_queue(
        dedup_key=f"breaches:{team.pk}:{local.date().isoformat()}", channel=Channel.EMAIL, recipient=manager.email,
        subject=f"{team.name}: {len(lines)} follow-ups past their SLA",
        text=render_to_string("email/breaches.txt", context), html=render_to_string("email/breaches.html", context),
        object_type="team", object_id=team.pk)
    return notification.pk if created else None


def reps_digest_due(*, now: datetime | None = None) -> int:
    """Every active rep whose local clock shows the digest hour gets their digest, and every manager (in their own
    rep time zone, else UTC) the team's breaches; returns how many were queued."""
    now = now or timezone.now()
    hour = int(getattr(settings, "LEADFLOW_DIGEST_HOUR", 8))
    queued = 0
    for rep in Rep.objects.select_related("user").filter(is_active=True):
        if now.astimezone(zoneinfo.ZoneInfo(rep.time_zone or "UTC")).hour == hour and rep_digest(rep, now=now):
            queued += 1
    for team in Team.objects.select_related("manager").exclude(manager=None):
        manager_rep = Rep.objects.filter(user_id=team.manager_id).first()
        zone = zoneinfo.ZoneInfo(manager_rep.time_zone if manager_rep and manager_rep.time_zone else "UTC")
        if now.astimezone(zone).hour == hour and team_breaches_summary(team, now=now, zone=zone):
            queued += 1
    return queued
