"""What one drain job reads once and writes once.

A drain job (``revops.base.pending.pending_drain_job``) runs many pipeline steps, often the whole way of a new lead
from enrichment to its Slack message. Inside it:

- the kill switches and the active webhook subscriptions are read at most once per job (``job_memo``): a switch
  flipped in the admin takes effect from the next drain job, at most ``LEADFLOW_DRAIN_SECONDS`` and one batch later;
- the hourly run counters of the workflow-health page are added up in memory and written when the job ends, one
  upsert per workflow (``job_counts``; ``revops.base.workflow_stats``).

Outside a drain job (the web, a command, a test calling a job) every read goes to the database and every count is
written at once, as before.
"""

from __future__ import annotations

import contextvars
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


class _Scope:
    def __init__(self) -> None:
        self.reads: dict[Any, Any] = {}
        self.counts: defaultdict[Any, list[int]] = defaultdict(lambda: [0, 0])  # key → [runs, failures]


_scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("leadflow_job_scope", default=None)


@contextmanager
def job_scope() -> Iterator[_Scope]:
    """One drain job's reads and counts (see the module docstring)."""
    scope = _Scope()
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def job_memo(key: Any, compute: Callable[[], T]) -> T:
    """``compute()`` once per drain job for ``key``; every time outside one."""
    scope = _scope.get()
    if scope is None:
        return compute()
    if key not in scope.reads:
        scope.reads[key] = compute()
    return scope.reads[key]


def job_scoped() -> bool:
    """Whether a drain job is running (its reads are remembered)."""
    return _scope.get() is not None


def job_memo_forget(key: Any) -> None:
    """This job changed what ``key`` reads (a switch it flipped): read it again next time."""
    scope = _scope.get()
    if scope is not None:
        scope.reads.pop(key, None)


def job_counts() -> defaultdict[Any, list[int]] | None:
    """The running drain job's counters to add to, [runs, failures] per key (None outside one: write at once)."""
    scope = _scope.get()
    return scope.counts if scope is not None else None
