"""How Leadflow runs background work: enqueue after commit, kill switches, retries, failure to a review queue.

Every pipeline job is a plain function taking a primary key, wrapped by :func:`pipeline_job`. The wrapper:

1. reads the workflow's kill switch; when it is off the run is recorded as skipped and nothing else happens;
2. runs the body, which re-reads current state and is idempotent (the database, not the job id, decides whether
   work was already done);
3. on a transient failure (database busy, Redis or Slack unreachable) re-raises while RQ still has retries left,
   so RQ retries it per ``LEADFLOW_JOB_RETRY_*``;
4. on a permanent failure (or the last retry) records the error and calls the layer's ``on_failure`` hook, which
   puts the object in a review queue: never a silent null, never a random rep.
"""

import contextvars
import functools
import logging
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import django_rq
import redis.exceptions
from django.conf import settings
from django.db import OperationalError, transaction
from rq import Retry, get_current_job

from .automation import automation_log
from .choices import AutomationOutcome
from .db.memory import batch_gc
from .switches import workflow_enabled

logger = logging.getLogger(__name__)

_run_inline: contextvars.ContextVar[bool] = contextvars.ContextVar("leadflow_run_jobs_inline", default=False)


class TransientError(Exception):
    """A failure worth retrying (a remote service busy or unreachable)."""


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientError,
    OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


@contextmanager
def jobs_inline() -> Iterator[None]:
    """Run every job scheduled inside this block in-process, right after commit, instead of through Redis.

    Used by ``import_leads --sync`` and the demo loader: the same services and jobs run, with no worker.
    """
    token = _run_inline.set(True)
    try:
        yield
    finally:
        _run_inline.reset(token)


def jobs_run_inline() -> bool:
    """Whether jobs run in-process (inside :func:`jobs_inline` or with ``LEADFLOW_RUN_JOBS_INLINE``)."""
    return _run_inline.get() or getattr(settings, "LEADFLOW_RUN_JOBS_INLINE", False)


def job_retry() -> Retry | None:
    """The retry policy from settings (None when retries are switched off)."""
    if settings.LEADFLOW_JOB_RETRY_MAX <= 0:
        return None
    return Retry(max=settings.LEADFLOW_JOB_RETRY_MAX, interval=settings.LEADFLOW_JOB_RETRY_INTERVALS)


def enqueue_now(func: Callable[..., Any], *args: Any, queue: str = "default") -> None:
    """Enqueue ``func(*args)`` at once (or run it, inline mode). Only for callers outside any transaction."""
    if jobs_run_inline():
        func(*args)
        return

    django_rq.get_queue(queue).enqueue(func, *args, retry=job_retry())


def enqueue_after_commit(func: Callable[..., Any], *args: Any, queue: str = "default") -> None:
    """Schedule ``func(*args)`` to run once the current transaction commits (at once outside a transaction).

    A worker must never see a row that may still roll back, so nothing is enqueued before commit. Pass primary
    keys, never instances: the job re-reads the current state.
    """
    transaction.on_commit(functools.partial(enqueue_now, func, *args, queue=queue))


def pipeline_job(
    *,
    workflow: str,
    object_type: str,
    on_failure: Callable[[int, str, str], None] | None = None,
    on_skip: Callable[[int], None] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a job body with the kill switch, retry and failure handling described in the module docstring.

    ``on_failure(pk, workflow, message)`` is called once on a permanent failure; it must not raise.
    ``on_skip(pk)`` is called when the kill switch is off, for a workflow whose skipping must still let the
    pipeline go on (enrichment off: score with what we have).
    """

    def decorator(body: Callable[..., Any]) -> Callable[..., Any]:
        action = body.__name__.removesuffix("_job")

        @functools.wraps(body)
        def wrapper(pk: int, *args: Any, **kwargs: Any) -> Any:
            if not workflow_enabled(workflow):
                automation_log(
                    workflow=workflow,
                    action=action,
                    outcome=AutomationOutcome.SKIPPED,
                    object_type=object_type,
                    object_id=pk,
                    detail=f"the {workflow} kill switch is off",
                )
                if on_skip is not None:
                    on_skip(pk)
                return "skipped"
            try:
                return body(pk, *args, **kwargs)
            except TRANSIENT_ERRORS as exc:
                if _retrying(workflow, action, object_type, pk, exc):
                    raise
                _fail(workflow, action, object_type, pk, exc, on_failure)
                return "failed"
            except Exception as exc:  # noqa: BLE001 - a job records every failure instead of dying silently
                _fail(workflow, action, object_type, pk, exc, on_failure)
                return "failed"

        return wrapper

    return decorator


def _retrying(workflow: str, action: str, object_type: str, object_id: int | None, exc: BaseException) -> bool:
    """Whether RQ still has retries left for the running job after a transient failure (the retry is logged)."""
    job = get_current_job()
    if job is None or (job.retries_left or 0) <= 0:
        return False
    automation_log(workflow=workflow, action=action, outcome=AutomationOutcome.RETRY, object_type=object_type,
                   object_id=object_id, detail=f"{type(exc).__name__}: {exc}; {job.retries_left} retries left")
    return True


def batch_job(
    *,
    workflow: str,
    object_type: str,
    on_failure: Callable[[list[int], str, str], None],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Like :func:`pipeline_job` for a job over many objects (a bulk import's leads, an import's decisions).

    The first argument is the list of primary keys. The kill switch skips the whole batch (recorded once, with the
    count; the workflow's catch-up on resume picks the objects up, as for one object). Transient failures are
    retried by RQ. A permanent failure is recorded and ``on_failure(pks, workflow, message)`` hands every object
    to its per-object job, which has its own retries and its own way to the review queue: a batch that breaks
    degrades to the one-by-one path, never to a silent gap.
    """

    def decorator(body: Callable[..., Any]) -> Callable[..., Any]:
        action = body.__name__.removesuffix("_job")

        @functools.wraps(body)
        def wrapper(pks: list[int], *args: Any, **kwargs: Any) -> Any:
            pks = list(pks)
            first = pks[0] if pks else None
            if not workflow_enabled(workflow):
                automation_log(workflow=workflow, action=action, outcome=AutomationOutcome.SKIPPED,
                               object_type=object_type, object_id=first,
                               detail=f"the {workflow} kill switch is off ({len(pks)} {object_type}s)")
                return "skipped"
            try:
                with batch_gc():
                    return body(pks, *args, **kwargs)
            except TRANSIENT_ERRORS as exc:
                if _retrying(workflow, action, object_type, first, exc):
                    raise
                _fail_batch(workflow, action, object_type, pks, exc, on_failure)
                return "failed"
            except Exception as exc:  # noqa: BLE001 - a job records every failure instead of dying silently
                _fail_batch(workflow, action, object_type, pks, exc, on_failure)
                return "failed"

        return wrapper

    return decorator


def _fail_batch(workflow: str, action: str, object_type: str, pks: list[int], exc: BaseException,
                on_failure: Callable[[list[int], str, str], None]) -> None:
    message = f"{type(exc).__name__}: {exc}"
    logger.exception("%s/%s failed for %d %ss", workflow, action, len(pks), object_type)
    automation_log(workflow=workflow, action=action, outcome=AutomationOutcome.FAILED, object_type=object_type,
                   object_id=pks[0] if pks else None,
                   detail=f"{message}; {len(pks)} {object_type}s handed to the one-by-one path\n\n"
                          f"{traceback.format_exc()}")
    try:
        on_failure(pks, workflow, message)
    except Exception:  # noqa: BLE001 - the failure hook must never turn one failure into two
        logger.exception("failure hook of %s/%s raised", workflow, action)


def _fail(
    workflow: str,
    action: str,
    object_type: str,
    pk: int,
    exc: BaseException,
    on_failure: Callable[[int, str, str], None] | None,
) -> None:
    """Record a permanent failure and hand the object to the layer's review queue."""
    message = f"{type(exc).__name__}: {exc}"
    logger.exception("%s/%s failed for %s %s", workflow, action, object_type, pk)
    automation_log(
        workflow=workflow,
        action=action,
        outcome=AutomationOutcome.FAILED,
        object_type=object_type,
        object_id=pk,
        detail=f"{message}\n\n{traceback.format_exc()}",
    )
    if on_failure is not None:
        try:
            on_failure(pk, workflow, message)
        except Exception:  # noqa: BLE001 - the failure hook must never turn one failure into two
            logger.exception("failure hook of %s/%s raised for %s %s", workflow, action, object_type, pk)


def periodic_job(*, workflow: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Wrap a scheduled job (no arguments): kill switch first, then the body; the outcome lands in the log.

    Scheduled jobs are idempotent by construction (they select what still needs doing), so a failure is simply
    recorded and the next run picks up the rest.
    """

    def decorator(body: Callable[[], Any]) -> Callable[[], Any]:
        action = body.__name__.removesuffix("_job")

        @functools.wraps(body)
        def wrapper() -> Any:
            if not workflow_enabled(workflow):
                automation_log(workflow=workflow, action=action, outcome=AutomationOutcome.SKIPPED,
                               detail=f"the {workflow} kill switch is off")
                return "skipped"
            try:
                result = body()
            except Exception as exc:  # noqa: BLE001 - recorded; the next scheduled run tries again
                logger.exception("scheduled job %s failed", action)
                automation_log(workflow=workflow, action=action, outcome=AutomationOutcome.FAILED,
                               detail=f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}")
                raise
            automation_log(workflow=workflow, action=action, outcome=AutomationOutcome.DONE, detail=str(result))
            return result

        return wrapper

    return decorator
