"""Database upkeep the workers run on a schedule (see revops/cron.py).

SQLite's query planner chooses between indexes from ``sqlite_stat1`` statistics, which only ``ANALYZE`` writes.
Without them it guesses, and on a large table a guess can be costly: "these 1,000 leads, if still unrouted" was
read through the owner index's bucket of every unrouted lead instead of by primary key (128 ms instead of 2 ms
per batch with a million stored leads). :func:`database_statistics_refresh` runs ``ANALYZE`` with
``analysis_limit`` (each index sampled, so a few hundred milliseconds even on a million leads), nightly and at
the end of ``load_demo``. PostgreSQL keeps its own statistics (autovacuum's ``ANALYZE``); there it does nothing.
"""

from __future__ import annotations

from django.db import connection

from .choices import Workflow
from .jobs import periodic_job

ANALYSIS_LIMIT = 1000  # rows sampled per index (SQLite recommends 100 to 1,000)


def database_statistics_refresh() -> str:
    """Refresh the query planner's statistics; says what it did."""
    if connection.vendor != "sqlite":
        return f"nothing to do: {connection.vendor} keeps its own statistics"
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM sqlite_stat1")
        (rows,) = cursor.fetchone()
    return f"SQLite statistics refreshed ({rows} indexes and tables)"


@periodic_job(workflow=Workflow.DB_STATISTICS)
def database_statistics_job() -> str:
    """Nightly: ``database_statistics_refresh``."""
    return database_statistics_refresh()
