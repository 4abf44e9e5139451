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

import logging
from datetime import datetime, timedelta

import django_rq
import redis.exceptions
from django.conf import settings
from django.utils import timezone
from rq.job import Job, JobStatus

from .models import PendingJob

logger = logging.getLogger(__name__)

PENDING_META = "leadflow_pending_id"
REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
ALIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
SWEEP_LIMIT = 5000  # rows one sweep enqueues at most; the next minute takes the rest
MAX_BACKOFF = timedelta(hours=1)


def function_path(func) -> str:
    """The dotted path RQ imports the job by (``leads.jobs.lead_enrich_job``)."""
    return f"{func.__module__}.{func.__qualname__}"


def pending_rq_job_id(pending_id: int) -> str:
    """The RQ job id of a pending job: the sweeper reads its status before enqueueing it again."""
    return f"leadflow-pending-{pending_id}"


def _sweep_after(attempts: int) -> timedelta:
    """How long a job may take before the sweeper enqueues it again: the setting, doubled per attempt, capped."""
    return min(timedelta(seconds=settings.LEADFLOW_PENDING_SWEEP_AFTER * (2 ** min(attempts, 10))), MAX_BACKOFF)


def pending_record(*, function: str, args: list, queue: str) -> int:
    """Write the pending row (inside the caller's transaction, when there is one); returns its id."""
    row = PendingJob.objects.create(function=function, args=list(args), queue=queue,
                                    due_at=timezone.now() + _sweep_after(0))
    return row.pk


def pending_done(pending_id: int | None) -> None:
    """The job has finished (done, skipped or failed to review): forget its row."""
    if pending_id is not None:
        PendingJob.objects.filter(pk=pending_id).delete()


def pending_enqueue(*, function, args: list | tuple, queue: str, pending_id: int, retry=None) -> None:
    """Hand one pending job to RQ (raises a Redis error when Redis is unreachable)."""
    django_rq.get_queue(queue).enqueue(function, *args, retry=retry, job_id=pending_rq_job_id(pending_id),
                                       meta={PENDING_META: pending_id})


def _alive_ids(rows: list[PendingJob]) -> set[int]:
    """The pending rows whose RQ job is still queued, scheduled, deferred or running (one round trip per queue)."""
    alive: set[int] = set()
    by_queue: dict[str, list[int]] = {}
    for row in rows:
        by_queue.setdefault(row.queue, []).append(row.pk)
    for queue_name, ids in by_queue.items():
        connection = django_rq.get_queue(queue_name).connection
        jobs = Job.fetch_many([pending_rq_job_id(pk) for pk in ids], connection=connection)
        alive.update(pk for pk, job in zip(ids, jobs, strict=True)
                     if job is not None and job.get_status(refresh=False) in ALIVE)
    return alive


def pending_jobs_sweep(*, now: datetime | None = None, retry=None) -> str:
    """Enqueue again every pending job whose time is up and whose RQ job is no longer queued or running.

    Steps: read the due rows (oldest first, at most ``SWEEP_LIMIT``); for each, skip it if its RQ job is still alive
    (queued, scheduled, deferred or started) and otherwise enqueue it; push its ``due_at`` back (doubling per
    attempt) so a job that keeps failing to finish is not enqueued every minute. Says what it did.
    """
    now = now or timezone.now()
    rows = list(PendingJob.objects.filter(due_at__lte=now).order_by("due_at", "id")[:SWEEP_LIMIT])
    if not rows:
        return "no pending job is overdue"
    alive_ids = _alive_ids(rows)
    enqueued = 0
    for row in rows:
        if row.pk not in alive_ids:
            pending_enqueue(function=row.function, args=row.args, queue=row.queue, pending_id=row.pk, retry=retry)
            enqueued += 1
            row.attempts += 1
        row.due_at = now + _sweep_after(row.attempts)
    PendingJob.objects.bulk_update(rows, ["due_at", "attempts"])
    return f"{enqueued} pending jobs enqueued again, {len(alive_ids)} still queued or running"


def pending_count() -> int:
    """How many pipeline jobs have not finished yet (the health page and the commands report it)."""
    return PendingJob.objects.count()
