"""Native thread pools (OpenMP, BLAS) pinned to one thread while the predictive model trains and scores."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from threadpoolctl import ThreadpoolController


@cache
def _thread_controller() -> ThreadpoolController:
    """Inspect the loaded native thread pools (OpenMP, BLAS) once; the scan is too slow to repeat per call."""
    return ThreadpoolController()


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run native code (HistGradientBoosting's OpenMP loops, BLAS) on one thread.

    On this app's small machines the cores are shared with web and worker processes. OpenMP threads busy-wait at
    the barrier after every tree-building step, so when one of them is descheduled the other spins: measured on
    the 2-core box while other processes were busy, fitting boosting on 16k leads took 16.3 s with two threads
    and 1.4 s with one, and scoring 100k leads 2.1 s versus 0.5 s. Two threads can at best halve the time on an
    idle machine, so a steady single thread is the better trade for both training and scoring.
    """
    with _thread_controller().limit(limits=1):
        yield
