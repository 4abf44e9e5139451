"""Durable pending work: the database record of every pipeline job still to run, and the sweeper that re-enqueues it.

The pipeline never relies on Redis alone. ``revops.base.jobs.enqueue_after_commit`` writes a ``PendingJob`` row in
the caller's transaction (so the record commits exactly when the change that needs the job commits), then enqueues
the job after commit with the row's id in the RQ job's meta and a job id derived from it. The job's wrapper deletes
the row when the job has finished: done, skipped by its kill switch, or failed to a review queue. A transient failure
that RQ retries keeps the row.

What is left behind — Redis was unreachable at commit, a worker was killed mid-job, Redis lost its data — is found
by :func:`pending_jobs_sweep` (RQ cron, every minute, kill switch "Pipeline sweeper"): a row whose ``due_at`` has
passed is enqueued again unless its RQ job is still queued, scheduled or running. Jobs are idempotent (the database
decides whether the work was already done), so a second run of finished work changes nothing.
"""

from __future__ import annotations

import contextvars
import logging
import sqlite3
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import django_rq
import redis.exceptions
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import F, Q
from django.utils import timezone
from rq import Queue
from rq.job import Job, JobStatus
from rq.utils import import_attribute

from .db.sql import bulk_insert
from .drain_chain import Chain, chain_allows, chain_may_begin, chain_transaction
from .jobscope import job_scope
from .models import PendingJob
from .workflow_stats import workflow_run_counts_flush

logger = logging.getLogger(__name__)

PENDING_META = "leadflow_pending_id"
REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
ALIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
# The queues, hottest first: workers listen to them in this order (``revops.base.jobs`` re-exports it).
PIPELINE_QUEUES = ("hot", "default", "bulk")
# Steps a drain of a queue that is not the hottest claims at a time before it looks whether hotter work waits.
YIELD_EVERY = 25
SWEEP_LIMIT = 5000  # rows one sweep enqueues at most; the next minute takes the rest
MAX_BACKOFF = timedelta(hours=1)


_connections: dict[str, redis.Redis] = {}
# The steps this process's drains ran in the last second, per function and queue: (when, how many).
_drained_lately: dict[tuple[str, str], deque[tuple[float, int]]] = {}


class DrainFollowUps:
    """A drain job's follow-ups: the drained steps its own steps committed, which it runs itself afterwards.

    Their pending rows are written already claimed by the job (``token``), so no other drain takes them and this
    one needs no claim statement to run them; what it does not run is released (:func:`_followups_signal`).
    """

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex[:16]
        self.rows: dict[tuple[str, str], list[PendingJob]] = {}

    def add(self, rows: list[PendingJob]) -> None:
        for row in rows:
            self.rows.setdefault((row.function, row.queue), []).append(row)

    def add_step(self, function: str, queue: str, pending_id: int, args: list | tuple) -> None:
        """A drained step whose row its own step wrote claimed by this job (see :func:`pending_record`)."""
        self.add([PendingJob(pk=pending_id, function=function, args=list(args), queue=queue, attempts=0,
                             claimed_by=self.token)])

    def discard(self, pending_ids: set[int]) -> None:
        """Forget these follow-ups (a chain's, rolled back with it: :mod:`revops.base.drain_chain`)."""
        for step, rows in list(self.rows.items()):
            rows[:] = [row for row in rows if row.pk not in pending_ids]
            if not rows:
                del self.rows[step]


# Inside a drain job: its follow-ups (see DrainFollowUps).
_followups: contextvars.ContextVar[DrainFollowUps | None] = contextvars.ContextVar("leadflow_drain_followups",
                                                                                   default=None)


def rq_queue(name: str) -> Queue:
    """The RQ queue ``name`` on a Redis client kept for the life of the process.

    ``django_rq.get_queue`` builds a new client, with a new connection pool, on every call: one TCP connection per
    enqueue, which at hundreds of pipeline steps a second cost more than the steps. The client is keyed by the
    queue's URL, so a changed setting (a test pointing at another server) gets its own.
    """
    url = settings.RQ_QUEUES[name]["URL"]
    connection = _connections.get(url)
    if connection is None:
        connection = _connections.setdefault(url, django_rq.get_connection(name))
    return django_rq.get_queue(name, connection=connection)


def function_path(func) -> str:
    """The dotted path RQ imports the job by (``leads.jobs.lead_enrich_job``)."""
    return f"{func.__module__}.{func.__qualname__}"


def pending_rq_job_id(pending_id: int) -> str:
    """The RQ job id of a pending job: the sweeper reads its status before enqueueing it again."""
    return f"leadflow-pending-{pending_id}"


def _sweep_after(attempts: int) -> timedelta:
    """How long a job may take before the sweeper enqueues it again: the setting, doubled per attempt, capped."""
    return min(timedelta(seconds=settings.LEADFLOW_PENDING_SWEEP_AFTER * (2 ** min(attempts, 10))), MAX_BACKOFF)


def pending_record(*, function: str, args: list, queue: str, drained: bool = False) -> int:
    """Write the pending row (inside the caller's transaction, when there is one); returns its id.

    ``drained``: a step run by drains. Written by a drain job's step, the row is claimed by that job at once: it is
    the job's follow-up (:func:`drain_followup`)."""
    return pending_record_many(function=function, args_list=[args], queue=queue, drained=drained)[0]


def pending_record_many(*, function: str, args_list: list[list], queue: str, drained: bool = False) -> list[int]:
    """:func:`pending_record` for several steps of one job function and queue, in one insert; their ids in order."""
    # One insert prepared once per model (revops.base.db.sql.bulk_insert): every pipeline step writes a row.
    rows = bulk_insert(pending_rows_unsaved(function=function, args_list=args_list, queue=queue, drained=drained))
    return [row.pk for row in rows]


def pending_rows_unsaved(*, function: str, args_list: list[list], queue: str, drained: bool = False
                         ) -> list[PendingJob]:
    """The rows :func:`pending_record_many` writes, not yet saved (one is written in another insert's statement by
    ``revops.base.step_rows.step_row``)."""
    now = timezone.now()
    followups = _followups.get() if drained else None
    return [PendingJob(function=function, args=list(args), queue=queue, due_at=now + _sweep_after(0),
                       claimed_by=followups.token if followups else "", claimed_at=now if followups else None)
            for args in args_list]


class ScheduledSteps:
    """The pipeline steps a set-based batch schedules inside its transaction (``revops.base.jobs._BatchStep``),
    their pending rows written together just before that transaction commits (:meth:`write`): one insert per job
    function and queue instead of one per step.

    Each step is also the callback ``transaction.on_commit`` runs after the commit (it hands the step on with its
    row's id). A step scheduled inside a savepoint that rolled back has lost its callback: it gets no row either.
    """

    def __init__(self) -> None:
        self.steps: list = []

    def add(self, step) -> None:
        """``step``: has ``function``, ``args``, ``queue``, ``drained``; :meth:`write` sets its ``pending_id``."""
        self.steps.append(step)

    def write(self) -> None:
        """Write the pending rows of the steps whose after-commit callback is still registered, in order."""
        live = {id(callback) for _, callback, *_ in connection.run_on_commit}
        groups: dict[tuple[str, str, bool], list] = {}
        for step in self.steps:
            if id(step) in live:
                groups.setdefault((step.function, step.queue, step.drained), []).append(step)
        self.steps = []
        for (function, queue, drained), steps in groups.items():
            ids = pending_record_many(function=function, args_list=[list(step.args) for step in steps], queue=queue,
                                      drained=drained)
            for step, pending_id in zip(steps, ids, strict=True):
                step.pending_id = pending_id


def pending_done(pending_id: int | None) -> None:
    """The job has finished (done, skipped or failed to review): forget its row."""
    if pending_id is not None:
        PendingJob.objects.filter(pk=pending_id).delete()


def pending_done_many(pending_ids: list[int]) -> None:
    """A drain finished these steps: forget their rows in one statement."""
    if pending_ids:
        PendingJob.objects.filter(pk__in=pending_ids).delete()


def pending_claim(*, function: str, queue: str, token: str, limit: int) -> list[PendingJob]:
    """Claim up to ``limit`` waiting rows of one job function on one queue for the drain ``token`` (oldest first).

    One statement: a conditional ``UPDATE … WHERE claimed_by = '' … RETURNING`` over the oldest waiting ids, so two
    drains running at once never get the same row, on SQLite (one writer) and on PostgreSQL alike (a row another
    drain is claiming is skipped, ``FOR UPDATE SKIP LOCKED``; one it claimed first no longer matches).
    """
    if connection.vendor == "sqlite" and sqlite3.sqlite_version_info < (3, 35):  # no RETURNING: three statements
        return _pending_claim_in_three(function=function, queue=queue, token=token, limit=limit)
    meta = PendingJob._meta
    table, quote = connection.ops.quote_name(meta.db_table), connection.ops.quote_name
    columns = ", ".join(f"{table}.{quote(field.column)}" for field in meta.concrete_fields)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    waiting = (f"SELECT id FROM {table} WHERE function = %s AND queue = %s AND claimed_by = '' "  # nosec B608
               "AND (run_after IS NULL OR run_after <= %s) ORDER BY id LIMIT %s")
    if connection.features.has_select_for_update_skip_locked:
        # PostgreSQL: the ids picked once (a materialized CTE; an IN subquery with LIMIT may be run again per row).
        sql = (f"WITH picked AS MATERIALIZED ({waiting} FOR UPDATE SKIP LOCKED) "  # nosec B608 - the model's names
               f"UPDATE {table} SET claimed_by = %s, claimed_at = %s FROM picked "
               f"WHERE {table}.id = picked.id AND {table}.claimed_by = '' RETURNING {columns}")
        params = [function, queue, now, int(limit), token, now]
    else:
        sql = (f"UPDATE {table} SET claimed_by = %s, claimed_at = %s "  # nosec B608 - the model's names
               f"WHERE claimed_by = '' AND id IN ({waiting}) RETURNING {columns}")
        params = [token, now, function, queue, now, int(limit)]
    rows = list(PendingJob.objects.raw(sql, params))
    return sorted(rows, key=lambda row: row.pk)


def _waiting(function: str, queue: str):
    """The rows of one job function on one queue a drain may claim now: not claimed, not held back for a retry."""
    ready = Q(run_after__isnull=True) | Q(run_after__lte=timezone.now())
    return PendingJob.objects.filter(ready, function=function, queue=queue, claimed_by="")


def _pending_claim_in_three(*, function: str, queue: str, token: str, limit: int) -> list[PendingJob]:
    """The claim for a SQLite older than 3.35: the waiting ids, the conditional UPDATE, the rows won read back."""
    ids = list(_waiting(function, queue).order_by("id").values_list("pk", flat=True)[:limit])
    if not ids:
        return []
    PendingJob.objects.filter(pk__in=ids, claimed_by="").update(claimed_by=token, claimed_at=timezone.now())
    return list(PendingJob.objects.filter(pk__in=ids, claimed_by=token).order_by("id"))


def pending_release(pending_ids: list[int], *, delay_seconds: float) -> None:
    """Give claimed rows back after a transient failure: waiting again, one more attempt, due after the delay."""
    run_after = timezone.now() + timedelta(seconds=delay_seconds)
    PendingJob.objects.filter(pk__in=pending_ids).update(
        claimed_by="", claimed_at=None, attempts=F("attempts") + 1, run_after=run_after,
        due_at=run_after + _sweep_after(0))


def pending_claims_expire(*, now: datetime) -> int:
    """Claims older than the sweep threshold belong to a drain that died (worker killed): make the rows wait again."""
    stale = now - timedelta(seconds=settings.LEADFLOW_PENDING_SWEEP_AFTER)
    return (PendingJob.objects.exclude(claimed_by="").filter(claimed_at__lt=stale)
            .update(claimed_by="", claimed_at=None))


def pending_enqueue(*, function, args: list | tuple, queue: str, pending_id: int, retry=None) -> None:
    """Hand one pending job to RQ (raises a Redis error when Redis is unreachable)."""
    target = import_attribute(function) if isinstance(function, str) else function
    if getattr(target, "leadflow_no_retry", False):
        retry = None
    rq_queue(queue).enqueue(target, *args, retry=retry, job_id=pending_rq_job_id(pending_id),
                            meta={PENDING_META: pending_id}, job_timeout=getattr(target, "leadflow_timeout", None))


def _alive_ids(rows: list[PendingJob]) -> set[int]:
    """The pending rows whose RQ job is still queued, scheduled, deferred or running (one round trip per queue)."""
    alive: set[int] = set()
    by_queue: dict[str, list[int]] = {}
    for row in rows:
        by_queue.setdefault(row.queue, []).append(row.pk)
    for queue_name, ids in by_queue.items():
        connection = rq_queue(queue_name).connection
        jobs = Job.fetch_many([pending_rq_job_id(pk) for pk in ids], connection=connection)
        alive.update(pk for pk, job in zip(ids, jobs, strict=True)
                     if job is not None and job.get_status(refresh=False) in ALIVE)
    return alive


def pending_jobs_sweep(*, now: datetime | None = None, retry=None) -> str:
    """Enqueue again every pending job whose time is up and whose RQ job is no longer queued or running.

    Steps: make the rows of drains that died wait again (claims older than the threshold); read the due rows
    (oldest first, at most ``SWEEP_LIMIT``); a step that drains (one-object pipeline steps) gets a drain of its
    function and queue signalled, unless a drain is claiming it right now; any other job is enqueued again unless its
    RQ job is still alive (queued, scheduled, deferred or started); push each row's ``due_at`` back (doubling per
    attempt) so a job that keeps failing to finish is not enqueued every minute. Says what it did.
    """
    now = now or timezone.now()
    pending_claims_expire(now=now)
    rows = list(PendingJob.objects.filter(due_at__lte=now).order_by("due_at", "id")[:SWEEP_LIMIT])
    if not rows:
        return "no pending job is overdue"
    drains_by_function = {function: _drains(function) for function in {row.function for row in rows}}
    drained = [row for row in rows if drains_by_function[row.function]]
    single = [row for row in rows if not drains_by_function[row.function]]
    alive_ids = _alive_ids(single)
    enqueued = 0
    for row in single:
        if row.pk not in alive_ids:
            pending_enqueue(function=row.function, args=row.args, queue=row.queue, pending_id=row.pk, retry=retry)
            enqueued += 1
            row.attempts += 1
    groups = {(row.function, row.queue) for row in drained if not row.claimed_by}
    drains = sum(drain_signal(function, queue) for function, queue in sorted(groups))
    for row in drained:
        if not row.claimed_by:
            row.attempts += 1
    _sweep_times_set(rows, now=now)
    return (f"{enqueued} pending jobs enqueued again, {len(alive_ids)} still queued or running, "
            f"{drains} drains queued ({len(groups) - drains} already queued)")


def _sweep_times_set(rows: list[PendingJob], *, now: datetime) -> None:
    """Each swept row's attempts and its next due time (doubling per attempt): one ``UPDATE`` per attempt count and
    500 rows. A backlog of thousands of rows (a queue working through a burst) was a ``bulk_update`` that built a
    ``CASE`` per row, for over a second, holding SQLite's one writer every minute."""
    by_attempts: dict[int, list[int]] = {}
    for row in rows:
        by_attempts.setdefault(row.attempts, []).append(row.pk)
    for attempts, ids in sorted(by_attempts.items()):
        for start in range(0, len(ids), 500):
            PendingJob.objects.filter(pk__in=ids[start:start + 500]).update(
                attempts=attempts, due_at=now + _sweep_after(attempts))


# --- Drains: one RQ job runs many waiting steps of one function ------------------------------------------------


def _drains(function: str) -> bool:
    """Whether the job at this dotted path runs through drains (a one-object pipeline step)."""
    try:
        return getattr(import_attribute(function), "leadflow_drain", None) is not None
    except (ImportError, AttributeError, ValueError):
        return False


def _drain_flag(function: str, queue: str) -> str:
    return f"leadflow:drain:{queue}:{function}"


def drain_signal(function: str, queue: str) -> bool:
    """Make sure a drain of ``function`` on ``queue`` is queued; True when this call queued it.

    A flag in Redis (``SET NX`` with the sweep threshold as its lifetime) says a drain is queued and not started
    yet: the thousand commits of a busy second queue one drain, not a thousand jobs. The drain clears the flag when it
    starts, so work committed while it runs queues the next one. Raises a Redis error when Redis is unreachable.
    """
    connection = rq_queue(queue).connection
    if not connection.set(_drain_flag(function, queue), "1", nx=True, ex=settings.LEADFLOW_PENDING_SWEEP_AFTER):
        return False
    drain_enqueue(function, queue)
    return True


def drain_enqueue(function: str, queue: str, *, delay_seconds: float = 0) -> None:
    """Queue a drain now (or after a delay, for a retry) regardless of the flag."""
    queue_obj = rq_queue(queue)
    options = {"result_ttl": 60, "description": f"drain {function} ({queue})"}
    if delay_seconds > 0:
        queue_obj.enqueue_in(timedelta(seconds=delay_seconds), pending_drain_job, function, queue, **options)
    else:
        queue_obj.enqueue(pending_drain_job, function, queue, **options)


def pending_drain_job(function: str, queue: str) -> str:
    """Run the waiting steps of one job function on one queue in micro-batches (an RQ job), then their follow-ups.

    Steps: clear the drain flag (what commits from now on queues the next drain); claim up to
    ``LEADFLOW_DRAIN_BATCH`` rows, oldest first; hand them to the job's drain runner (``pipeline_job``), which
    coalesces repeated steps of one object, runs each under its kill switch and retry policy and deletes the finished
    rows; repeat while a claim came back full (a short one means the queue is empty), until ``LEADFLOW_DRAIN_SECONDS``
    have passed or hotter work waits — then signal the next drain and return, so the worker looks at the hotter
    queues first. With an idle queue the batch is one step: no added latency.

    Follow-ups: the drained steps the finished steps scheduled (a new lead's enrichment schedules its scoring, which
    schedules its routing, then its task and its message) are run by this job too, after each claimed batch and
    before the next claim (a batch goes through the whole pipeline first, so under load a step's latency is that of
    one batch, not of every batch the deadline allows), hottest queue first. Their rows
    were written claimed by this job (:class:`DrainFollowUps`), so the next step starts without a claim, a round trip
    through Redis or a worker's bookkeeping. Until the deadline, or while no hotter work waits than the follow-up's
    queue; what is left then is released and gets its drain signalled as usual. A job killed part-way leaves only
    claimed rows, which the sweeper makes wait again after ``LEADFLOW_PENDING_SWEEP_AFTER`` and runs.
    """
    linger = drain_linger(function, queue)
    if linger:
        time.sleep(linger)  # the flag is still set: what commits meanwhile joins this drain instead of queueing one
    connection = rq_queue(queue).connection
    connection.delete(_drain_flag(function, queue))
    deadline = time.monotonic() + settings.LEADFLOW_DRAIN_SECONDS
    with _drain_job() as followups:
        try:
            claimed, batches, own = _drain(function, queue, connection, deadline, followups)
        except BaseException:
            _followups_signal(followups, quietly=True)  # the steps already committed still get their drains
            raise
    _drained_lately.setdefault((function, queue), deque()).append((time.monotonic(), own))
    _followups_signal(followups)  # the deadline came or hotter work waits: their own drains
    return f"{claimed} steps in {batches} batches" + (f" after waiting {linger * 1000:.0f} ms" if linger else "")


def drain_linger(function: str, queue: str) -> float:
    """How long a drain waits before it claims (seconds): ``LEADFLOW_DRAIN_LINGER_MS`` when this process's drains
    of the same function and queue claimed at least ``LEADFLOW_DRAIN_LINGER_STEPS`` steps in the last second (their
    own, not their follow-ups), else 0.

    A drain costs about the same whatever its size (the job, its claim, a transaction per step, the kill switches
    read), several times what one more lead in its batch costs: under a steady stream of forms, a drain that waits
    a fifth of a second runs the steps committed meanwhile with its own, and the workers keep up with more forms
    on the same cores. The drain flag stays set while it waits, so those commits queue no other drain. An idle
    queue's step (nothing drained in the last second) runs at once, and so does a backlog's (a whole claim's worth
    of steps waits already: the continuation of a drain that yielded to hotter work, a queue catching up)."""
    wait = settings.LEADFLOW_DRAIN_LINGER_MS
    lately = _drained_lately.get((function, queue))
    if wait <= 0 or not lately:
        return 0.0
    since = time.monotonic() - 1.0
    while lately and lately[0][0] < since:
        lately.popleft()
    if sum(steps for _, steps in lately) < settings.LEADFLOW_DRAIN_LINGER_STEPS:
        return 0.0
    return 0.0 if _full_batch_waits(function, queue) else wait / 1000


def _full_batch_waits(function: str, queue: str) -> bool:
    """Whether a whole claim's worth of steps waits already (a backlog: waiting would only add to it)."""
    limit = _batch_limit(queue)[1]
    return _waiting(function, queue)[:limit].count() >= limit


def _followups_run(followups: DrainFollowUps, connection, deadline: float,
                   chain: Chain | None = None) -> tuple[int, int]:
    """Run a drain job's follow-ups, hottest queue first, until there are none, the deadline has passed or hotter
    work waits than the next one's queue; what is left stays in ``followups``. Returns steps and batches run.

    On SQLite the steps that only touch the database run in chains (:mod:`revops.base.drain_chain`): inside one
    (``chain``), until the next step may not join it."""
    done = batches = 0
    running: list[PendingJob] = []
    try:
        while followups.rows:
            step = min(followups.rows, key=_hottest_first)
            if time.monotonic() > deadline or _hotter_work_waits(connection, _hotter(step[1])):
                break
            if chain is not None and not (chain.open() and chain_allows(step[0])):
                break  # the chain commits; the caller goes on
            if chain is None and chain_may_begin(step[0]):
                with chain_transaction(followups) as inner:
                    more, more_batches = _followups_run(followups, connection, deadline, inner)
            else:
                running = followups.rows.pop(step)
                more, more_batches = _drain_claimed(running, connection, deadline)
                followups.add(running)  # what the deadline or hotter work left
                running = []
                if chain is not None:
                    chain.collect()  # what it scheduled: run next, in this transaction
            done, batches = done + more, batches + more_batches
    finally:
        followups.add(running)  # a batch that raised: released with the rest
    return done, batches


def _followups_signal(followups: DrainFollowUps, *, quietly: bool = False) -> None:
    """Release the follow-ups this job did not run and signal a drain for each; ``quietly``: a database or Redis
    error is left to the sweeper (the claims expire after ``LEADFLOW_PENDING_SWEEP_AFTER``)."""
    steps = sorted(followups.rows, key=_hottest_first)
    ids = [row.pk for rows in followups.rows.values() for row in rows]
    followups.rows.clear()
    try:
        if ids:  # rows already finished or given back for a retry are no longer claimed by the job: left alone
            PendingJob.objects.filter(pk__in=ids, claimed_by=followups.token).update(claimed_by="", claimed_at=None)
        for function, queue in steps:
            drain_signal(function, queue)
    except (*REDIS_ERRORS, DatabaseError):
        if not quietly:
            raise


@contextmanager
def _drain_job() -> Iterator[DrainFollowUps]:
    """A drain job's follow-ups (``drain_followup`` adds to them), its switches and subscriptions read once and its
    hourly counters written once, when it ends (``revops.base.jobscope``)."""
    followups = DrainFollowUps()
    token = _followups.set(followups)
    try:
        with job_scope() as scope:
            try:
                yield followups
            finally:
                workflow_run_counts_flush(scope.counts)
    finally:
        _followups.reset(token)


def _hottest_first(step: tuple[str, str]) -> tuple[int, str]:
    function, queue = step
    return (PIPELINE_QUEUES.index(queue) if queue in PIPELINE_QUEUES else len(PIPELINE_QUEUES), function)


def _hotter(queue: str) -> list[str]:
    return list(PIPELINE_QUEUES[:PIPELINE_QUEUES.index(queue)]) if queue in PIPELINE_QUEUES else []


def _batch_limit(queue: str) -> tuple[list[str], int]:
    """The queues hotter than ``queue`` and the steps a drain of it runs at a time before it looks at them."""
    hotter = _hotter(queue)
    return hotter, min(settings.LEADFLOW_DRAIN_BATCH, YIELD_EVERY) if hotter else settings.LEADFLOW_DRAIN_BATCH


def _drain(function: str, queue: str, connection, deadline: float,
           followups: DrainFollowUps) -> tuple[int, int, int]:
    """Claim and run the waiting steps of one function on one queue, each claimed batch followed by the steps it
    scheduled (its follow-ups: a lead's scoring, routing, task and message) before the next claim, so a batch goes
    through the whole pipeline before more of the first step is taken (see :func:`pending_drain_job`). Returns the
    steps and batches run, and how many of the steps were the function's own (claimed, not follow-ups)."""
    runner = import_attribute(function).leadflow_drain
    token = uuid.uuid4().hex[:16]
    hotter, limit = _batch_limit(queue)
    claimed = batches = own = 0
    while True:
        if chain_may_begin(function):
            # SQLite: the claim, the batch and the database-only steps after it in one write transaction (one wait
            # for the web's writes instead of one per statement); read first, so an empty claim takes no lock.
            if not _waiting(function, queue).exists():
                break
            with chain_transaction(followups) as chain:
                rows = pending_claim(function=function, queue=queue, token=token, limit=limit)
                outcome = runner(rows) if rows else {}
                chain.collect()
                more, more_batches = _followups_run(followups, connection, deadline, chain)
            claimed, batches = claimed + more, batches + more_batches
        else:
            rows = pending_claim(function=function, queue=queue, token=token, limit=limit)
            outcome = runner(rows) if rows else {}
        if not rows:
            break
        claimed += len(rows)
        own += len(rows)
        batches += 1
        more, more_batches = _followups_run(followups, connection, deadline)
        claimed, batches = claimed + more, batches + more_batches
        if outcome.get("retrying"):
            break  # the rows given back wait for their retry's own (delayed) drain, not for this loop
        if len(rows) < limit:
            # Nothing more waited when the claim ran: what commits from now on has queued the next drain (the flag
            # was cleared first), so a second claim would only find it empty.
            break
        if time.monotonic() > deadline or _hotter_work_waits(connection, hotter):
            drain_signal(function, queue)  # the rest waits for the next drain; the worker looks at hotter work first
            break
    return claimed, batches, own


def _drain_claimed(rows: list[PendingJob], connection, deadline: float) -> tuple[int, int]:
    """Run a drain job's follow-ups of one function and queue: rows it claimed when they were written, in batches of
    the drain's size, each taken off ``rows`` once run; stops at the deadline or when hotter work waits, leaving the
    rest in ``rows``."""
    runner = import_attribute(rows[0].function).leadflow_drain
    hotter, limit = _batch_limit(rows[0].queue)
    done = batches = 0
    while rows:
        batch = rows[:limit]
        runner(batch)
        del rows[:len(batch)]  # only once run: a batch that raised is still in ``rows``, to be released
        done, batches = done + len(batch), batches + 1
        if rows and (time.monotonic() > deadline or _hotter_work_waits(connection, hotter)):
            break
    return done, batches


def drain_followup(function: str, queue: str, pending_id: int, args: list | tuple) -> bool:
    """Inside a drain job: note that a drained step (its row written claimed by the job, see :func:`pending_record`)
    was committed, for this job to run after its own steps (True); outside one (the web, a command) False, and the
    caller signals a drain."""
    followups = _followups.get()
    if followups is None:
        return False
    followups.add_step(function, queue, pending_id, args)
    return True


def _hotter_work_waits(connection, queues: list[str]) -> bool:
    """Whether a hotter queue has jobs waiting (one round trip)."""
    if not queues:
        return False
    pipe = connection.pipeline(transaction=False)
    for name in queues:
        pipe.llen(f"rq:queue:{name}")
    return any(pipe.execute())


def pending_count() -> int:
    """How many pipeline jobs have not finished yet (the health page and the commands report it)."""
    return PendingJob.objects.count()
