"""The RQ worker class `manage.py serve` runs: a SimpleWorker (no fork per job) that yields the CPU to the web.

Under load the web process and the workers compete for the same cores. The API's answer must not wait for the
pipeline's batch work, so each worker lowers its own scheduling priority (``LEADFLOW_WORKER_NICE``, 10 by default,
0 to keep it): the web process is served first and the workers use what is left, draining their queues in bigger
micro-batches instead.
"""

from __future__ import annotations

import os

from django.conf import settings
from rq import SimpleWorker

from .db.webfirst import worker_yields


class PipelineWorker(SimpleWorker):
    """A SimpleWorker at a lower CPU priority than the web process, whose SQLite writes let the web's go first."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        niceness = settings.LEADFLOW_WORKER_NICE
        if niceness > 0:
            os.nice(niceness)
        worker_yields()  # SQLite: a web request's writes go before this worker's next transaction
