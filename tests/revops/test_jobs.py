"""The job wrapper: kill switches, retries, and failure to a review queue."""

import pytest
from django.db import OperationalError

from leads.models import Lead
from leads.services import lead_ingest
from revops.base.choices import AutomationOutcome, Workflow
from revops.base.jobs import pipeline_job
from revops.base.models import AutomationLog, WorkflowSwitch
from revops.base.switches import workflow_enabled, workflow_switch_set
from routing.jobs import lead_route_job
from scoring.jobs import lead_score_job
from scoring.models import ScoringRule

pytestmark = pytest.mark.django_db


def test_every_workflow_has_a_switch_after_migrate():
    assert set(WorkflowSwitch.objects.values_list("workflow", flat=True)) == set(Workflow.values)
    assert all(WorkflowSwitch.objects.values_list("enabled", flat=True))


def test_switching_off_is_read_by_the_next_job_and_recorded_in_history(revops_admin):
    workflow_switch_set(workflow=Workflow.SCORING, enabled=False, note="bad rule", user=revops_admin)
    assert workflow_enabled(Workflow.SCORING) is False
    record = WorkflowSwitch.objects.get(workflow=Workflow.SCORING).history.first()
    assert record.history_user == revops_admin and "bad rule" in record.history_change_reason


def test_unknown_workflow_is_refused():
    with pytest.raises(ValueError, match="unknown workflow"):
        workflow_switch_set(workflow="teleportation", enabled=False)


def test_a_skipped_job_records_the_skip_and_does_nothing(configured):
    lead = lead_ingest(data={"email": "a@b.example"}).lead
    workflow_switch_set(workflow=Workflow.SCORING, enabled=False)
    assert lead_score_job(lead.pk) == "skipped"
    lead.refresh_from_db()
    assert lead.score is None
    log = AutomationLog.objects.get(workflow=Workflow.SCORING, object_id=lead.pk)
    assert log.outcome == AutomationOutcome.SKIPPED and "kill switch" in log.detail


def test_a_broken_scoring_rule_leaves_score_null_and_sends_lead_to_review(configured):
    lead = lead_ingest(data={"email": "broken@b.example", "employees": "300"}).lead
    # A rule saved around validation (as a bad import could) must not crash the pipeline.
    ScoringRule.objects.filter(reason_code="size_50_1000").update(operator="regex", value="(unclosed")
    assert lead_score_job(lead.pk) == "failed"
    lead.refresh_from_db()
    assert lead.score is None and lead.queue == "review"
    assert "scoring failed" in lead.queue_reason and "regular expression" in lead.queue_reason
    assert AutomationLog.objects.filter(workflow=Workflow.SCORING, outcome=AutomationOutcome.FAILED).count() == 1
    # And routing refuses to touch a lead waiting in review: never a stale score, never a random rep.
    assert lead_route_job(lead.pk) == "noop"
    lead.refresh_from_db()
    assert lead.owner is None


def test_a_lead_with_no_matching_scoring_model_goes_to_review_not_to_a_rep(reps, routing_rules):
    lead = lead_ingest(data={"email": "nomodel@b.example", "country": "US"}).lead
    assert lead_score_job(lead.pk) == "failed"
    lead.refresh_from_db()
    assert lead.queue == "review" and "no active scoring model" in lead.queue_reason


calls = {"n": 0}


@pipeline_job(workflow=Workflow.ROUTING, object_type="lead")
def flaky_job(pk: int) -> str:
    calls["n"] += 1
    raise OperationalError("database is locked")


def test_a_transient_failure_outside_a_worker_is_final_and_recorded():
    calls["n"] = 0
    assert flaky_job(7) == "failed"
    assert calls["n"] == 1
    log = AutomationLog.objects.get(object_id=7)
    assert log.outcome == AutomationOutcome.FAILED and "database is locked" in log.detail


def test_lead_review_is_visible_in_the_lead_history(configured):
    lead = lead_ingest(data={"email": "hist@b.example"}).lead
    ScoringRule.objects.filter(reason_code="vp_or_above").update(operator="range", value="not-a-range")
    lead_score_job(lead.pk)
    reasons = [h.history_change_reason or "" for h in Lead.objects.get(pk=lead.pk).history.all()]
    assert any(r.startswith("automation:scoring failed") for r in reasons)
