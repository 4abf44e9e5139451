"""The dashboard pages beside the overview (/dashboard/): /dashboard/<page>/ for scores, funnel, speed, routing,
workload and experiments, under the same query-string filters; ``?format=csv&table=<key>`` downloads one table."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render

from revops.base.db.summary import summaries_refreshed_once

from .access import dashboard_user_required
from .dashboards_csv import csv_table_response
from .dashboards_filters import PERIODS, DashboardFilterError, DashboardFilters, parse_filters
from .dashboards_pages import funnel_page, scores_page, speed_page
from .dashboards_pages_ops import experiments_page, routing_page, workload_page

#: slug → (nav label, page builder); the overview is /dashboard/ itself.
PAGES = {
    "scores": ("Score bands", scores_page),
    "funnel": ("Funnel", funnel_page),
    "speed": ("Speed-to-lead", speed_page),
    "routing": ("Routing", routing_page),
    "workload": ("Workload", workload_page),
    "experiments": ("Experiments & feedback", experiments_page),
}


def nav(filters: DashboardFilters, current: str) -> list[dict]:
    """The dashboard's navigation, each link keeping the filters of the page."""
    query = filters.querystring()
    links = [{"slug": "", "label": "Overview", "url": "/dashboard/"}]
    links += [{"slug": slug, "label": label, "url": f"/dashboard/{slug}/"} for slug, (label, _) in PAGES.items()]
    for link in links:
        link["url"] += f"?{query}" if query else ""
        link["current"] = link["slug"] == current
    return links


def filter_choices(filters: DashboardFilters) -> dict:
    """The filter menus: a manager is offered their teams and their teams' reps only."""
    return {"periods": list(PERIODS), "teams": filters.team_choices, "reps": filters.rep_choices}


def _display(value) -> str:
    if value is None or value == "":
        return "—"
    if value is True or value is False:
        return "yes" if value else "no"
    return str(value)


@dashboard_user_required  # managers (their teams) and RevOps admins: revops/top/access.py
def dashboard_page(request: HttpRequest, page: str) -> HttpResponse:
    """One dashboard page (managers, RevOps): every section's table beside its chart, each downloadable as CSV
    under the filters of the page."""
    if page not in PAGES:
        raise Http404("No such dashboard.")
    try:
        filters = parse_filters(request.GET, user=request.user)
    except DashboardFilterError as error:
        return HttpResponseBadRequest(f"Invalid filter {error.field}: {error.message}", content_type="text/plain")
    with summaries_refreshed_once():  # the page's figures read the summaries as one refresh left them
        return _dashboard_response(request, page, filters)


def _dashboard_response(request: HttpRequest, page: str, filters) -> HttpResponse:
    built = PAGES[page][1](filters)
    if request.GET.get("format") == "csv":
        table = request.GET.get("table", "")
        found = built.sections(only=table) if table else []
        if not found:
            return HttpResponseBadRequest(f"Invalid table: '{table}' is not a table of this page.",
                                          content_type="text/plain")
        return csv_table_response(f"{page}-{table}", found[0].columns, found[0].rows)
    sections = built.sections()
    for section in sections:
        section.cells = [[_display(row.get(key)) for key, _ in section.columns] for row in section.rows]
        section.csv = filters.querystring(format="csv", table=section.key)
    return render(request, "workspace/dashboard_page.html", {
        "page": built, "sections": sections, "filters": filters, "nav": nav(filters, page),
        "charts": {section.key: section.chart for section in sections if section.chart},
        **filter_choices(filters),
    })
