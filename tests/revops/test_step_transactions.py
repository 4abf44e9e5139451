"""A drained step that only touches the database runs in one transaction with the deletion of its pending row
(``pipeline_job(one_transaction=True)``): its work and the row's end commit together or not at all."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from leads.models import Lead
from revops.base import jobs as jobs_module
from revops.base.choices import AutomationOutcome, Workflow
from revops.base.jobs import TransientError, enqueue_after_commit, jobs_inline, pipeline_job
from revops.base.models import AutomationLog, PendingJob
from revops.base.pending import function_path, pending_drain_job
from tests.revops.test_drains import form

pytestmark = pytest.mark.django_db(transaction=True)

MODE = {"value": "ok"}


def _to_review(lead_id: int, workflow: str, message: str) -> None:
    Lead.objects.filter(pk=lead_id).update(queue="review", queue_reason=f"{workflow}: {message}"[:200])


@pipeline_job(workflow=Workflow.ROUTING, object_type="lead", on_failure=_to_review, one_transaction=True)
def half_written_job(lead_id: int) -> str:
    """Writes first, then fails as the test says."""
    Lead.objects.filter(pk=lead_id).update(title="half written")
    if MODE["value"] == "fail":
        raise ValueError("a rule that cannot be read")
    if MODE["value"] == "transient":
        raise TransientError("the database was busy")
    return "done"


@pytest.fixture
def lead_id(api_client, configured):
    with jobs_inline():
        return api_client.post("/api/leads/", form(1, "t"), format="json").json()["id"]


def _schedule_and_drain(lead_id: int) -> None:
    with transaction.atomic():
        enqueue_after_commit(half_written_job, lead_id)
    pending_drain_job(function_path(half_written_job), "default")


def test_a_step_and_the_end_of_its_pending_row_commit_together(lead_id, monkeypatch):
    MODE["value"] = "ok"
    inside = []
    real = jobs_module.pending_done_many
    monkeypatch.setattr(jobs_module, "pending_done_many",
                        lambda ids: inside.append((ids, connection.in_atomic_block)) or real(ids))

    _schedule_and_drain(lead_id)

    assert Lead.objects.get(pk=lead_id).title == "half written"
    assert [in_transaction for ids, in_transaction in inside if ids] == [True]
    assert not PendingJob.objects.exists()


def test_a_failing_step_leaves_no_half_write_and_goes_to_review_in_the_same_commit(lead_id):
    MODE["value"] = "fail"
    title = Lead.objects.get(pk=lead_id).title

    _schedule_and_drain(lead_id)

    lead = Lead.objects.get(pk=lead_id)
    assert lead.title == title  # the body's write was rolled back with its savepoint
    assert lead.queue == "review" and "a rule that cannot be read" in lead.queue_reason
    failed = AutomationLog.objects.filter(action="half_written", outcome=AutomationOutcome.FAILED, object_id=lead_id)
    assert failed.count() == 1
    assert not PendingJob.objects.exists()  # finished: failed to review, not left for the sweeper


def test_a_transient_failure_keeps_the_row_for_a_retry_and_logs_the_retry_once(lead_id, settings):
    MODE["value"] = "transient"
    settings.LEADFLOW_JOB_RETRY_MAX = 3
    title = Lead.objects.get(pk=lead_id).title

    _schedule_and_drain(lead_id)

    assert Lead.objects.get(pk=lead_id).title == title
    row = PendingJob.objects.get()
    assert row.claimed_by == "" and row.attempts == 1 and row.run_after is not None
    retries = AutomationLog.objects.filter(action="half_written", outcome=AutomationOutcome.RETRY)
    assert retries.count() == 1 and "the database was busy" in retries.get().detail

    MODE["value"] = "ok"
    PendingJob.objects.update(run_after=None)
    pending_drain_job(function_path(half_written_job), "default")
    assert Lead.objects.get(pk=lead_id).title == "half written"
    assert not PendingJob.objects.exists()
