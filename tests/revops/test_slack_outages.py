"""Slack rate limits and outages over real HTTP: a 429 waits for Retry-After, 5xx answers and timeouts are retried,
and each outbox message is still posted exactly once; the task message is Block Kit with the three buttons."""

import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from leads.choices import Stage
from revops.base.choices import NotificationStatus
from revops.base.models import Notification
from revops.base.notifications import notification_queue, notification_send, notifications_sweep
from routing.models import RoutingDecision, Task
from routing.services import task_notify
from routing.services.slack_cards import routing_rule_label
from tests.routing.factories import make_lead

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_429_with_retry_after_is_waited_out_then_the_message_is_sent_once(slack, inline_jobs):
    slack.http_failures = [("429", 2)]
    started = time.monotonic()
    notification, _ = notification_queue(dedup_key="rl", recipient="U1", text="after the wait")
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT and notification.attempts == 1
    assert [m["text"] for m in slack.messages] == ["after the wait"]
    assert slack.messages[0]["at"] - started >= 2  # posted only after Retry-After
    assert slack.requests_seen == 2


def test_three_500s_then_200_send_one_message(slack, inline_jobs):
    slack.http_failures = [("500",), ("500",), ("500",)]
    notification, _ = notification_queue(dedup_key="5xx", recipient="U1", text="through the outage")
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT and notification.attempts == 1
    assert [m["text"] for m in slack.messages] == ["through the outage"]
    assert slack.requests_seen == 4


def test_a_timeout_is_retried_and_the_message_sent_once(slack, settings, inline_jobs):
    settings.SLACK_TIMEOUT = 1
    slack.http_failures = [("timeout", 2)]
    notification, _ = notification_queue(dedup_key="slow", recipient="U1", text="after a timeout")
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert [m["text"] for m in slack.messages] == ["after a timeout"]


def test_when_the_retries_are_spent_the_message_goes_back_to_the_outbox_not_lost(slack, settings):
    settings.SLACK_MAX_RETRIES = 1
    slack.http_failures = [("500",), ("500",)]
    notification = Notification.objects.create(dedup_key="down", recipient="U1", text="later")
    with pytest.raises(Exception, match="Slack"):
        notification_send(notification_id=notification.pk)
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.PENDING and slack.messages == []
    assert notification_send(notification_id=notification.pk) == "sent"
    assert len(slack.messages) == 1


def test_the_outbox_claims_each_message_once(slack):
    notification = Notification.objects.create(dedup_key="once", recipient="U1", text="once")
    outcomes = [notification_send(notification_id=notification.pk) for _ in range(3)]
    assert outcomes == ["sent", "noop", "noop"] and len(slack.messages) == 1


def test_a_worker_killed_between_claim_and_send_sends_the_message_once_after_restart(slack, inline_jobs):
    notification = Notification.objects.create(dedup_key="killed", recipient="U1", text="survivor",
                                               status=NotificationStatus.SENDING, attempts=1)
    Notification.objects.filter(pk=notification.pk).update(created_at=timezone.now() - timedelta(minutes=20))
    notifications_sweep()
    notifications_sweep()
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert [m["text"] for m in slack.messages] == ["survivor"]


def test_the_task_message_is_block_kit_with_the_three_buttons_and_the_due_time_in_the_reps_zone(
        slack, inline_jobs, reps):
    rita = reps[0]
    rita.time_zone = "America/New_York"
    rita.save()
    lead = make_lead(owner=rita.user, stage=Stage.MQL, first_name="Ann", last_name="Lee", company="Acme <Corp>",
                     title="VP Sales", score=72, band="A",
                     score_reasons=[{"label": "Requested a demo", "points": 30},
                                    {"label": "VP or above", "points": 15}])
    due = timezone.now().replace(microsecond=0) + timedelta(hours=3)
    task = Task.objects.create(lead=lead, assignee=rita.user, title="Follow up", dedup_key="fu", due_at=due)
    task_notify(task, lead, rita)
    [message] = slack.messages
    assert message["channel"] == "U0RITA" and message["text"].startswith("New lead for you: Ann Lee")
    blocks = message["blocks"]
    flat = str(blocks)
    assert "Acme &lt;Corp&gt;" in flat and "VP Sales" in flat and "72 (band A)" in flat
    assert "Requested a demo (+30)" in flat
    local = due.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M %Z")
    assert local in flat  # the due time in the rep's own zone
    assert f"/workspace/leads/{lead.pk}/" in flat
    [actions] = [block for block in blocks if block["type"] == "actions"]
    assert [(e["action_id"], e["value"], e["text"]["text"]) for e in actions["elements"]] == [
        ("task_accept", str(task.pk), "Accept"), ("task_snooze", str(task.pk), "Snooze 1 h"),
        ("task_reject", str(task.pk), "Reject")]
    assert Notification.objects.get(dedup_key=f"task:{task.pk}:assigned").blocks == blocks


def test_the_task_message_names_the_rule_that_routed_the_lead_else_the_decisions_summary(
        slack, inline_jobs, reps, routing_rules):
    rita = reps[0]
    lead = make_lead(owner=rita.user, first_name="Bo", last_name="Ray")
    by_rule = RoutingDecision.objects.create(lead=lead, rule=routing_rules[0], rep=rita, summary="matched",
                                             explanation={"candidates": ["x"] * 500})
    by_hand = RoutingDecision.objects.create(lead=lead, rep=rita, summary="moved by a manager")
    tasks = [Task.objects.create(lead=lead, assignee=rita.user, title="Follow up", dedup_key=f"r{n}",
                                 due_at=timezone.now() + timedelta(hours=1), decision=decision)
             for n, decision in enumerate([by_rule, by_hand, None])]

    assert [routing_rule_label(task) for task in tasks] == [f"rule {routing_rules[0].name}", "moved by a manager", ""]
    task_notify(tasks[0], lead, rita)
    assert f"*Routed by:* rule {routing_rules[0].name}" in str(slack.messages[-1]["blocks"])
