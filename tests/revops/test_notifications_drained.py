"""A drain's outbox messages are sent together: one claim, each message posted once over real HTTP to the Slack
stand-in, the sent ones recorded in one write; a message Slack turns away for now is sent again on its own."""

import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from revops.base import notifications
from revops.base.choices import AutomationOutcome, NotificationStatus
from revops.base.models import AutomationLog, Notification, PendingJob
from revops.base.notifications import notification_queue
from revops.base.pending import pending_drain_job

pytestmark = pytest.mark.django_db(transaction=True)

SEND = "revops.base.notifications.notification_send_job"


def queue_messages(count: int) -> list[int]:
    with transaction.atomic():  # committed together: the drain finds them all waiting
        return [notification_queue(dedup_key=f"drained-{n}", recipient=f"U{n}", text=f"message {n}")[0].pk
                for n in range(count)]


def claims(queries) -> int:
    return sum(1 for q in queries if q["sql"].startswith('UPDATE "revops_notification" SET "status"')
               and '"attempts"' in q["sql"])


def test_a_drain_claims_its_messages_at_once_and_sends_each_once(slack):
    ids = queue_messages(5)

    with CaptureQueriesContext(connection) as captured:
        pending_drain_job(SEND, "default")

    assert claims(captured.captured_queries) == 1  # one by one: one claim per message
    records = [q["sql"] for q in captured.captured_queries if '"sent_at" = ' in q["sql"]]
    assert len(records) == 1 and records[0].startswith("5 times")  # one prepared statement for the sent ones
    assert sorted(m["text"] for m in slack.messages) == [f"message {n}" for n in range(5)]
    sent = list(Notification.objects.filter(pk__in=ids))
    assert len({notification.slack_ts for notification in sent}) == 5  # each row has its own message's ts
    for notification in sent:
        assert notification.status == NotificationStatus.SENT and notification.attempts == 1
        assert notification.sent_at is not None and notification.slack_ts
        assert notification.history.filter(history_change_reason__contains="sent by slack",
                                           history_type="~", status=NotificationStatus.SENT).count() == 1
    assert AutomationLog.objects.filter(action="notification_send", outcome=AutomationOutcome.DONE,
                                        object_id__in=ids).count() == 5
    assert not PendingJob.objects.exists()


def test_each_message_of_a_drain_is_dated_when_slack_took_it_not_when_the_batch_was_recorded(slack):
    """``sent_at`` is the moment each post returned (Slack's own ``ts`` of the message is from the same moment);
    the batch's record, written after the last post, does not move it."""
    slack.latency = 0.03  # one recipient's messages go one after the other: 30 ms apart
    with transaction.atomic():
        ids = [notification_queue(dedup_key=f"one-{n}", recipient="U1", text=f"message {n}")[0].pk for n in range(5)]

    pending_drain_job(SEND, "default")

    assert [m["text"] for m in slack.messages] == [f"message {n}" for n in range(5)]  # in order
    sent = list(Notification.objects.filter(pk__in=ids).order_by("pk"))
    assert [n.status for n in sent] == [NotificationStatus.SENT] * 5
    times = [n.sent_at.timestamp() for n in sent]
    assert all(later - earlier >= 0.025 for earlier, later in zip(times, times[1:], strict=False))
    for notification in sent:
        assert abs(notification.sent_at.timestamp() - float(notification.slack_ts)) < 0.03
        assert notification.history.get(history_type="~", status=NotificationStatus.SENT).sent_at == \
            notification.sent_at


def test_a_drain_posts_to_different_recipients_at_once_and_to_one_recipient_in_order(slack, settings):
    slack.latency = 0.2  # a slow round trip to Slack
    settings.LEADFLOW_SEND_THREADS = 8
    with transaction.atomic():
        ids = [notification_queue(dedup_key=f"r-{n}", recipient=f"U{n % 8}", text=f"{n % 8}:{n // 8}")[0].pk
               for n in range(16)]  # 8 recipients, two messages each

    started = time.monotonic()
    pending_drain_job(SEND, "default")
    took = time.monotonic() - started

    assert Notification.objects.filter(pk__in=ids, status=NotificationStatus.SENT).count() == 16
    assert took < 1.6  # two round trips and the database, not sixteen round trips (3.2 s)
    for recipient in range(8):  # each recipient's two messages arrived in the order they were queued
        assert [m["text"] for m in slack.messages if m["channel"] == f"U{recipient}"] == [f"{recipient}:0",
                                                                                        f"{recipient}:1"]
    assert AutomationLog.objects.filter(action="notification_send", object_id__in=ids).count() == 16


def test_one_thread_posts_one_after_the_other(slack, settings):
    slack.latency = 0.05
    settings.LEADFLOW_SEND_THREADS = 1
    ids = queue_messages(4)

    started = time.monotonic()
    pending_drain_job(SEND, "default")

    assert time.monotonic() - started >= 0.2
    assert Notification.objects.filter(pk__in=ids, status=NotificationStatus.SENT).count() == 4


def test_a_message_slack_turns_away_for_now_is_sent_again_on_its_own_and_the_others_once(slack):
    ids = queue_messages(4)
    slack.fail_with, slack.fail_times = "ratelimited", 1  # the first post of the batch: {"ok": false}

    pending_drain_job(SEND, "default")

    texts = [m["text"] for m in slack.messages]
    assert sorted(texts) == [f"message {n}" for n in range(4)]  # each posted once in the end
    notifications = Notification.objects.filter(pk__in=ids).order_by("pk")
    assert [n.status for n in notifications] == [NotificationStatus.SENT] * 4
    assert sorted(n.attempts for n in notifications) == [1, 1, 1, 2]  # the turned-away one was claimed twice
    assert AutomationLog.objects.filter(action="notification_send", outcome=AutomationOutcome.RETRY).exists()
    assert not PendingJob.objects.exists()


def test_a_message_refused_for_good_is_failed_and_the_rest_of_the_batch_sent(slack):
    ids = queue_messages(3)
    slack.fail_with, slack.fail_times = "channel_not_found", 1

    pending_drain_job(SEND, "default")

    statuses = sorted(Notification.objects.filter(pk__in=ids).values_list("status", flat=True))
    assert statuses == sorted([NotificationStatus.FAILED, NotificationStatus.SENT, NotificationStatus.SENT])
    failed = Notification.objects.get(pk__in=ids, status=NotificationStatus.FAILED)
    assert "channel_not_found" in failed.last_error
    assert len(slack.messages) == 2
    assert not PendingJob.objects.exists()


def test_a_send_that_breaks_unexpectedly_keeps_the_sent_ones_recorded_and_sends_the_rest_once(slack, monkeypatch):
    ids = queue_messages(4)
    real = notifications._send_slack
    broken = []

    def send(notification):
        if notification.text == "message 1" and not broken:
            broken.append(notification.pk)
            raise RuntimeError("the channel's client broke")
        return real(notification)

    monkeypatch.setattr(notifications, "_send_slack", send)
    pending_drain_job(SEND, "default")

    assert sorted(m["text"] for m in slack.messages) == [f"message {n}" for n in range(4)]  # none twice
    # The one sent before the break was recorded then (not sent again); the broken one and the one not tried yet
    # went back to pending and were sent by the one-by-one run.
    assert list(Notification.objects.filter(pk__in=ids).order_by("pk").values_list("status", flat=True)) == \
        [NotificationStatus.SENT] * 4
    assert Notification.objects.get(pk=broken[0]).attempts == 2
    assert not PendingJob.objects.exists()


def test_messages_slack_is_not_configured_for_are_recorded_together_as_one_alone_is(settings):
    """With no Slack token (a fresh install, the demo) every message of a drain is parked "not configured": the rows
    and their history rows by one prepared statement each, the same row and history as a message sent alone."""
    settings.SLACK_BOT_TOKEN = ""
    ids = queue_messages(4)

    with CaptureQueriesContext(connection) as captured:
        pending_drain_job(SEND, "default")

    records = [q["sql"] for q in captured.captured_queries
               # PostgreSQL: the update and its history rows in one statement (a data-modifying WITH)
               if q["sql"].split(": ", 1)[-1].removeprefix("WITH changed AS (").startswith(
                   'UPDATE "revops_notification" SET "status"')
               and '"last_error" = ' in q["sql"]]
    assert len(records) == 1 and records[0].startswith("4 times")  # one statement for the four, not one each
    assert not PendingJob.objects.exists()
    alone = notification_queue(dedup_key="alone", recipient="U9", text="alone")[0]
    notifications.notification_send(notification_id=alone.pk)
    rows = list(Notification.objects.filter(pk__in=[*ids, alone.pk]))
    assert {(n.status, n.last_error, n.attempts) for n in rows} == {
        (NotificationStatus.NOT_CONFIGURED, rows[0].last_error, 1)} and rows[0].last_error
    history = {n.pk: list(n.history.values_list("history_type", "history_change_reason", "status", "history_user"))
               for n in rows}
    assert len({tuple(h) for h in history.values()}) == 1  # each as the one sent alone
    assert history[alone.pk][0][:3] == ("~", "automation:notifications not_configured",
                                        NotificationStatus.NOT_CONFIGURED)
