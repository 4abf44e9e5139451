"""The dashboards (managers, RevOps); the rep workspace is in workspace.py."""

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render

from revops.base.db.summary import summaries_refreshed_once

from . import dashboards
from .access import dashboard_user_required
from .dashboards_bands import non_separating
from .dashboards_counts import bands_counted, cohort_from, lead_counts, sources_from
from .dashboards_csv import TABLES, csv_response
from .dashboards_filters import PERIODS, DashboardFilterError, parse_filters
from .dashboards_funnel import cohort_rows
from .dashboards_views import nav


@dashboard_user_required
@summaries_refreshed_once()  # the figures read the summaries as one refresh left them
def dashboard(request: HttpRequest) -> HttpResponse:
    """Cohort funnel, conversion and deal value by score band, sources, queues, SLA compliance and workload
    (managers, RevOps), filtered by the query string; ``?format=csv&table=bands`` downloads one table."""
    try:
        filters = parse_filters(request.GET, user=request.user)
    except DashboardFilterError as error:
        return HttpResponseBadRequest(f"Invalid filter {error.field}: {error.message}", content_type="text/plain")
    table = request.GET.get("table", "") if request.GET.get("format") == "csv" else None
    if table is not None and table not in TABLES:
        return HttpResponseBadRequest(f"Invalid table: '{table}' is not one of {', '.join(TABLES)}.",
                                      content_type="text/plain")
    # Every counted figure from one grouped read of the daily roll-up (dashboards_counts.py); the median days to
    # close from the won leads' facts.
    counts = lead_counts(filters, "source", "band", "stage", "outcome", "reached")
    bands = bands_counted(filters, counts)
    funnel = cohort_rows(*cohort_from(counts))
    if table is not None:
        rows = {"bands": bands, "funnel": funnel, "sources": sources_from(counts)}[table]
        return csv_response(table, rows)
    return render(request, "workspace/dashboard.html", {
        "filters": filters, "periods": list(PERIODS), "total": sum(row["n"] for row in counts),
        "funnel": funnel, "bands": bands, "band_warnings": non_separating(bands),
        "chart_data": {
            "bands": {"labels": [r["band"] for r in bands], "conversion": [r["conversion"] for r in bands],
                      "ci_low": [r["ci_low"] for r in bands], "ci_high": [r["ci_high"] for r in bands]},
            "funnel": {"labels": [r["stage"] for r in funnel], "reached": [r["reached"] for r in funnel]},
        },
        "csv": {table: filters.querystring(format="csv", table=table) for table in TABLES},
        "teams": filters.team_choices, "reps": filters.rep_choices,
        "sources": sources_from(counts), "queues": dashboards.queues(),
        "sla": dashboards.sla(days=filters.days or 3650),
        # A manager's table lists their teams' reps only (the rows are per rep, named by team).
        "workload": [row for row in dashboards.workload() if row["team"] in {t.name for t in filters.team_choices}],
        "nav": nav(filters, ""),
    })
