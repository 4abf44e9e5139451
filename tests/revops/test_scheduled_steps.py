"""A set-based batch writes the pending rows of the steps it schedules together, in its own transaction."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from revops.base import jobs
from revops.base.choices import Workflow
from revops.base.jobs import _BatchStep, enqueue_after_commit
from revops.base.models import PendingJob
from revops.base.notifications import notification_send_job
from revops.base.pending import ScheduledSteps, function_path
from scoring.jobs import lead_score_job

pytestmark = pytest.mark.django_db


def _pending_inserts(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "revops_pendingjob"')]


def _schedule(steps):
    """A batch body scheduling two lead rescores and two messages, and a third message in a savepoint that is
    rolled back."""
    for lead_id, *_ in steps:
        enqueue_after_commit(lead_score_job, lead_id, "rescore")
        enqueue_after_commit(notification_send_job, 100 + lead_id)
    try:
        with transaction.atomic():
            enqueue_after_commit(notification_send_job, 999)
            raise RuntimeError("this part of the batch is undone")
    except RuntimeError:
        pass


def test_a_batch_writes_its_scheduled_steps_one_insert_per_job_and_queue(django_capture_on_commit_callbacks):
    batch = _BatchStep(_schedule, Workflow.SCORING, "lead_score", "lead")
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks() as callbacks:
        assert batch([(1,), (2,)], "hot", [])
    assert len(_pending_inserts(queries)) == 2
    rows = {(row.function, tuple(row.args), row.queue) for row in PendingJob.objects.all()}
    assert rows == {(function_path(lead_score_job), (1, "rescore"), "hot"),
                    (function_path(lead_score_job), (2, "rescore"), "hot"),
                    (function_path(notification_send_job), (101,), "hot"),
                    (function_path(notification_send_job), (102,), "hot")}  # nothing for the undone message
    # Each step is handed on after the commit with its own row's id.
    handed_on = {(callback.args, callback.pending_id) for callback in callbacks if hasattr(callback, "pending_id")}
    assert handed_on == {(tuple(row.args), row.pk) for row in PendingJob.objects.all()}


def test_outside_a_batch_each_step_writes_its_row_at_once(django_capture_on_commit_callbacks):
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks():
        with transaction.atomic():
            enqueue_after_commit(lead_score_job, 1, "rescore")
            assert PendingJob.objects.count() == 1
            enqueue_after_commit(lead_score_job, 2, "rescore")
    assert len(_pending_inserts(queries)) == 2


def test_a_failed_batch_writes_no_row_for_what_it_scheduled(django_capture_on_commit_callbacks):
    def body(steps):
        _schedule(steps)
        raise ValueError("the batch breaks")

    batch = _BatchStep(body, Workflow.SCORING, "lead_score", "lead")
    with django_capture_on_commit_callbacks() as callbacks:
        assert not batch([(1,), (2,)], "hot", [])
    assert not PendingJob.objects.exists()
    assert not [callback for callback in callbacks if hasattr(callback, "pending_id")]


def test_a_step_committed_without_its_batchs_write_writes_its_own_row(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        token = jobs._scheduled.set(ScheduledSteps())  # a batch that never writes its steps' rows
        try:
            enqueue_after_commit(lead_score_job, 7, "rescore")
        finally:
            jobs._scheduled.reset(token)
    assert not PendingJob.objects.exists()
    [step] = [callback for callback in callbacks if hasattr(callback, "pending_id")]
    with jobs.jobs_inline():
        step()  # after the commit: its row is written then, and the step runs (here inline: lead 7 does not exist)
    assert step.pending_id is not None
