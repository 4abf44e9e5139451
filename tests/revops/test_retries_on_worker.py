"""Retries on a real worker: a transient failure is retried per settings, then the job succeeds."""

import pytest

from revops.base.choices import AutomationOutcome, NotificationStatus
from revops.base.models import AutomationLog, Notification
from revops.base.notifications import notification_queue
from tests.queues import work

pytestmark = pytest.mark.django_db(transaction=True)


def drain() -> None:
    work(with_scheduler=True)


def test_slack_rate_limit_is_retried_and_the_message_sent_once(slack, settings):
    settings.LEADFLOW_JOB_RETRY_INTERVALS = [0]
    slack.fail_with, slack.fail_times = "ratelimited", 1
    notification_queue(dedup_key="k1", recipient="U1", text="hello")
    drain()
    for _ in range(20):  # the retry is scheduled "in 0 s": the scheduler moves it to the queue
        if Notification.objects.get(dedup_key="k1").status == NotificationStatus.SENT:
            break
        drain()
    notification = Notification.objects.get(dedup_key="k1")
    assert notification.status == NotificationStatus.SENT
    assert notification.attempts == 2
    assert [m["text"] for m in slack.messages] == ["hello"]
    assert AutomationLog.objects.filter(outcome=AutomationOutcome.RETRY).count() == 1


def test_a_permanent_slack_error_marks_the_message_failed_without_retrying(slack):
    slack.fail_with, slack.fail_times = "channel_not_found", 5
    notification_queue(dedup_key="k2", recipient="C404", text="hello")
    drain()
    notification = Notification.objects.get(dedup_key="k2")
    assert notification.status == NotificationStatus.FAILED
    assert "channel_not_found" in notification.last_error
    assert notification.attempts == 1
    assert slack.messages == []
