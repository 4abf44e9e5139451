"""What the database benchmarks share: a Django set-up on a temporary SQLite file, and percentiles."""

from __future__ import annotations

import multiprocessing
import os
import time


def setup_django(db_path: str) -> None:
    """Configure Django on the SQLite file ``db_path`` and migrate it.

    Measured as production runs: DEBUG off, so Django does not keep every statement in memory.
    """
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "revops.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def with_checkpointer(db_path: str, work):
    """Run ``work()`` with serve's SQLite checkpointer running in its own process, as ``manage.py serve`` runs it."""
    from revops.base.db.sqlite import checkpoint_forever

    checkpointer = multiprocessing.get_context("spawn").Process(target=checkpoint_forever, args=(db_path,),
                                                                daemon=True)
    checkpointer.start()
    time.sleep(2)  # let the new interpreter start before timing (serve's runs for as long as the server)
    try:
        return work()
    finally:
        checkpointer.terminate()
        checkpointer.join()
