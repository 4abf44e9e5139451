"""The workflow-health page (managers, RevOps admins): per workflow, runs and failures in an hour against the usual
rate, kill-switch states, queue depths, incidents and a chart of the last 48 hours; every table as CSV."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone

from leads.csv.export import csv_safe
from revops.base.workflow_stats import hour_start

from .health_rates import hourly_rows, hourly_series, incidents, queue_depths, workflow_rates

CSV_TABLES = {
    "status": [("workflow", "Workflow"), ("label", "Name"), ("hour", "Hour (UTC)"), ("runs", "Runs"),
               ("failures", "Failures"), ("failure_pct", "Failure %"), ("usual_runs", "Usual runs (median)"),
               ("usual_failure_pct", "Usual failure %"), ("weeks", "Weeks sampled"), ("switch", "Kill switch"),
               ("status", "Status")],
    "hourly": [("hour", "Hour (UTC)"), ("workflow", "Workflow"), ("runs", "Runs"), ("failures", "Failures")],
}
HOURS_SHOWN = 48


def _hour(request: HttpRequest) -> datetime:
    """The hour asked for (``?hour=YYYY-MM-DDTHH:MM`` in the settings' time zone), else the last complete hour."""
    raw = request.GET.get("hour", "").strip()
    if not raw:
        return hour_start(timezone.now() - timedelta(hours=1))
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"'{raw}' is not a date and hour (YYYY-MM-DDTHH:00).") from None
    return hour_start(timezone.make_aware(moment) if timezone.is_naive(moment) else moment)


def _csv(table: str, rows: list[dict]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leadflow-health-{table}.csv"'
    writer = csv.writer(response)
    writer.writerow([label for _, label in CSV_TABLES[table]])
    for row in rows:
        writer.writerow([csv_safe("" if row.get(key) is None else row.get(key)) for key, _ in CSV_TABLES[table]])
    return response


@login_required
@permission_required("revops.view_workflowswitch", raise_exception=True)
def workflow_health(request: HttpRequest) -> HttpResponse:
    """The page; ``?format=csv&table=status|hourly`` downloads a table, ``?hour=`` picks the hour compared."""
    try:
        hour = _hour(request)
    except ValueError as error:
        return HttpResponseBadRequest(f"Invalid hour: {error}", content_type="text/plain")
    rates = workflow_rates(hour=hour)
    if request.GET.get("format") == "csv":
        table = request.GET.get("table", "")
        if table not in CSV_TABLES:
            return HttpResponseBadRequest(f"Invalid table: '{table}' is not one of {', '.join(CSV_TABLES)}.",
                                          content_type="text/plain")
        rows = [rate.as_row() for rate in rates] if table == "status" else hourly_rows(until=hour, hours=HOURS_SHOWN)
        return _csv(table, rows)
    local = timezone.localtime(hour)
    return render(request, "health/workflows.html", {
        "hour": hour, "hour_local": local, "hour_value": local.strftime("%Y-%m-%dT%H:00"),
        "previous": (local - timedelta(hours=1)).strftime("%Y-%m-%dT%H:00"),
        "next": (local + timedelta(hours=1)).strftime("%Y-%m-%dT%H:00"),
        "rates": rates, "queues": queue_depths(), "incidents": incidents(),
        "chart_data": hourly_series(until=hour, hours=HOURS_SHOWN),
        "csv": {table: f"format=csv&table={table}&hour={local:%Y-%m-%dT%H:00}" for table in CSV_TABLES},
    })
