"""The scheduled reports, rendered and delivered: posted to Slack and e-mailed (HTML and text) to the sales managers
and RevOps admins, once per period, each behind its kill switch, and viewable in the browser (reports_views.py). The
Slack post and a RevOps admin's e-mail are company-wide; a manager's e-mail holds the figures of their teams.

Due: the daily scoring report of yesterday and the weekly review of last week, from ``LEADFLOW_REPORT_HOUR`` (07:00)
in the settings' time zone — the weekly one from Monday. The jobs run hourly (RQ cron counts in UTC), so a report
missed at 07:00 (worker down) goes out at the next run; a ``SentReport`` row per kind and period makes it go out once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from revops.base.choices import Channel, ReportKind, Workflow
from revops.base.db.summary import summaries_refreshed_once
from revops.base.jobs import periodic_job
from revops.base.models import SentReport
from revops.base.notifications import notification_queue
from revops.base.roles import ROLE_REVOPS_ADMIN, ROLE_SALES_MANAGER, is_revops_admin
from routing.scoping import teams_managed_by

from .reports_figures import daily_scoring_figures, week_monday, weekly_review_figures

PATHS = {ReportKind.DAILY_SCORING: "/reports/daily/", ReportKind.WEEKLY_REVIEW: "/reports/weekly/"}


def report_period(kind: str, day: date) -> date:
    """The first day of the report's period holding ``day`` (the day itself, or its Monday)."""
    return week_monday(day) if kind == ReportKind.WEEKLY_REVIEW else day


def report_link(kind: str, period_start: date) -> str:
    return f"{settings.LEADFLOW_BASE_URL}{PATHS[kind]}?date={period_start.isoformat()}"


def report_context(kind: str, period_start: date, *, user=None) -> dict:
    """The figures of one report and what its templates need besides; with ``user``, that user's scope (a
    manager's teams), else company-wide (the scheduled post and e-mail)."""
    with summaries_refreshed_once():  # the report's figures read the summaries as one refresh left them
        if kind == ReportKind.WEEKLY_REVIEW:
            figures = weekly_review_figures(period_start, user=user)
            title = f"Weekly performance review, {period_start:%d %b} – {figures['sunday']:%d %b %Y}"
        else:
            figures = daily_scoring_figures(period_start, user=user)
            title = f"Daily scoring report, {period_start:%A %d %b %Y}"
    scope = "All teams" if user is None else "Your teams: " + (
        ", ".join(teams_managed_by(user).order_by("name").values_list("name", flat=True)) or "none")
    return {"kind": kind, "title": title, "r": figures, "link": report_link(kind, period_start),
            "period_start": period_start, "scope": scope}


def _template(kind: str) -> str:
    return "weekly" if kind == ReportKind.WEEKLY_REVIEW else "daily"


def report_render(kind: str, period_start: date, *, user=None) -> dict[str, str]:
    """The report as e-mail subject, text, HTML and the Slack post (a summary with the link); with ``user``, the
    figures of that user's scope."""
    context = report_context(kind, period_start, user=user)
    name = _template(kind)
    return {
        "subject": f"Leadflow: {context['title']}",
        "text": render_to_string(f"reports/{name}.txt", context),
        "html": render_to_string("reports/email.html", {**context, "body": f"reports/_{name}.html"}),
        "slack": render_to_string(f"reports/{name}_slack.txt", context),
    }


def report_recipients() -> list:
    """Every active sales manager and RevOps admin with an e-mail address."""
    users = (get_user_model().objects.filter(groups__name__in=[ROLE_SALES_MANAGER, ROLE_REVOPS_ADMIN], is_active=True)
             .exclude(email="").distinct().order_by("pk"))
    return list(users)


def report_send(*, kind: str, period_start: date) -> int:
    """Send one report for its period once: the ``SentReport`` row is claimed first (unique per kind and period),
    then one Slack post and one e-mail per manager are queued in the outbox (keys naming the period, so even a
    repeated call sends nothing twice). Returns how many messages were queued (0: already sent)."""
    if SentReport.objects.filter(kind=kind, period_start=period_start).exists():
        return 0  # the common case of the hourly job after 07:00: nothing to compute
    rendered = report_render(kind, period_start)
    # Rendered before the transaction (reads only): a manager's copy holds their teams' figures.
    mails = [(user, rendered if is_revops_admin(user) else report_render(kind, period_start, user=user))
             for user in report_recipients()]
    with transaction.atomic():
        sent, created = SentReport.objects.get_or_create(kind=kind, period_start=period_start)
        if not created:
            return 0
        key = f"report:{kind}:{period_start.isoformat()}"
        channel = settings.LEADFLOW_REPORTS_SLACK_CHANNEL or settings.SLACK_DEFAULT_CHANNEL
        queued = notification_queue(dedup_key=f"{key}:slack", channel=Channel.SLACK, recipient=channel,
                                    text=rendered["slack"], object_type="sentreport", object_id=sent.pk)[1]
        for user, mail in mails:
            queued += notification_queue(dedup_key=f"{key}:email:{user.pk}", channel=Channel.EMAIL,
                                         recipient=user.email, subject=mail["subject"], text=mail["text"],
                                         html=mail["html"], object_type="sentreport", object_id=sent.pk)[1]
        sent.recipients = queued
        sent.save(update_fields=["recipients"])
    return queued


def report_due(kind: str, *, now: datetime | None = None) -> date | None:
    """The period whose report is due now (yesterday; last week's Monday), or None before the report hour."""
    local = timezone.localtime(now or timezone.now())
    if local.hour < settings.LEADFLOW_REPORT_HOUR:
        return None
    if kind == ReportKind.WEEKLY_REVIEW:
        return week_monday(local.date()) - timedelta(days=7)
    return local.date() - timedelta(days=1)


def report_send_if_due(kind: str, *, now: datetime | None = None) -> str:
    period_start = report_due(kind, now=now)
    if period_start is None:
        return f"not yet ({settings.LEADFLOW_REPORT_HOUR}:00 {settings.TIME_ZONE})"
    queued = report_send(kind=kind, period_start=period_start)
    return f"{period_start}: {queued} messages queued" if queued else f"{period_start}: already sent"


@periodic_job(workflow=Workflow.SCORING_REPORT)
def scoring_report_job() -> str:
    """Hourly: yesterday's scoring report, once, from 07:00 local time (kill switch: daily scoring report)."""
    return report_send_if_due(ReportKind.DAILY_SCORING)


@periodic_job(workflow=Workflow.WEEKLY_REVIEW)
def weekly_review_job() -> str:
    """Hourly: last week's performance review, once, from Monday 07:00 local time (kill switch: weekly review)."""
    return report_send_if_due(ReportKind.WEEKLY_REVIEW)
