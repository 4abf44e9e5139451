"""The funnel summary (leads/stage_models.py) kept up to date from the lead history, set-based.

Every path that changes a lead's stage writes a history row (a model save through django-simple-history, or the SQL
copies of leads/writes.py for the hot and bulk paths), so reading the history is the one place that sees them all.
A refresh (revops/base/db/summary.py: a mark, rows read again until they settle) finds the leads with history rows
after the mark and rebuilds their ``StageReach`` row and their ``StageMove`` rows from their whole history in two
selects, whatever their number, read before the short transaction that replaces their rows; each move carries, per
stage, the lead's previous crossing into it.

Runs every minute (RQ cron, kill switch "Funnel summary") and before a dashboard reads the funnel, so the figures are
current; ``stage_summary_rebuild`` starts over (``manage.py stage_summary --rebuild``; the demo does it after it
moves its history back in time)."""

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

from ..models import Lead
from ..stage_models import FUNNEL_STAGES, PREVIOUS_COLUMNS, REACHED_COLUMNS, StageMove, StageReach


def stage_rank_sql(column: str) -> str:
    """A stage's position in the funnel (0 = new … 5 = customer); -1 for stages outside it."""
    whens = " ".join(f"WHEN '{stage.value}' THEN {index}" for index, stage in enumerate(FUNNEL_STAGES))
    return f"(CASE {column} {whens} ELSE -1 END)"


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _reach_select(leads_sql: str, params: list) -> tuple[str, list]:
    """Per lead: its first history row's time and the first time it reached each funnel stage."""
    rank = stage_rank_sql("h.stage")
    reached = ", ".join(f"MIN(CASE WHEN {rank} >= {index} THEN h.history_date END)"
                        for index in range(1, len(FUNNEL_STAGES)))
    return (f"SELECT h.id, MIN(h.history_date), {reached} FROM {_table(Lead.history.model)} h "
            f"WHERE h.id IN ({leads_sql}) GROUP BY h.id", params)


def _moves_select(leads_sql: str, params: list) -> tuple[str, list]:
    """Per lead: each history row that changed its funnel rank, with per stage the lead's previous crossing into it
    (see StageMove.previous_engaged_at)."""
    rank = stage_rank_sql("h.stage")
    ranks = range(1, len(FUNNEL_STAGES))
    previous = ", ".join(f"MAX(CASE WHEN m.rank_before < {k} AND m.rank_now >= {k} THEN m.at END) OVER earlier AS p{k}"
                         for k in ranks)
    return (
        f"SELECT c.lead_id, c.at, c.rank_before, c.rank_now, {', '.join(f'c.p{k}' for k in ranks)} FROM ("
        f"SELECT m.*, {previous} FROM ("
        f"SELECT h.id AS lead_id, h.history_date AS at, h.history_id AS row_id, {rank} AS rank_now, "
        f"COALESCE(LAG({rank}) OVER (PARTITION BY h.id ORDER BY h.history_date, h.history_id), -1) AS rank_before "
        f"FROM {_table(Lead.history.model)} h WHERE h.id IN ({leads_sql})) m "
        "WINDOW earlier AS (PARTITION BY m.lead_id ORDER BY m.at, m.row_id "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) c WHERE c.rank_now <> c.rank_before "
        # a deleted lead's moves go with it (its history stays): every figure over the moves counts live rows
        f"AND EXISTS (SELECT 1 FROM {_table(Lead)} l WHERE l.id = c.lead_id)", params)


#: The summary's two tables, rebuilt per lead from its whole history (the reach row first: one per lead).
TABLES = (SummaryTable(StageReach, "lead_id", ("lead_id", "first_at", *REACHED_COLUMNS), _reach_select),
          SummaryTable(StageMove, "lead_id", ("lead_id", "at", "rank_before", "rank_now", *PREVIOUS_COLUMNS),
                       _moves_select))

STAGE_SUMMARY = Summary(name="stage_summary", source=Lead.history.model, key="id", pk="history_id",
                        date="history_date", rebuild=partial(tables_rebuild, TABLES), tables=(StageReach, StageMove),
                        prepare=partial(tables_prepare, TABLES))


def stage_summary_refresh() -> SummaryReport:
    """Bring the summary up to the history's last row; returns how many leads were rebuilt and the settled mark."""
    return summary_refresh(STAGE_SUMMARY)


def stage_summary_refresh_quietly() -> None:
    """Before a dashboard reads the funnel: refresh, or (database busy) read the summary as it is."""
    summary_refresh_quietly(STAGE_SUMMARY)


def stage_summary_rebuild() -> SummaryReport:
    """Start over: empty the summary and read the whole history again."""
    return summary_rebuild(STAGE_SUMMARY)
