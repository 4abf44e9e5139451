"""How Leadflow runs background work: enqueue after commit, kill switches, retries, failure to a review queue.

Every pipeline job is a plain function taking a primary key, wrapped by :func:`pipeline_job`. The wrapper:

1. reads the workflow's kill switch; when it is off the run is recorded as skipped and nothing else happens;
2. runs the body, which re-reads current state and is idempotent (the database, not the job id, decides whether
   work was already done);
3. on a transient failure (database busy, Redis or Slack unreachable) re-raises while RQ still has retries left,
   so RQ retries it per ``LEADFLOW_JOB_RETRY_*``;
4. on a permanent failure (or the last retry) records the error and calls the layer's ``on_failure`` hook, which
   puts the object in a review queue: never a silent null, never a random rep.

Every scheduled job is also a ``PendingJob`` row written in the caller's transaction (``revops.base.pending``): the
wrapper deletes it once the job has finished, and the sweeper enqueues again what Redis lost or never received. With
Redis unreachable the caller's write still commits (the API answers, commands finish); the work waits in the table.
"""

import contextlib
import contextvars
import functools
import logging
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis.exceptions
from django.conf import settings
from django.db import OperationalError, transaction
from rq import Retry, get_current_job

from .automation import automation_log
from .choices import AutomationOutcome, Workflow
from .db.memory import batch_gc
from .pending import (
    PENDING_META,
    REDIS_ERRORS,
    ScheduledSteps,
    drain_enqueue,
    drain_followup,
    drain_signal,
    function_path,
    pending_done,
    pending_done_many,
    pending_enqueue,
    pending_jobs_sweep,
    pending_record,
    pending_release,
)
from .pending import PIPELINE_QUEUES as PIPELINE_QUEUES  # re-exported: the queues, hottest first
from .redis_handoff import drain_signal_paced, enqueue_failed
from .redis_handoff import jobs_left_pending as jobs_left_pending  # re-exported for the commands
from .redis_handoff import jobs_left_pending_notice as jobs_left_pending_notice
from .step_rows import _queue_ctx, _scheduled, _written
from .step_rows import job_checked as _job_checked
from .switches import workflow_enabled
from .workflow_stats import workflow_run_count, workflow_run_counted

logger = logging.getLogger(__name__)

_run_inline: contextvars.ContextVar[bool] = contextvars.ContextVar("leadflow_run_jobs_inline", default=False)
_UNSET = object()
# The pending row of the job about to run in this context: an id for an inline run, None inside a job's body (a job
# called directly from another job owns no row), unset on a worker (the id is then in the RQ job's meta).
_pending_ctx: contextvars.ContextVar[Any] = contextvars.ContextVar("leadflow_pending_job", default=_UNSET)
FOLLOW_UP_QUEUE = {"hot": "hot", "default": "default", "bulk": "default"}
# Inside a set-based body that writes in its own transaction: its steps' pending rows, until batch_steps_done.
_batch_pending: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("leadflow_batch_pending",
                                                                                 default=None)

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


def enqueue_after_commit(func: Callable[..., Any], *args: Any, queue: str | None = None) -> None:
    """Schedule ``func(*args)`` to run once the current transaction commits (at once outside a transaction).

    The pending row is written now, in the caller's transaction, so the need for the job is as durable as the
    change that needs it; the enqueue waits for the commit, because a worker must never see a row that may still
    roll back. Pass primary keys, never instances: the job re-reads the current state.

    ``queue``: ``hot`` (demo requests and what follows them), ``default``, or ``bulk`` (engagement rescoring); by
    default the queue the running step passes on (see ``FOLLOW_UP_QUEUE``). A one-object pipeline step is run by a
    drain of its function and queue (micro-batches, see ``revops.base.pending.pending_drain_job``); any other job is
    enqueued on its own.
    """
    queue = queue or _queue_ctx.get()
    scheduled = _scheduled.get()
    if scheduled is not None and transaction.get_connection().in_atomic_block:
        step = _AfterCommit(func, args, queue)  # a set-based batch writes its steps' rows together before commit
        scheduled.add(step)
        transaction.on_commit(step)
        return
    step = _AfterCommit(func, args, queue)
    written = _written.get()
    pending_id = written.pop((step.function, tuple(args), queue), None) if written else None
    step.pending_id = pending_id if pending_id is not None else _pending_record(func, args, queue)
    transaction.on_commit(step)


def _pending_record(func: Callable[..., Any], args: tuple, queue: str) -> int:
    _job_checked(func)
    return pending_record(function=function_path(func), args=list(args), queue=queue,
                          drained=getattr(func, "leadflow_drain", None) is not None)


class _AfterCommit:
    """A step scheduled in a transaction, handed on after the commit (``_enqueue_pending``). Inside a set-based
    batch its pending row is written with the batch's others (``ScheduledSteps.write``); else at once. A drain's
    chain hands its drained steps on before the commit (``revops.base.drain_chain.Chain.collect``)."""

    __slots__ = ("func", "args", "queue", "function", "drained", "pending_id")

    def __init__(self, func: Callable[..., Any], args: tuple, queue: str) -> None:
        _job_checked(func)
        self.func, self.args, self.queue, self.pending_id = func, args, queue, None
        self.function, self.drained = function_path(func), getattr(func, "leadflow_drain", None) is not None

    def __call__(self) -> None:
        if self.pending_id is None:  # committed without its batch's write (not expected): its row is written now
            self.pending_id = _pending_record(self.func, self.args, self.queue)
        _enqueue_pending(self.func, self.args, self.queue, self.pending_id)


def _enqueue_pending(func: Callable[..., Any], args: tuple, queue: str, pending_id: int) -> None:
    """Run the job inline, or hand it to Redis; when Redis is unreachable the job stays pending for the sweeper."""
    if jobs_run_inline():
        token = _pending_ctx.set(pending_id)
        try:
            func(*args)
        finally:
            _pending_ctx.reset(token)
        return
    try:
        if getattr(func, "leadflow_drain", None) is not None:
            if not drain_followup(function_path(func), queue, pending_id, args):
                if get_current_job() is not None:  # a worker's job signals at once: pacing is the web's and commands'
                    drain_signal(function_path(func), queue)
                else:
                    drain_signal_paced((function_path(func), queue))
        else:
            retry = None if getattr(func, "leadflow_no_retry", False) else job_retry()
            pending_enqueue(function=func, args=args, queue=queue, pending_id=pending_id, retry=retry)
    except REDIS_ERRORS as exc:
        enqueue_failed(function_path(func), exc)


def _claim_pending_id() -> int | None:
    """The pending row of the job starting now (see ``_pending_ctx``)."""
    value = _pending_ctx.get()
    if value is not _UNSET:
        return value
    job = get_current_job()
    return job.meta.get(PENDING_META) if job is not None else None


def _finishing_pending(run: Callable[[], Any]) -> Any:
    """Run a job's wrapped body; delete its pending row unless it raised (RQ then retries it and the row stays)."""
    pending_id = _claim_pending_id()
    token = _pending_ctx.set(None)
    try:
        result = run()
    finally:
        _pending_ctx.reset(token)
    pending_done(pending_id)
    return result


def pipeline_job(
    *,
    workflow: str,
    object_type: str,
    on_failure: Callable[[int, str, str], None] | None = None,
    on_skip: Callable[[int], None] | None = None,
    coalesce: bool = False,
    batch: Callable[[list[tuple]], Any] | None = None,
    batch_atomic: bool = True,
    one_transaction: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a job body with the kill switch, retry and failure handling described in the module docstring.

    ``on_failure(pk, workflow, message)`` is called once on a permanent failure; it must not raise.
    ``on_skip(pk)`` is called when the kill switch is off, for a workflow whose skipping must still let the
    pipeline go on (enrichment off: score with what we have).
    ``coalesce``: steps of the same object waiting together run once (a lead's burst of events, one rescore); the
    other steps run once per distinct argument list. Scheduled steps run through drains (:func:`drain_rows`).
    ``batch(steps)``: the set-based body of a drained micro-batch, given each step's argument tuple (oldest first);
    it must do for every step what the body does for one (see :func:`drain_rows`). It runs in one transaction, unless
    ``batch_atomic=False``: a body that calls remote services first and then writes everything in its own single
    transaction (enrichment: no write lock held while a provider answers).
    ``one_transaction``: the body only reads and writes the database (no remote call), so a drain runs each step in
    one transaction with the deletion of its pending row: the body in a savepoint (a failure rolls back the body
    only, then is logged and sent to review in the same transaction), the pending row deleted at its commit. A step
    that talks to Slack, a mail server or a provider must not set it: the write lock would wait for the answer.
    """

    def decorator(body: Callable[..., Any]) -> Callable[..., Any]:
        action = body.__name__.removesuffix("_job")

        @functools.wraps(body)
        def wrapper(pk: int, *args: Any, **kwargs: Any) -> Any:
            return _finishing_pending(functools.partial(run, pk, *args, **kwargs))

        def run(pk: int, *args: Any, _retries_left: int | None = None, **kwargs: Any) -> Any:
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
                if one_transaction:
                    with transaction.atomic():  # a savepoint inside a drain's step transaction
                        return body(pk, *args, **kwargs)
                return body(pk, *args, **kwargs)
            except TRANSIENT_ERRORS as exc:
                if _retrying(workflow, action, object_type, pk, exc, retries_left=_retries_left):
                    raise
                _fail(workflow, action, object_type, pk, exc, on_failure)
                return "failed"
            except Exception as exc:  # noqa: BLE001 - a job records every failure instead of dying silently
                _fail(workflow, action, object_type, pk, exc, on_failure)
                return "failed"

        run = workflow_run_counted(workflow, run)  # the hourly counter of the workflow-health page
        wrapper.leadflow_job = True
        wrapper.leadflow_one_transaction = one_transaction  # a drain may chain it (revops.base.drain_chain)
        wrapper.leadflow_drain = functools.partial(drain_rows, run, coalesce,
                                                   batch=_BatchStep(batch, workflow, action, object_type, batch_atomic)
                                                   if batch is not None else None,
                                                   one_transaction=(workflow, action, object_type)
                                                   if one_transaction else None)
        return wrapper

    return decorator


def _retrying(workflow: str, action: str, object_type: str, object_id: int | None, exc: BaseException, *,
              retries_left: int | None = None) -> bool:
    """Whether retries are left after a transient failure (the retry is logged).

    ``retries_left``: given by a drain (from the pending row's attempts); otherwise RQ's count for the running job.
    """
    if retries_left is None:
        job = get_current_job()
        retries_left = (job.retries_left or 0) if job is not None else 0
    if retries_left <= 0:
        return False
    automation_log(workflow=workflow, action=action, outcome=AutomationOutcome.RETRY, object_type=object_type,
                   object_id=object_id, detail=f"{type(exc).__name__}: {exc}; {retries_left} retries left")
    return True


class _BatchStep:
    """The set-based body of a drained step with what its log rows name: workflow, action, object type."""

    def __init__(self, body: Callable[[list[tuple]], Any], workflow: str, action: str, object_type: str,
                 atomic: bool = True) -> None:
        self.body, self.workflow, self.action, self.object_type = body, workflow, action, object_type
        self.atomic = atomic

    def __call__(self, steps: list[tuple], queue: str, pending_ids: list[int]) -> bool:
        """Run the steps set-based in one transaction, their pending rows deleted in it; False (nothing written,
        the rows kept) when that failed.

        A failing batch is rolled back whole and logged once; the drain then runs its steps one by one, each with
        its own retries and its own way to the review queue, as a failed ``batch_job`` hands its objects on.
        """
        if not workflow_enabled(self.workflow):
            return False  # one by one: each step is recorded as skipped and its on_skip hook runs
        queue_token = _queue_ctx.set(FOLLOW_UP_QUEUE.get(queue, "default"))
        pending_token = _pending_ctx.set(None)
        scheduled = ScheduledSteps() if self.atomic else None
        scheduled_token = _scheduled.set(scheduled)
        left = list(pending_ids)
        left_token = _batch_pending.set(None if self.atomic else left)
        try:
            with transaction.atomic() if self.atomic else contextlib.nullcontext(), batch_gc():
                self.body(steps)
                if scheduled is not None:
                    scheduled.write()  # the pending rows of the steps it scheduled, in its transaction
                pending_done_many(left)  # in the batch's transaction when it has one (else: batch_steps_done)
        except Exception as exc:  # noqa: BLE001 - the one-by-one path records each step's own failure
            logger.warning("%s/%s: a micro-batch of %d failed (%s: %s); its steps run one by one", self.workflow,
                           self.action, len(steps), type(exc).__name__, exc)
            automation_log(workflow=self.workflow, action=self.action, outcome=AutomationOutcome.RETRY,
                           object_type=self.object_type, object_id=steps[0][0] if steps and steps[0] else None,
                           detail=f"{type(exc).__name__}: {exc}; the {len(steps)} steps of the micro-batch run "
                                  f"one by one\n\n{traceback.format_exc()}")
            return False
        finally:
            _batch_pending.reset(left_token)
            _scheduled.reset(scheduled_token)
            _pending_ctx.reset(pending_token)
            _queue_ctx.reset(queue_token)
        workflow_run_count(workflow=self.workflow, runs=len(steps))  # the workflow-health page counts each step
        return True


def batch_steps_done() -> None:
    """In a set-based body with transactions of its own (``batch_atomic=False``), inside its last one, once it
    knows it will not raise: its steps' pending rows are deleted in that transaction (one write fewer a batch; on
    SQLite each write of a worker first waits for the web's)."""
    left = _batch_pending.get()
    if left:
        pending_done_many(left)
        left.clear()


def drain_rows(run: Callable[..., Any], coalesce: bool, rows: list, *, batch: _BatchStep | None = None,
               one_transaction: tuple[str, str, str] | None = None) -> dict[str, int]:
    """Run a drain's claimed pending rows of one job function: the micro-batch behind every one-object step.

    Steps: group the rows (by object when the job coalesces, else by argument list), oldest first. With a set-based
    body (``pipeline_job(batch=...)``) and more than one group, run the groups' steps at once with each oldest
    row's arguments, ``LEADFLOW_DRAIN_TRANSACTION_STEPS`` at a time, one transaction each (short, so a web request
    never waits long for SQLite's write lock), the chunk's pending rows deleted in it; a chunk that fails (or a kill
    switch that is off) goes one by one.
    One by one: run each group's step once with the oldest row's arguments, through the job's own wrapper body
    (kill switch, failure to review), passing the queue's priority on to the steps it schedules; a transient failure
    gives the group's rows back with a delay and queues a later drain (``LEADFLOW_JOB_RETRY_*``, counted on the
    rows). A ``one_transaction`` step (its workflow, action and object type given) deletes its group's rows in its
    own transaction, and logs a retry after that transaction has rolled back; the other finished rows are deleted
    in one statement at the end. Each one-by-one step commits on its own, so one bad lead never holds back
    the rest of the batch. A batch of one (an idle queue) runs the one-by-one body: no added latency.
    """
    groups: dict[str, list] = {}
    for row in rows:
        key = repr(row.args[:1]) if coalesce else repr(row.args)
        groups.setdefault(key, []).append(row)
    outcome = {"ran": 0, "coalesced": len(rows) - len(groups), "retrying": 0, "batched": 0}
    finished: list[int] = []
    one_by_one = list(groups.values())
    if batch is not None and len(one_by_one) > 1:
        one_by_one = []
        size = max(2, settings.LEADFLOW_DRAIN_TRANSACTION_STEPS)  # a short write lock: the API waits for it on SQLite
        chunks = [list(groups.values())[start:start + size] for start in range(0, len(groups), size)]
        for chunk in chunks:
            chunk_ids = [row.pk for group in chunk for row in group]
            if len(chunk) > 1 and batch([tuple(group[0].args) for group in chunk], rows[0].queue, chunk_ids):
                outcome["ran"] += len(chunk)
                outcome["batched"] += len(chunk)
            else:
                one_by_one.extend(chunk)
    for group in one_by_one:
        first = group[0]
        attempts = max(row.attempts for row in group)
        queue_token = _queue_ctx.set(FOLLOW_UP_QUEUE.get(first.queue, "default"))
        pending_token = _pending_ctx.set(None)
        group_ids = [row.pk for row in group]
        retries_left = settings.LEADFLOW_JOB_RETRY_MAX - attempts
        try:
            if one_transaction:
                with transaction.atomic():
                    run(*first.args, _retries_left=retries_left)
                    pending_done_many(group_ids)
            else:
                run(*first.args, _retries_left=retries_left)
        except TRANSIENT_ERRORS as exc:
            if one_transaction:  # the retry's log line went with the rolled-back transaction: written again
                _retrying(*one_transaction, first.args[0] if first.args else None, exc, retries_left=retries_left)
            intervals = settings.LEADFLOW_JOB_RETRY_INTERVALS or [0]
            delay = intervals[min(attempts, len(intervals) - 1)]
            pending_release(group_ids, delay_seconds=delay)
            # After the commit: inside a drain's chain the rows are given back only when it commits.
            transaction.on_commit(functools.partial(drain_enqueue, first.function, first.queue, delay_seconds=delay))
            outcome["retrying"] += 1
            continue
        finally:
            _pending_ctx.reset(pending_token)
            _queue_ctx.reset(queue_token)
        outcome["ran"] += 1
        if not one_transaction:
            finished.extend(group_ids)
    pending_done_many(finished)
    return outcome


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
            return _finishing_pending(functools.partial(run, pks, *args, **kwargs))

        def run(pks: list[int], *args: Any, **kwargs: Any) -> Any:
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

        run = workflow_run_counted(workflow, run)  # the hourly counter of the workflow-health page
        wrapper.leadflow_job = True
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


class NothingToDo(str):
    """A scheduled job's result when it found nothing to do: returned and counted as a run (workflow health), but
    not written to the automation log — a job that runs every minute would otherwise fill it with idle lines."""


def periodic_job(*, workflow: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Wrap a scheduled job (no arguments): kill switch first, then the body; the outcome lands in the log (not a
    ``NothingToDo`` result).

    Scheduled jobs are idempotent by construction (they select what still needs doing), so a failure is simply
    recorded and the next run picks up the rest.
    """

    def decorator(body: Callable[[], Any]) -> Callable[[], Any]:
        action = body.__name__.removesuffix("_job")

        @functools.wraps(body)
        def wrapper() -> Any:
            return _finishing_pending(run)

        def run() -> Any:
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
            if not isinstance(result, NothingToDo):
                automation_log(workflow=workflow, action=action, outcome=AutomationOutcome.DONE, detail=str(result))
            return result

        run = workflow_run_counted(workflow, run)  # the hourly counter of the workflow-health page
        wrapper.leadflow_job = True
        return wrapper

    return decorator


def durable_job(*, timeout_seconds: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a long job that runs once per request (an admin CSV import): its own RQ job with a long timeout, no RQ
    retries (the body decides whether a second run has anything to do), and a pending row like every other job, so
    a request made while Redis was down starts when Redis is back."""

    def decorator(body: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(body)
        def wrapper(*args: Any) -> Any:
            return _finishing_pending(functools.partial(body, *args))

        wrapper.leadflow_job = True
        wrapper.leadflow_timeout = timeout_seconds
        wrapper.leadflow_no_retry = True
        return wrapper

    return decorator


@periodic_job(workflow=Workflow.PENDING_SWEEP)
def pending_jobs_sweep_job() -> str:
    """Every minute: enqueue again the pipeline jobs Redis lost or never received (kill switch: pipeline sweeper)."""
    return pending_jobs_sweep(retry=job_retry())
