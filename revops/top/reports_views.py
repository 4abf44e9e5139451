"""The scheduled reports in the browser: /reports/daily/?date=YYYY-MM-DD and /reports/weekly/?date=YYYY-MM-DD (any
day of the week; by default yesterday and last week), the same figures the Slack post and the e-mail carry: company-wide
for a RevOps admin, a manager's teams only for a manager (``routing/scoping.py``)."""

from __future__ import annotations

from datetime import date, timedelta

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone

from revops.base.choices import ReportKind
from revops.base.models import SentReport
from revops.base.roles import is_revops_admin

from .access import dashboard_user_required
from .reports_delivery import report_context, report_period


def _report(request: HttpRequest, kind: str) -> HttpResponse:
    raw = request.GET.get("date", "").strip()
    step = timedelta(days=7 if kind == ReportKind.WEEKLY_REVIEW else 1)
    if raw:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            return HttpResponseBadRequest(f"Invalid date: '{raw}' is not a date (YYYY-MM-DD).",
                                          content_type="text/plain")
    else:
        day = timezone.localdate() - step
    period_start = report_period(kind, day)
    company_wide = is_revops_admin(request.user)
    context = report_context(kind, period_start, user=None if company_wide else request.user)
    return render(request, "reports/page.html", {
        **context, "body": f"reports/_{'weekly' if kind == ReportKind.WEEKLY_REVIEW else 'daily'}.html",
        "previous": period_start - step, "next": period_start + step,
        # The sent post and e-mail are company-wide: named to who reads the same figures only.
        "sent": SentReport.objects.filter(kind=kind, period_start=period_start).first() if company_wide else None,
    })


@dashboard_user_required  # managers (their teams) and RevOps admins (company-wide): revops/top/access.py
def daily_report(request: HttpRequest) -> HttpResponse:
    """The daily scoring report of ``?date=`` (yesterday by default)."""
    return _report(request, ReportKind.DAILY_SCORING)


@dashboard_user_required  # managers (their teams) and RevOps admins (company-wide): revops/top/access.py
def weekly_report(request: HttpRequest) -> HttpResponse:
    """The weekly performance review of the week holding ``?date=`` (last week by default)."""
    return _report(request, ReportKind.WEEKLY_REVIEW)
