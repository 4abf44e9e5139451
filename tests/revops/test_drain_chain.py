"""Chains: on SQLite a drain runs its claim and its database-only steps (scoring, routing, tasks) in one write
transaction (revops/base/drain_chain.py); a message batch deletes its pending rows in the write that records it.

A real burst worker on the session's Valkey, the API over Django's test client and the Slack stand-in over HTTP."""

import django_rq
import pytest
from django.db import connection, transaction

from revops.base.drain_chain import chain_transaction
from revops.base.jobs import enqueue_after_commit
from revops.base.models import PendingJob
from revops.base.notifications import notification_queue
from revops.base.pending import _drain_job, pending_drain_job
from scoring import jobs as scoring_jobs
from tests.queues import steps_in_a_fixed_order, work
from tests.revops.test_drains import outcome, post_forms

pytestmark = pytest.mark.django_db(transaction=True)


def writes_while(run) -> tuple[list[str], list[str]]:
    """``run()``'s write transactions (``BEGIN``) and its writes outside a transaction (each its own on SQLite)."""
    begins, alone = [], []

    def counted(execute, sql, params, many, context):
        if sql.startswith("BEGIN"):
            begins.append(sql)
        elif not context["connection"].in_atomic_block and sql.lstrip()[:6].upper() in {"INSERT", "UPDATE",
                                                                                      "DELETE"}:
            alone.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        run()
    return begins, alone


def test_chained_drains_give_the_same_owners_scores_tasks_and_messages_in_fewer_writes(
        api_client, configured, slack, settings):
    if connection.vendor != "sqlite":
        pytest.skip("chains are SQLite's: on PostgreSQL a worker's transaction waits for nobody")
    count = 12  # a multiple of the pool's size: the round-robin pointer ends where it started
    steps_in_a_fixed_order(settings)
    settings.LEADFLOW_DRAIN_CHAIN_MS = 0  # a transaction per step
    apart = post_forms(api_client, "a", count)
    writes_apart = writes_while(work)
    assert not PendingJob.objects.exists()

    django_rq.get_connection("default").flushdb()  # forget the first run's finished drains
    settings.LEADFLOW_DRAIN_CHAIN_MS = 60_000  # every chain runs until a network step
    chained = post_forms(api_client, "b", count)
    writes_chained = writes_while(work)

    assert not PendingJob.objects.exists()
    assert outcome(chained) == outcome(apart)
    assert len(slack.messages) == 2 * count  # each lead announced once, in both runs
    chained_n, apart_n = sum(map(len, writes_chained)), sum(map(len, writes_apart))
    assert chained_n < 0.75 * apart_n, (chained_n, apart_n)


def test_a_chain_that_rolls_back_forgets_the_follow_ups_it_collected(settings):
    if connection.vendor != "sqlite":
        pytest.skip("chains are SQLite's")

    with _drain_job() as followups:
        with pytest.raises(RuntimeError), chain_transaction(followups) as chain:
            enqueue_after_commit(scoring_jobs.lead_score_job, 1, queue="hot")
            chain.collect()  # handed on before the commit ...
            assert [row.args for row in followups.rows[("scoring.jobs.lead_score_job", "hot")]] == [[1]]
            assert not connection.run_on_commit
            raise RuntimeError("a step broke past its savepoint")
        assert not followups.rows  # ... and forgotten with the transaction
    assert not PendingJob.objects.exists()


def test_a_message_batch_deletes_its_pending_rows_in_the_write_that_records_it(slack):
    with transaction.atomic():
        for n in range(4):
            notification_queue(dedup_key=f"chain-{n}", recipient=f"U{n}", text=f"message {n}")
    assert PendingJob.objects.count() == 4

    begins, alone = writes_while(lambda: pending_drain_job("revops.base.notifications.notification_send_job",
                                                           "default"))

    assert len(slack.messages) == 4 and not PendingJob.objects.exists()
    if connection.vendor == "sqlite":
        assert len(begins) == 2  # the claim, then the record with the pending rows' deletion
        # alone: the drain's claim of its rows and the workflow's hourly counter; no deletion of its own
        assert not [sql for sql in alone if sql.startswith("DELETE")], alone
