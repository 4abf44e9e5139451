"""The Slack outbox: once per key, 'not configured' without a token, sent through slack-sdk over HTTP."""

import pytest

from revops.base.choices import NotificationStatus, Workflow
from revops.base.models import Notification
from revops.base.notifications import notification_queue, notification_send, notification_send_job
from revops.base.switches import workflow_switch_set
from tests.queues import queued, work

pytestmark = pytest.mark.django_db(transaction=True)


def test_without_a_token_the_message_stays_in_the_outbox_as_not_configured(settings, inline_jobs):
    settings.SLACK_BOT_TOKEN = ""
    notification, created = notification_queue(dedup_key="a", recipient="U1", text="hi")
    notification.refresh_from_db()
    assert created and notification.status == NotificationStatus.NOT_CONFIGURED
    assert "SLACK_BOT_TOKEN" in notification.last_error


def test_the_same_key_twice_sends_one_message(slack, inline_jobs):
    notification_queue(dedup_key="b", recipient="U1", text="hi")
    _, created = notification_queue(dedup_key="b", recipient="U1", text="hi again")
    assert created is False
    assert [m["text"] for m in slack.messages] == ["hi"]
    assert slack.messages[0]["token"] == "xoxb-test-token"


def test_a_second_send_of_a_sent_message_does_nothing(slack, inline_jobs):
    notification, _ = notification_queue(dedup_key="c", recipient="U1", text="hi")
    assert notification_send(notification_id=notification.pk) == "noop"
    assert len(slack.messages) == 1


def test_notifications_switch_off_keeps_messages_pending_until_switched_on(slack, inline_jobs):
    workflow_switch_set(workflow=Workflow.NOTIFICATIONS, enabled=False)
    notification, _ = notification_queue(dedup_key="d", recipient="U1", text="held")
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.PENDING and slack.messages == []
    workflow_switch_set(workflow=Workflow.NOTIFICATIONS, enabled=True)
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert [m["text"] for m in slack.messages] == ["held"]


def test_a_message_with_no_recipient_is_parked_not_lost(slack, settings):
    settings.SLACK_DEFAULT_CHANNEL = ""
    notification = Notification.objects.create(dedup_key="e", recipient="", text="to nobody")
    assert notification_send_job(notification.pk) == "no_recipient"
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.NO_RECIPIENT


def test_a_batch_of_messages_is_sent_by_one_job_each_message_once(slack, settings):
    """A bulk import's digests: one job sends them; a transient Slack error retries the job, which sends only the
    messages not sent yet."""

    from revops.base.notifications import notifications_send_schedule

    settings.LEADFLOW_JOB_RETRY_INTERVALS = [0]
    ids = [notification_queue(dedup_key=f"d{n}", recipient="U1", text=f"digest {n}", send=False)[0].pk
           for n in range(3)]
    assert queued() == []  # nothing sent one by one
    slack.fail_with, slack.fail_times = "ratelimited", 1  # the first post is refused once
    notifications_send_schedule(ids)
    assert [step[0] for step in queued()] == ["revops.base.notifications.notifications_send_batch_job"]
    for _ in range(20):
        work(with_scheduler=True)
        if Notification.objects.filter(status=NotificationStatus.SENT).count() == 3:
            break
    assert sorted(m["text"] for m in slack.messages) == ["digest 0", "digest 1", "digest 2"]
    assert set(Notification.objects.values_list("status", flat=True)) == {NotificationStatus.SENT}
