"""The escalation of overdue follow-ups: past the SLA policy's escalation delay the team's manager (else the team's
channel) is alerted once per task; the job runs under the "Stale-lead alerts and escalation" kill switch."""

from datetime import timedelta

import pytest
from django.utils import timezone

from revops.base.choices import Workflow
from revops.base.models import Notification
from revops.base.switches import workflow_switch_set
from routing.choices import Disposition
from routing.jobs import tasks_escalate_overdue_job
from routing.models import Rep, SlaPolicy, Task
from routing.services import task_complete, tasks_escalate_overdue
from tests.routing.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def overdue(reps):
    """Rita's task on a band-B lead, due 45 minutes ago; band B escalates 30 minutes after the due time."""
    SlaPolicy.objects.create(band="B", minutes=240, escalate_after_minutes=30)
    lead = make_lead(owner=reps[0].user, band="B")
    return Task.objects.create(lead=lead, assignee=reps[0].user, title="Call", dedup_key="overdue",
                               due_at=timezone.now() - timedelta(minutes=45))


def test_an_overdue_task_is_escalated_to_the_team_channel_once(overdue):
    assert tasks_escalate_overdue() == 1
    assert tasks_escalate_overdue() == 0

    alert = Notification.objects.get(dedup_key=f"task:{overdue.pk}:escalated")
    assert alert.recipient == "#mid-market"  # the manager has no Slack id: the team's channel
    assert "Overdue by 4" in alert.text and "Rita" in alert.text
    overdue.refresh_from_db()
    assert overdue.escalated_at is not None


def test_the_manager_is_alerted_in_person_when_they_have_a_slack_id(overdue, team, sales_manager):
    Rep.objects.create(user=sales_manager, team=team, role="manager", slack_user_id="U0MAX")
    tasks_escalate_overdue()
    assert Notification.objects.get(dedup_key=f"task:{overdue.pk}:escalated").recipient == "U0MAX"


def test_a_task_within_its_escalation_delay_or_done_is_not_escalated(overdue, reps):
    recent = Task.objects.create(lead=overdue.lead, assignee=reps[0].user, title="Call", dedup_key="recent",
                                 due_at=timezone.now() - timedelta(minutes=10))
    task_complete(task_id=overdue.pk, actor=reps[0].user, disposition=Disposition.CONTACTED)

    assert tasks_escalate_overdue() == 0
    assert tasks_escalate_overdue(now=timezone.now() + timedelta(minutes=25)) == 1  # recent's delay has passed
    assert Notification.objects.filter(dedup_key=f"task:{recent.pk}:escalated").exists()


def test_the_escalation_job_does_nothing_with_its_kill_switch_off(overdue, revops_admin):
    workflow_switch_set(workflow=Workflow.STALE_ALERTS, enabled=False, user=revops_admin, note="test")
    assert tasks_escalate_overdue_job() == "skipped"
    overdue.refresh_from_db()
    assert overdue.escalated_at is None and not Notification.objects.exists()

    workflow_switch_set(workflow=Workflow.STALE_ALERTS, enabled=True, user=revops_admin, note="test")
    assert tasks_escalate_overdue_job() == "escalated 1 overdue tasks"
