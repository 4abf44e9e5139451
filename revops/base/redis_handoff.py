"""Handing committed work to Redis from outside the workers: drain signals paced per process, and a count of what
was left pending because Redis was unreachable (the commands say so in one line; the sweeper runs it later)."""

import logging
import threading
import time

from django.conf import settings

from .pace import Paced
from .pending import REDIS_ERRORS, drain_signal

logger = logging.getLogger("revops.base.jobs")  # the warning's logger as before the split

_enqueue_failures = {"count": 0, "warned_at": 0.0}
_enqueue_failures_lock = threading.Lock()


def _drain_signal_or_warn(step: tuple[str, str]) -> None:
    """Signal a drain of (function, queue); Redis unreachable: counted and warned, the steps wait for the sweeper.

    Paced (``drain_signal_paced``): a drained step committed outside a drain (the web, a command) signals at most once
    per ``LEADFLOW_DRAIN_SIGNAL_EVERY_MS`` per process and step kind, and after the last one held back (``pace.py``)."""
    try:
        drain_signal(*step)
    except REDIS_ERRORS as exc:
        enqueue_failed(step[0], exc)


drain_signal_paced = Paced(_drain_signal_or_warn, lambda: settings.LEADFLOW_DRAIN_SIGNAL_EVERY_MS / 1000)


def enqueue_failed(path: str, exc: BaseException) -> None:
    """Count the failure and warn in one line (at most once a minute): the write committed, the job waits."""
    with _enqueue_failures_lock:
        _enqueue_failures["count"] += 1
        warn = time.monotonic() - _enqueue_failures["warned_at"] > 60
        if warn:
            _enqueue_failures["warned_at"] = time.monotonic()
    if warn:
        logger.warning("Redis unreachable (%s): %s and later jobs stay pending; the sweeper enqueues them when "
                       "Redis is back", type(exc).__name__, path)


def jobs_left_pending() -> int:
    """How many jobs this process could not hand to Redis (they wait in the pending table for the sweeper)."""
    return _enqueue_failures["count"]


def jobs_left_pending_notice(*, since: int = 0) -> str:
    """One line for a management command to print when Redis was unreachable while it ran, else an empty string.

    ``since``: :func:`jobs_left_pending` when the command started.
    """
    count = jobs_left_pending() - since
    if count <= 0:
        return ""
    return (f"Redis was unreachable: {count} follow-up job{'s' if count != 1 else ''} left pending; the sweeper runs "
            "them once Redis is back.")
