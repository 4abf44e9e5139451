"""One drain job reads the kill switches and webhook subscriptions once and writes the hourly counters once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from revops.base.choices import Workflow
from revops.base.jobscope import job_scope
from revops.base.models import WebhookSubscription, WorkflowHourlyStat, WorkflowSwitch
from revops.base.switches import workflow_enabled, workflow_switch_set
from revops.base.webhooks import webhook_subscriptions_active
from revops.base.workflow_stats import workflow_run_count, workflow_run_counts_flush
from tests.queues import work

from .test_drains import form

pytestmark = pytest.mark.django_db(transaction=True)


def statements(run) -> int:
    with CaptureQueriesContext(connection) as captured:
        run()
    return len(captured.captured_queries)


def test_a_switch_is_read_once_per_job_and_every_time_outside_one():
    assert statements(lambda: [workflow_enabled(Workflow.SCORING) for _ in range(3)]) == 3
    with job_scope():
        assert statements(lambda: [workflow_enabled(Workflow.SCORING) for _ in range(3)]) == 1
        workflow_switch_set(workflow=Workflow.SCORING, enabled=False)  # flipped by this job: read again
        assert workflow_enabled(Workflow.SCORING) is False
    assert workflow_enabled(Workflow.SCORING) is False


def test_every_workflow_s_switch_is_one_read_per_job():
    workflow_switch_set(workflow=Workflow.ROUTING, enabled=False)
    workflows = [Workflow.ENRICHMENT, Workflow.SCORING, Workflow.ROUTING, Workflow.TASKS, Workflow.NOTIFICATIONS]
    with job_scope():
        with CaptureQueriesContext(connection) as captured:
            enabled = {workflow: workflow_enabled(workflow) for workflow in workflows}
        assert len(captured.captured_queries) == 1
        assert enabled == {**dict.fromkeys(workflows, True), Workflow.ROUTING: False}  # no row: on
        workflow_switch_set(workflow=Workflow.TASKS, enabled=False)  # another switch flipped by this job
        assert workflow_enabled(Workflow.TASKS) is False and workflow_enabled(Workflow.ROUTING) is False
        WorkflowSwitch.objects.filter(workflow=Workflow.ROUTING).update(enabled=True)  # flipped elsewhere
        assert workflow_enabled(Workflow.ROUTING) is False  # this job read it already
    with job_scope():  # the next job reads them again
        assert workflow_enabled(Workflow.ROUTING) is True and workflow_enabled(Workflow.TASKS) is False


def test_subscriptions_are_read_once_per_job():
    WebhookSubscription.objects.create(name="crm", url="http://127.0.0.1:9/hook", events=["lead.created"],
                                       secret="s" * 32)
    with job_scope():
        assert statements(lambda: [webhook_subscriptions_active() for _ in range(3)]) == 1
        assert [s.events for s in webhook_subscriptions_active()] == [["lead.created"]]
    assert statements(webhook_subscriptions_active) == 1


def test_counts_of_a_job_are_added_up_and_written_once_when_it_ends():
    with job_scope() as scope:
        with CaptureQueriesContext(connection) as captured:
            for _ in range(4):
                workflow_run_count(workflow=Workflow.SCORING)
            workflow_run_count(workflow=Workflow.SCORING, failures=1)
            workflow_run_count(workflow=Workflow.ROUTING, runs=3)
        assert not captured.captured_queries and not WorkflowHourlyStat.objects.exists()
        with CaptureQueriesContext(connection) as captured:
            workflow_run_counts_flush(scope.counts)
        assert len(captured.captured_queries) == 1  # one upsert for every workflow and hour
    rows = {r.workflow: (r.runs, r.failures) for r in WorkflowHourlyStat.objects.all()}
    assert rows == {Workflow.SCORING: (5, 1), Workflow.ROUTING: (3, 0)}


def test_a_drain_job_counts_every_step_of_the_pipeline(api_client, configured, slack):
    for n in range(3):
        assert api_client.post("/api/leads/", form(n, "c"), format="json").status_code == 201
    work()
    runs = {r.workflow: r.runs for r in WorkflowHourlyStat.objects.all()}
    assert runs[Workflow.ENRICHMENT] == 3 and runs[Workflow.SCORING] == 3 and runs[Workflow.ROUTING] == 3
    assert runs[Workflow.TASKS] == 3 and runs[Workflow.NOTIFICATIONS] == 3
