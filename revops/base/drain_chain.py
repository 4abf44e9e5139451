"""On SQLite, a drain's database-only steps one after the other in one write transaction: a chain.

A drain runs a lead's way as steps: scoring, then routing, then the follow-up task, then its message. Each step
that only reads and writes the database (``pipeline_job(one_transaction=True)``) had a write transaction of its
own, and on SQLite a worker's every ``BEGIN`` first lets the web's writes go (``revops.base.db.webfirst``): under a
steady stream of forms that wait was most of a drain's time, once per step. A chain runs those steps in one
transaction instead, each in a savepoint as before (a failing batch still rolls back alone and goes one by one):
one wait for the write lock, not three.

The steps a chained step schedules are written claimed by the drain job, as always (``pending_record``); their
after-commit callbacks would hand them on only at the chain's commit, so :meth:`Chain.collect` takes the drained
ones out of the transaction's callbacks after each batch and adds them to the job's follow-ups at once: the next
chained step runs inside the same transaction. If the transaction rolls back, those follow-ups are forgotten with
it (their rows never existed). Everything else a step registered for after the commit (jobs queued in RQ, webhooks)
runs at the commit, as before.

A chain commits when the next step talks to Slack, a mail server or a provider (the write lock never waits for a
network answer), when the drain's deadline has passed or hotter work waits, and when it has held the write lock
``LEADFLOW_DRAIN_CHAIN_MS`` (the web's requests wait for it: a short chain keeps the API's answers short). Only on
SQLite: on PostgreSQL a worker's transaction waits for nobody, and short transactions keep its row locks short."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction
from rq.utils import import_attribute


def chain_allows(function: str) -> bool:
    """Whether a step of ``function`` may run in a chain: SQLite, chains switched on, and a step that only touches
    the database."""
    if connection.vendor != "sqlite" or settings.LEADFLOW_DRAIN_CHAIN_MS <= 0:
        return False
    return getattr(import_attribute(function), "leadflow_one_transaction", False)


def chain_may_begin(function: str) -> bool:
    """Whether a chain may begin with a step of ``function``: one it allows, outside any transaction (a drain run
    inside someone else's transaction keeps a savepoint per step, as before)."""
    return not connection.in_atomic_block and chain_allows(function)


class Chain:
    """One chain's transaction: when it began, and the follow-ups it collected (forgotten if it rolls back)."""

    def __init__(self, followups) -> None:
        self.followups = followups
        self.collected: set[int] = set()
        self.began = time.monotonic()

    def open(self) -> bool:
        """Whether another batch may join this transaction (it has not held the write lock for long yet)."""
        return (time.monotonic() - self.began) * 1000 < settings.LEADFLOW_DRAIN_CHAIN_MS

    def collect(self) -> None:
        """Hand the drained steps the chain's steps scheduled on to the job's follow-ups now, not at the commit."""
        kept = []
        for entry in connection.run_on_commit:
            step = entry[1]
            if getattr(step, "drained", False) and getattr(step, "pending_id", None) is not None:
                self.followups.add_step(step.function, step.queue, step.pending_id, step.args)
                self.collected.add(step.pending_id)
            else:
                kept.append(entry)
        connection.run_on_commit[:] = kept


@contextmanager
def chain_transaction(followups) -> Iterator[Chain]:
    """One write transaction for the chained steps run inside it (see the module docstring)."""
    chain = Chain(followups)
    try:
        with transaction.atomic():
            yield chain
    except BaseException:
        followups.discard(chain.collected)  # their rows rolled back with the transaction
        raise
