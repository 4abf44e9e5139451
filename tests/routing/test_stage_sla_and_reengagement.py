"""Time-in-stage SLAs (each level fires once per lead: rep at 1×, manager at 2×, re-route at expiry; new activity
starts the clock again; the job under its kill switch), time to first touch (re-engagement: test_reengagement.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.choices import Stage
from revops.base.choices import Workflow
from revops.base.models import AutomationLog, Notification
from revops.base.switches import workflow_switch_set
from routing.choices import Disposition
from routing.jobs import stage_slas_check_job
from routing.models import StageSla, StageSlaAlert, Task
from routing.services import stage_slas_check, task_complete
from tests.routing.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def stale_lead(reps):
    StageSla.objects.create(stage=Stage.MQL, days=7, reroute_at_expiry=True)
    lead = make_lead(owner=reps[0].user, stage=Stage.MQL)
    lead.last_interaction_at = timezone.now() - timedelta(days=8)
    lead.save()
    return lead


def test_the_rep_is_alerted_at_1x_once(stale_lead, reps):
    assert stage_slas_check()["rep_alerts"] == 1
    assert stage_slas_check()["rep_alerts"] == 0
    alert = Notification.objects.get(object_type="lead", object_id=stale_lead.pk)
    assert alert.recipient == reps[0].slack_user_id and "MQL for 8 days" in alert.text
    assert AutomationLog.objects.filter(workflow=Workflow.STAGE_SLA, object_id=stale_lead.pk).count() == 1


def test_the_manager_at_2x_and_a_reroute_at_expiry_each_once(stale_lead, reps, routing_rules):
    now = timezone.now() + timedelta(days=7)  # 15 days: 2×
    assert stage_slas_check(now=now) == {"rep_alerts": 1, "manager_alerts": 1, "rerouted": 0}
    now += timedelta(days=7)  # 22 days: 3×, expired
    assert stage_slas_check(now=now) == {"rep_alerts": 0, "manager_alerts": 0, "rerouted": 1}
    assert stage_slas_check(now=now) == {"rep_alerts": 0, "manager_alerts": 0, "rerouted": 0}
    assert sorted(StageSlaAlert.objects.values_list("level", flat=True)) == [1, 2, 3]
    decision = stale_lead.routing_decisions.first()
    assert decision is not None and "stage SLA expired" in decision.cause


def test_new_activity_starts_the_clock_again(stale_lead, reps):
    stage_slas_check()
    task = Task.objects.create(lead=stale_lead, assignee=reps[0].user, title="x", dedup_key="x",
                               due_at=timezone.now())
    task_complete(task_id=task.pk, actor=reps[0].user, disposition=Disposition.CONTACTED)
    assert stage_slas_check() == {"rep_alerts": 0, "manager_alerts": 0, "rerouted": 0}
    later = timezone.now() + timedelta(days=8)
    assert stage_slas_check(now=later)["rep_alerts"] == 1


def test_the_job_does_nothing_with_its_kill_switch_off(stale_lead, revops_admin):
    workflow_switch_set(workflow=Workflow.STAGE_SLA, enabled=False, user=revops_admin, note="test")
    assert stage_slas_check_job() == "skipped"
    assert not StageSlaAlert.objects.exists()
    workflow_switch_set(workflow=Workflow.STAGE_SLA, enabled=True, user=revops_admin, note="test")
    assert "1 rep_alerts" in stage_slas_check_job()


def test_time_to_first_touch_is_the_first_disposition(reps):
    lead = make_lead(owner=reps[0].user, assigned_at=timezone.now() - timedelta(hours=3))
    task = Task.objects.create(lead=lead, assignee=reps[0].user, title="x", dedup_key="ft", due_at=timezone.now())
    task_complete(task_id=task.pk, actor=reps[0].user, disposition=Disposition.NO_ANSWER)
    lead.refresh_from_db()
    first = lead.first_touched_at
    assert first is not None and first - lead.assigned_at >= timedelta(hours=3)
    retry = Task.objects.get(lead=lead, attempt=2)
    task_complete(task_id=retry.pk, actor=reps[0].user, disposition=Disposition.CONTACTED)
    lead.refresh_from_db()
    assert lead.first_touched_at == first and lead.last_interaction_at > first


def test_the_manager_view_lists_the_stage_sla_breaches(stale_lead, client, sales_manager):
    stage_slas_check(now=timezone.now() + timedelta(days=7))
    client.force_login(sales_manager)
    page = client.get("/workspace/manager/")
    assert [a.level for a in page.context["stage_breaches"]] == [2, 1]
    assert "2× (you were alerted)" in page.content.decode()
