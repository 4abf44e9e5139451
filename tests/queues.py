"""What the tests read from and run on the real Redis queues.

Pipeline steps of one object are run by drains (``revops.base.pending.pending_drain_job``): the queue holds one drain
per job function, the steps themselves wait as ``PendingJob`` rows. ``queued()`` shows both as the list of steps
that will run, in order; ``work()`` runs a burst worker over every queue, hottest first, as ``serve`` does.
"""

from __future__ import annotations

import django_rq
from rq import SimpleWorker

from revops.base.jobs import PIPELINE_QUEUES
from revops.base.models import PendingJob
from revops.base.pending import function_path, pending_drain_job
from revops.base.redis_handoff import drain_signal_paced

DRAIN = function_path(pending_drain_job)


def queued(queue: str | None = None) -> list[tuple[str, tuple]]:
    """The steps Redis knows about: each job as (function, args); a drain as the waiting steps it will run."""
    names = [queue] if queue else list(PIPELINE_QUEUES)
    steps: list[tuple[str, tuple]] = []
    for name in names:
        for job in django_rq.get_queue(name).get_jobs():
            if job.func_name == DRAIN:
                function, drain_queue = job.args
                rows = PendingJob.objects.filter(function=function, queue=drain_queue).order_by("id")
                steps.extend((row.function, tuple(row.args)) for row in rows)
            else:
                steps.append((job.func_name, tuple(job.args)))
    return steps


def work(*, with_scheduler: bool = False, max_jobs: int | None = None) -> int:
    """A burst worker over every pipeline queue, hottest first; returns how many jobs it ran. The drain signals this
    process holds back (``revops.base.pace``) are sent first, as their timer would a moment later: what the test
    committed is queued."""
    drain_signal_paced.flush()
    queues = [django_rq.get_queue(name) for name in PIPELINE_QUEUES]

    def done() -> int:
        return sum(q.finished_job_registry.count + q.failed_job_registry.count for q in queues)

    before = done()
    SimpleWorker(queues, connection=queues[0].connection).work(burst=True, with_scheduler=with_scheduler,
                                                               max_jobs=max_jobs)
    return done() - before


def steps_in_a_fixed_order(settings) -> None:
    """For a test that compares two runs of the same input (one-by-one against batched): the steps run in an order
    that does not depend on the machine's speed. A drain past ``LEADFLOW_DRAIN_SECONDS`` hands its follow-ups to
    drains of their own, which run after other waiting work (a slow moment of a loaded machine changed the order of
    the hand-offs, and the round-robin owners with it); and each commit signals its drain at once, so no timer
    decides when a drain is queued (``LEADFLOW_DRAIN_SIGNAL_EVERY_MS``)."""
    settings.LEADFLOW_DRAIN_SECONDS = 120
    settings.LEADFLOW_DRAIN_SIGNAL_EVERY_MS = 0
