"""The RQ worker class `manage.py serve` runs: a SimpleWorker (no fork per job) that yields the CPU to the web.

Under load the web process and the workers compete for the same cores. The API's answer must not wait for the
pipeline's batch work, so each worker lowers its own scheduling priority (``LEADFLOW_WORKER_NICE``, 10 by default,
0 to keep it): the web process is served first and the workers use what is left, draining their queues in bigger
micro-batches instead. Before its first job it loads what the jobs would load on first use (``LEADFLOW_WARM_UP``:
the views, whose URLs the messages link to, and the country-name table a CSV import's first batch would build).
"""

from __future__ import annotations

import os

from django.conf import settings
from django.utils.module_loading import import_string
from rq import SimpleWorker

from .db.webfirst import worker_yields


class PipelineWorker(SimpleWorker):
    """A SimpleWorker at a lower CPU priority than the web process, whose SQLite writes let the web's go first, warm
    before its first job."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        niceness = settings.LEADFLOW_WORKER_NICE
        if niceness > 0:
            os.nice(niceness)
        worker_yields()  # SQLite: a web request's writes go before this worker's next transaction
        if settings.LEADFLOW_WARM_UP:
            import_string(settings.LEADFLOW_WARM_UP)()
