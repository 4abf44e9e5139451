"""The first assignment summary (routing/summary_models.py): per lead, the first routing decision that gave it an
owner, kept from the decisions by a mark (revops/base/db/summary.py) so speed-to-lead reads one row per lead instead
of searching its decisions. Refreshed every minute with the funnel summary and before the speed page reads it."""

from __future__ import annotations

from functools import partial

from django.db import connection

from revops.base.db.summary import (
    Summary,
    SummaryReport,
    SummaryTable,
    summary_rebuild,
    summary_refresh,
    summary_refresh_quietly,
    tables_prepare,
    tables_rebuild,
)

from ..models import FirstAssignment, RoutingDecision


def _select(leads_sql: str, params: list) -> tuple[str, list]:
    decisions = connection.ops.quote_name(RoutingDecision._meta.db_table)
    return (f"SELECT d.lead_id, MIN(d.created_at) FROM {decisions} d "
            f"WHERE d.owner_id IS NOT NULL AND d.lead_id IN ({leads_sql}) GROUP BY d.lead_id", params)


TABLES = (SummaryTable(FirstAssignment, "lead_id", ("lead_id", "at"), _select),)

FIRST_ASSIGNMENTS = Summary(name="first_assignments", source=RoutingDecision, key="lead_id", pk="id",
                            date="created_at", rebuild=partial(tables_rebuild, TABLES), tables=(FirstAssignment,),
                            prepare=partial(tables_prepare, TABLES))


def first_assignments_refresh() -> SummaryReport:
    return summary_refresh(FIRST_ASSIGNMENTS)


def first_assignments_refresh_quietly() -> None:
    summary_refresh_quietly(FIRST_ASSIGNMENTS)


def first_assignments_rebuild() -> SummaryReport:
    return summary_rebuild(FIRST_ASSIGNMENTS)
