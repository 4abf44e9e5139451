"""What a long-running process loads before its first piece of work: the web processes (revops/wsgi.py) and the
RQ workers (``revops.base.worker.PipelineWorker``, through ``LEADFLOW_WARM_UP``)."""

from __future__ import annotations

import gc


def process_warm_up() -> None:
    """Load now what the first request or job would otherwise load: every URL's view module (the messages' links are
    reversed through them), and the country names (pycountry's names in every language it ships, built into one
    table on first use: about 0.7 s). Without it the first lead a web process took after a start answered in 0.65 s,
    the next in 6 ms, and a worker's first import batch waited as long (docs/benchmarks.md).

    Then what is loaded is moved out of the garbage collector's sight (``gc.freeze``): the modules, views, models
    and tables a process loads once are about 280,000 objects that live as long as it does, and each pass of the
    collector's oldest generation walked all of them again. Frozen, they are still freed when nothing refers to them;
    only the collector's cycle search skips them. Measured on the website form (``bench/form_cpu.py`` with the
    collector timed): its collections cost 0.85 ms of CPU a form before, 0.22 ms after (docs/benchmarks.md)."""
    from django.urls import get_resolver

    from leads.normalize import normalize_country

    get_resolver().url_patterns  # noqa: B018 - the attribute's loading is the point
    normalize_country("United States")
    gc.collect()  # what start-up left as garbage is not kept forever
    gc.freeze()
