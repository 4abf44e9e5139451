"""Garbage-collector settings for batch work.

A bulk import batch builds tens of thousands of short-lived objects (rows, model instances, explanations) while the
process holds many long-lived ones (rule sets, caches, the vocabulary). CPython's default first-generation
threshold (700 allocations) then runs a collection every few rows, and each older-generation pass walks every
long-lived object again: about a tenth of a bulk import's time on the benchmark (docs/benchmarks.md). Inside
:func:`batch_gc` the collector runs less often; cycles are still collected, and the previous thresholds come back
when the batch ends, so a worker's other jobs run with the defaults.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

BATCH_THRESHOLDS = (50_000, 20, 20)


@contextmanager
def batch_gc() -> Iterator[None]:
    """Run the block with the collector's ``BATCH_THRESHOLDS`` (never lower than the current ones)."""
    previous = gc.get_threshold()
    gc.set_threshold(*(max(new, old) for new, old in zip(BATCH_THRESHOLDS, previous, strict=True)))
    try:
        yield
    finally:
        gc.set_threshold(*previous)
