"""The context a pipeline step is scheduled in, and the pending rows a write carries for the steps that follow it.

``revops.base.jobs.enqueue_after_commit`` schedules a step on the queue of the step running now (``_queue_ctx``),
with the steps of a set-based batch (``_scheduled``), or with the row a write has already stored for it
(``_written``): on PostgreSQL a web request's write carries its follow-up step's pending row in its own statement
(a new lead's enrichment, an API event's rescoring), one statement fewer a request (docs/architecture.md).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .db.sql import one_statement_writes
from .models import PendingJob
from .pending import ScheduledSteps, function_path, pending_rows_unsaved

# The queue a job scheduled now goes to when its caller names none: a step run by a drain passes its own priority on
# to the steps it schedules (a demo request's routing and task stay hot); the follow-ups of bulk engagement rescoring
# go to the default queue, because a lead that crossed a threshold must not wait behind the rest of the burst.
_queue_ctx: contextvars.ContextVar[str] = contextvars.ContextVar("leadflow_job_queue", default="default")
# Inside a set-based batch's transaction: the steps it schedules, their pending rows written together at its end.
_scheduled: contextvars.ContextVar[ScheduledSteps | None] = contextvars.ContextVar("leadflow_scheduled", default=None)
# Steps whose pending rows are written already (``steps_written``): (function path, args, queue) → row id.
_written: contextvars.ContextVar[dict | None] = contextvars.ContextVar("leadflow_steps_written", default=None)


def job_checked(func: Callable[..., Any]) -> None:
    if not getattr(func, "leadflow_job", False):
        raise TypeError(f"{function_path(func)} is not a Leadflow job (wrap it with pipeline_job, batch_job or "
                        "periodic_job, which finish its pending row)")


def step_row(func: Callable[..., Any], *args: Any, queue: str | None = None) -> PendingJob | None:
    """The pending row of ``func(*args)``, not yet saved, for the write the step follows to insert in its own
    statement: one statement fewer a request. With no ``args``, the step of a row about to be inserted, whose id the
    database fills in (``revops.base.db.sql.row_insert_with_history``'s ``follower``: a new lead's enrichment); with
    them, as they are (``row_insert_and_update_with_history``'s: a new event's rescoring). None where the step's row
    is written as usual: SQLite, and inside a set-based batch (which writes its steps' rows together).

    After the write, the step is scheduled as usual (``enqueue_after_commit``) inside :func:`steps_written`, which
    hands it this row instead of writing another; a row nobody takes is a step the sweeper runs later, and jobs are
    idempotent."""
    if not one_statement_writes() or _scheduled.get() is not None:
        return None
    job_checked(func)
    return pending_rows_unsaved(function=function_path(func), args_list=[list(args)], queue=queue or _queue_ctx.get(),
                                drained=getattr(func, "leadflow_drain", None) is not None)[0]


def step_row_offered(signal, **kwargs) -> PendingJob | None:
    """The row the first receiver of ``signal`` (sent now, before the write) offers for the write to carry, if any:
    one follower per statement; another receiver's step writes its own row, as without one."""
    return next((row for _, row in signal.send(**kwargs) if row is not None), None)


@contextmanager
def steps_written(rows: list[PendingJob | None]) -> Iterator[None]:
    """Inside: ``enqueue_after_commit`` of a step whose row is one of ``rows`` (saved, by :func:`step_row`)
    takes that row's id instead of writing a row."""
    written = {(row.function, tuple(row.args), row.queue): row.pk for row in rows if row is not None and row.pk}
    token = _written.set(written or None)
    try:
        yield
    finally:
        _written.reset(token)
