"""Every message about a task follows the recipient's channel choice (``Rep.notify_via``), not only a new
follow-up's: a trigger's task, a task moved with its lead, and an overdue task's escalation to the manager."""

from datetime import timedelta

import pytest
from django.utils import timezone

from revops.base.choices import Channel
from revops.base.models import Notification
from routing.models import Rep, RoutingDecision, SlaPolicy, Task
from routing.services import lead_trigger_task, tasks_escalate_overdue
from routing.services.messages import task_moved_notify
from tests.routing.factories import make_lead

pytestmark = pytest.mark.django_db


def _channels(dedup_prefix: str) -> list[tuple[str, str]]:
    return sorted(Notification.objects.filter(dedup_key__startswith=dedup_prefix)
                  .values_list("channel", "recipient"))


def test_a_trigger_task_reaches_a_rep_who_chose_email_by_email(reps):
    rita = reps[0]
    rita.notify_via = "email"
    rita.save()
    lead = make_lead(owner=rita.user, first_name="Ann", last_name="Lee")
    task = lead_trigger_task(lead_id=lead.pk, kind="hot", trigger_id=1, detail={"gained": 40, "window_hours": 24})
    assert task is not None
    [row] = Notification.objects.filter(object_type="task", object_id=task.pk)
    assert (row.channel, row.recipient) == (Channel.EMAIL, rita.user.email)
    assert row.subject == task.title and f"/workspace/leads/{lead.pk}/" in row.text and row.html


def test_a_trigger_task_goes_to_each_chosen_channel(reps):
    rita = reps[0]
    rita.notify_via = "slack_dm,email"
    rita.slack_user_id = "U0RITA"
    rita.save()
    task = lead_trigger_task(lead_id=make_lead(owner=rita.user).pk, kind="hot", trigger_id=2, detail={})
    assert _channels(f"task:{task.pk}:") == [(Channel.EMAIL, rita.user.email), (Channel.SLACK, "U0RITA")]


def test_an_escalation_reaches_a_manager_who_chose_email_by_email(reps, team, sales_manager):
    Rep.objects.create(user=sales_manager, team=team, role="manager", notify_via="email")
    SlaPolicy.objects.create(band="B", minutes=240, escalate_after_minutes=30)
    task = Task.objects.create(lead=make_lead(owner=reps[0].user, band="B"), assignee=reps[0].user, title="Call",
                               dedup_key="late", due_at=timezone.now() - timedelta(minutes=45))
    assert tasks_escalate_overdue() == 1
    [row] = Notification.objects.filter(dedup_key__startswith=f"task:{task.pk}:escalated")
    assert (row.channel, row.recipient) == (Channel.EMAIL, sales_manager.email)
    assert row.subject.startswith("Overdue by 4") and "Call" in row.subject


def test_an_escalation_falls_back_to_the_team_channel_when_the_managers_channels_do_not_work(
        reps, team, sales_manager):
    Rep.objects.create(user=sales_manager, team=team, role="manager", notify_via="slack_dm")  # no Slack id
    SlaPolicy.objects.create(band="B", minutes=240, escalate_after_minutes=30)
    task = Task.objects.create(lead=make_lead(owner=reps[0].user, band="B"), assignee=reps[0].user, title="Call",
                               dedup_key="late2", due_at=timezone.now() - timedelta(minutes=45))
    tasks_escalate_overdue()
    assert _channels(f"task:{task.pk}:escalated") == [(Channel.SLACK, team.slack_channel)]


def test_a_moved_task_reaches_the_new_owner_on_their_channels(reps):
    rita, ravi = reps[0], reps[1]
    ravi.notify_via = "email"
    ravi.save()
    lead = make_lead(owner=ravi.user)
    task = Task.objects.create(lead=lead, assignee=ravi.user, title="Call back", dedup_key="moved",
                               due_at=timezone.now() + timedelta(hours=2))
    decision = RoutingDecision.objects.create(lead=lead, owner=ravi.user, previous_owner=rita.user,
                                              summary="reassigned by hand")
    task_moved_notify(task, lead, decision, recipient="U0IGNORED")
    [row] = Notification.objects.filter(dedup_key__startswith=f"task:{task.pk}:moved:{decision.pk}")
    assert (row.channel, row.recipient) == (Channel.EMAIL, ravi.user.email)
    assert "is yours now" in row.subject
