"""The dashboards (managers, RevOps); the rep workspace is in workspace.py."""

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render

from revops.base.db.summary import summaries_refreshed_once

from . import dashboards
from .access import dashboard_user_required
from .dashboard_facts import live_facts
from .dashboards_bands import band_table, non_separating
from .dashboards_csv import TABLES, csv_response
from .dashboards_filters import PERIODS, DashboardFilterError, parse_filters
from .dashboards_funnel import cohort_funnel
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
    leads = filters.apply(live_facts())  # one narrow row per lead (revops/top/dashboard_facts.py)
    if request.GET.get("format") == "csv":
        table = request.GET.get("table", "")
        if table not in TABLES:
            return HttpResponseBadRequest(f"Invalid table: '{table}' is not one of {', '.join(TABLES)}.",
                                          content_type="text/plain")
        rows = {"bands": band_table, "funnel": cohort_funnel, "sources": dashboards.sources}[table](leads)
        return csv_response(table, rows)
    bands, funnel = band_table(leads), cohort_funnel(leads)
    return render(request, "workspace/dashboard.html", {
        "filters": filters, "periods": list(PERIODS), "total": leads.count(),
        "funnel": funnel, "bands": bands, "band_warnings": non_separating(bands),
        "chart_data": {
            "bands": {"labels": [r["band"] for r in bands], "conversion": [r["conversion"] for r in bands],
                      "ci_low": [r["ci_low"] for r in bands], "ci_high": [r["ci_high"] for r in bands]},
            "funnel": {"labels": [r["stage"] for r in funnel], "reached": [r["reached"] for r in funnel]},
        },
        "csv": {table: filters.querystring(format="csv", table=table) for table in TABLES},
        "teams": filters.team_choices, "reps": filters.rep_choices,
        "sources": dashboards.sources(leads), "queues": dashboards.queues(),
        "sla": dashboards.sla(days=filters.days or 3650),
        # A manager's table lists their teams' reps only (the rows are per rep, named by team).
        "workload": [row for row in dashboards.workload() if row["team"] in {t.name for t in filters.team_choices}],
        "nav": nav(filters, ""),
    })
