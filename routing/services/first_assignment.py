"""The first assignment summary (routing/summary_models.py): per lead, the first routing decision that gave it an
owner, kept from the decisions by a mark (revops/base/db/summary.py) so speed-to-lead reads one row per lead instead
of searching its decisions. Refreshed every minute with the funnel summary and before the speed page reads it."""

from __future__ import annotations

from django.db import connection

from revops.base.db.summary import Summary, SummaryReport, summary_rebuild, summary_refresh, summary_refresh_quietly

from ..models import FirstAssignment, RoutingDecision


def _rebuild(leads_sql: str, params: list) -> int:
    quote = connection.ops.quote_name
    summary, decisions = quote(FirstAssignment._meta.db_table), quote(RoutingDecision._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {summary} WHERE {quote('lead_id')} IN ({leads_sql})", params)
        cursor.execute(
            f"INSERT INTO {summary} ({quote('lead_id')}, at) SELECT d.lead_id, MIN(d.created_at) FROM {decisions} d "
            f"WHERE d.owner_id IS NOT NULL AND d.lead_id IN ({leads_sql}) GROUP BY d.lead_id", params)
        return cursor.rowcount


FIRST_ASSIGNMENTS = Summary(name="first_assignments", source=RoutingDecision, key="lead_id", pk="id",
                            date="created_at", rebuild=_rebuild, tables=(FirstAssignment,))


def first_assignments_refresh() -> SummaryReport:
    return summary_refresh(FIRST_ASSIGNMENTS)


def first_assignments_refresh_quietly() -> None:
    summary_refresh_quietly(FIRST_ASSIGNMENTS)


def first_assignments_rebuild() -> SummaryReport:
    return summary_rebuild(FIRST_ASSIGNMENTS)
