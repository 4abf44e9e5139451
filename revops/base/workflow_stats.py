"""The hourly counter of job runs per workflow (``WorkflowHourlyStat``), written at the end of every job run.

One upsert statement per run, or per drain job for all the workflows it ran (``INSERT … ON CONFLICT … DO UPDATE``,
on SQLite and PostgreSQL alike), so the counter costs no read and never loses an increment to a race between two
workers. The workflow-health page and its rate alerts (``revops/top/health_*.py``) read it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from .jobscope import job_counts
from .models import WorkflowHourlyStat

logger = logging.getLogger(__name__)


def hour_start(moment: datetime) -> datetime:
    """The start of the clock hour (UTC) holding ``moment``."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def workflow_run_count(*, workflow: str, runs: int = 1, failures: int = 0, at: datetime | None = None) -> None:
    """Add runs and failures to the workflow's counter of the hour. Never raises: a counter must not fail a job.

    Inside a drain job the counts are added up and written when it ends (``workflow_run_counts_flush``)."""
    hour = hour_start(at or timezone.now())
    counts = job_counts()
    if counts is not None:
        added = counts[(str(workflow), hour)]
        added[0] += runs
        added[1] += failures
        return
    _upsert([(str(workflow), hour, runs, failures)])


def workflow_run_counts_flush(counts) -> None:
    """Write a drain job's added-up counters (``revops.base.jobscope.job_counts``): one upsert for every workflow and
    hour it touched (in a fixed order, so two workers' upserts never wait for each other's rows in a cycle)."""
    _upsert([(workflow, hour, runs, failures) for (workflow, hour), (runs, failures) in sorted(counts.items())
             if runs or failures])
    counts.clear()


def _upsert(rows: list[tuple[str, datetime, int, int]]) -> None:
    if not rows:
        return
    table = connection.ops.quote_name(WorkflowHourlyStat._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    params = [value for workflow, hour, runs, failures in rows
              for value in (str(workflow), connection.ops.adapt_datetimefield_value(hour), runs, failures)]
    sql = (f"INSERT INTO {table} (workflow, hour, runs, failures) VALUES {values} "  # nosec B608 - table name
           f"ON CONFLICT (workflow, hour) DO UPDATE SET runs = {table}.runs + excluded.runs, "
           f"failures = {table}.failures + excluded.failures")
    try:
        # Inside a transaction, a savepoint keeps a failed counter from breaking the caller's transaction.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
    except DatabaseError as exc:
        logger.warning("workflow counters of %s not written: %s", ", ".join(sorted({row[0] for row in rows})), exc)


def workflow_run_counted(workflow: str, run: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a job runner's body call so every run lands in the hourly counter: a run that returned ``"skipped"``
    (kill switch off) is not counted, one that returned ``"failed"`` or raised counts as a failure."""

    @functools.wraps(run)
    def counted(*args: Any, **kwargs: Any) -> Any:
        try:
            result = run(*args, **kwargs)
        except BaseException:
            workflow_run_count(workflow=workflow, failures=1)
            raise
        if result != "skipped":
            workflow_run_count(workflow=workflow, failures=1 if result == "failed" else 0)
        return result

    return counted
