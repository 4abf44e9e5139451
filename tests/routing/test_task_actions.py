"""Task actions with an explicit actor: every disposition's effect on the task and the lead, no-answer retries up
to the limit, snooze presets and its limit, accept, reject and the reassignment request, and who may act."""

from datetime import time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from leads.choices import Outcome, Stage
from revops.base.models import Notification
from routing.choices import Disposition, TaskStatus
from routing.models import DisqualifyReason, Task
from routing.priority import task_priority
from routing.services import (
    TaskActionRefused,
    disqualify_reasons,
    disqualify_reasons_defaults_ensure,
    leads_reassign,
    task_accept,
    task_complete,
    task_notify,
    task_reassign_request,
    task_reject,
    task_snooze,
)
from tests.routing.factories import make_lead

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def rita_task(reps):
    disqualify_reasons_defaults_ensure()
    rita = reps[0]
    rita.time_zone, rita.country = "Europe/Berlin", "DE"
    rita.working_hours_start, rita.working_hours_end = time(9), time(17)
    rita.save()
    lead = make_lead(owner=rita.user, stage=Stage.MQL)
    return Task.objects.create(lead=lead, assignee=rita.user, title="Follow up Ann", dedup_key=f"fu:{lead.pk}",
                               due_at=timezone.now() + timedelta(hours=2))


def test_contacted_closes_the_task_and_records_the_interaction(rita_task, reps):
    result = task_complete(task_id=rita_task.pk, actor=reps[0].user, disposition=Disposition.CONTACTED, note="ok")
    lead = result.task.lead
    lead.refresh_from_db()
    assert result.task.status == TaskStatus.DONE and result.task.disposition == Disposition.CONTACTED
    assert lead.last_interaction_at is not None and lead.stage == Stage.MQL
    assert result.task.history.first().history_change_reason == "completed: Contacted: ok"
    assert result.task.history.first().history_user == reps[0].user


def test_meeting_booked_makes_the_lead_sql(rita_task, reps):
    task_complete(task_id=rita_task.pk, actor=reps[0].user, disposition=Disposition.MEETING_BOOKED)
    rita_task.lead.refresh_from_db()
    assert rita_task.lead.stage == Stage.SQL and rita_task.lead.last_interaction_at


def test_disqualified_needs_a_reason_from_the_list_and_closes_the_lead(rita_task, reps):
    with pytest.raises(ValidationError, match="reason"):
        task_complete(task_id=rita_task.pk, actor=reps[0].user, disposition=Disposition.DISQUALIFIED, reason="meh")
    rita_task.refresh_from_db()
    assert rita_task.status == TaskStatus.OPEN  # nothing half-written
    other = Task.objects.create(lead=rita_task.lead, assignee=reps[0].user, title="x", dedup_key="other",
                                due_at=timezone.now())
    task_complete(task_id=rita_task.pk, actor=reps[0].user, disposition=Disposition.DISQUALIFIED, reason="No budget")
    rita_task.refresh_from_db()
    rita_task.lead.refresh_from_db()
    other.refresh_from_db()
    assert rita_task.status == TaskStatus.DONE and rita_task.disposition_reason == "No budget"
    assert rita_task.lead.stage == Stage.DISQUALIFIED
    assert other.status == TaskStatus.CANCELLED and "No budget" in other.outcome_note


def test_converted_makes_an_opportunity_with_the_deal_value(rita_task, reps):
    task_complete(task_id=rita_task.pk, actor=reps[0].user, disposition=Disposition.CONVERTED,
                  deal_value=Decimal("12000"))
    rita_task.lead.refresh_from_db()
    assert (rita_task.lead.stage, rita_task.lead.outcome) == (Stage.OPPORTUNITY, Outcome.OPEN)
    assert rita_task.lead.deal_value == Decimal("12000")


def test_no_answer_retries_a_working_day_later_at_most_n_times(rita_task, reps, settings):
    settings.LEADFLOW_NO_ANSWER_RETRIES = 2
    friday = timezone.datetime(2026, 11, 27, 15, 0, tzinfo=BERLIN)
    first = task_complete(task_id=rita_task.pk, actor=reps[0].user, disposition=Disposition.NO_ANSWER, now=friday)
    assert first.retry.attempt == 2
    assert first.retry.due_at.astimezone(BERLIN) == timezone.datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
    second = task_complete(task_id=first.retry.pk, actor=reps[0].user, disposition=Disposition.NO_ANSWER, now=friday)
    assert second.retry.attempt == 3 and second.retry.title == rita_task.title
    third = task_complete(task_id=second.retry.pk, actor=reps[0].user, disposition=Disposition.NO_ANSWER, now=friday)
    assert third.retry is None
    assert Task.objects.filter(lead=rita_task.lead).count() == 3


def test_a_rep_cannot_act_on_another_reps_task_but_the_manager_can(rita_task, reps, sales_manager):
    ravi = reps[1].user
    for call in (lambda: task_complete(task_id=rita_task.pk, actor=ravi),
                 lambda: task_snooze(task_id=rita_task.pk, actor=ravi, preset="1h"),
                 lambda: task_accept(task_id=rita_task.pk, actor=ravi),
                 lambda: task_reassign_request(task_id=rita_task.pk, actor=ravi, reason="mine")):
        with pytest.raises(TaskActionRefused):
            call()
    assert task_snooze(task_id=rita_task.pk, actor=sales_manager, preset="1h").snooze_count == 1


def test_snooze_presets_and_the_limit(rita_task, reps, settings):
    settings.LEADFLOW_SNOOZE_LIMIT = 2
    friday = timezone.datetime(2026, 11, 27, 15, 0, tzinfo=BERLIN)
    task = task_snooze(task_id=rita_task.pk, actor=reps[0].user, preset="tomorrow", now=friday)
    assert task.due_at.astimezone(BERLIN) == timezone.datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
    task = task_snooze(task_id=rita_task.pk, actor=reps[0].user, preset="1h", now=friday)
    assert task.due_at == friday + timedelta(hours=1) and task.snooze_count == 2
    with pytest.raises(ValidationError, match="manager"):
        task_snooze(task_id=rita_task.pk, actor=reps[0].user, minutes=30, now=friday)


def test_snooze_refuses_a_time_in_the_past(rita_task, reps):
    with pytest.raises(ValidationError, match="future"):
        task_snooze(task_id=rita_task.pk, actor=reps[0].user, until=timezone.now() - timedelta(hours=1))


def test_accept_reject_and_reassign_request_reach_the_manager(rita_task, reps):
    assert task_accept(task_id=rita_task.pk, actor=reps[0].user).accepted_at is not None
    with pytest.raises(ValidationError, match="reason"):
        task_reassign_request(task_id=rita_task.pk, actor=reps[0].user, reason=" ")
    task = task_reject(task_id=rita_task.pk, actor=reps[0].user, reason="wrong territory")
    assert task.reassign_requested_at and task.reassign_reason == "wrong territory"
    assert task.history.first().history_change_reason == "rejected: wrong territory"
    leads_reassign(lead_ids=[task.lead_id], rep_id=reps[1].pk, reason="as asked", user=None)
    task.refresh_from_db()
    assert task.assignee_id == reps[1].user_id and task.reassign_requested_at is None


def test_priority_puts_overdue_hot_leads_first():
    now = timezone.now()
    overdue_b = task_priority(score=50, band="B", due_at=now - timedelta(minutes=1), now=now)
    fresh_a = task_priority(score=80, band="A", due_at=now + timedelta(hours=5), now=now)
    soon_d = task_priority(score=10, band="D", due_at=now + timedelta(minutes=30), now=now)
    assert overdue_b > fresh_a > soon_d


def test_the_slack_message_gives_the_due_time_in_the_reps_zone_and_the_priority(rita_task, reps):
    rita_task.due_at = timezone.datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
    notification_id = task_notify(rita_task, rita_task.lead, reps[0], send=False)
    text = Notification.objects.get(pk=notification_id).text
    assert "Follow up by Mon 09:00 CET" in text and "Priority " in text


def test_the_default_disqualification_reasons_are_created_once():
    DisqualifyReason.objects.all().delete()
    assert disqualify_reasons_defaults_ensure() == 7
    assert disqualify_reasons_defaults_ensure() == 0
    assert disqualify_reasons()[0] == "No budget"
