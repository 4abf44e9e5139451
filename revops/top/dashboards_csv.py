"""The dashboard's tables as CSV: the same rows the page shows, under the same filters (?format=csv&table=...)."""

from __future__ import annotations

import csv

from django.http import HttpResponse

from leads.csv.export import csv_safe

TABLES = {
    "bands": [("band", "Band"), ("leads", "Leads"), ("won", "Won"), ("lost", "Lost"), ("open", "Open"),
              ("closed", "Closed"), ("conversion", "Conversion % (won / closed)"), ("ci_low", "95% CI low %"),
              ("ci_high", "95% CI high %"), ("avg_deal", "Average won deal value"),
              ("total_deal", "Total won deal value"), ("median_days_to_close", "Median days to close (won)")],
    "funnel": [("stage", "Stage"), ("reached", "Leads that reached it"), ("reached_pct", "Share of cohort %"),
               ("from_previous_pct", "Conversion from previous stage %")],
    "sources": [("source", "Source"), ("leads", "Leads"), ("mql", "Reached MQL or later"), ("won", "Won")],
}


def csv_response(table: str, rows: list[dict]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leadflow-{table}.csv"'
    writer = csv.writer(response)
    columns = TABLES[table]
    writer.writerow([label for _, label in columns])
    for row in rows:
        writer.writerow([csv_safe("" if row.get(key) is None else row.get(key)) for key, _ in columns])
    return response


def csv_table_response(name: str, columns: list[tuple[str, str]], rows: list[dict]) -> HttpResponse:
    """One table of a dashboard page as CSV: the page's columns and rows, named leadflow-<name>.csv."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leadflow-{name}.csv"'
    writer = csv.writer(response)
    writer.writerow([label for _, label in columns])
    for row in rows:
        writer.writerow([csv_safe("" if row.get(key) is None else row.get(key)) for key, _ in columns])
    return response
