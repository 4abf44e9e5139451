"""The outbox in the admin: channel, status, attempts, last error and next attempt with filters; "retry now"; the
daily alert of messages that failed for good to the RevOps admins."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from revops.base.choices import Channel, NotificationStatus
from revops.base.models import Notification
from revops.base.outbox_alerts import notifications_failed_alert

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_the_outbox_list_shows_channel_status_attempts_error_and_filters(client, revops_admin):
    Notification.objects.create(dedup_key="f", channel=Channel.TEAMS, recipient="https://hook.example/x",
                                text="card", status=NotificationStatus.FAILED, attempts=3,
                                last_error="Teams answered 410: gone")
    Notification.objects.create(dedup_key="s", channel=Channel.EMAIL, recipient="a@example.com", text="mail",
                                status=NotificationStatus.SENT, attempts=1)
    client.force_login(revops_admin)
    page = client.get("/admin/revops/notification/?channel__exact=teams")
    body = page.content.decode()
    assert page.status_code == 200
    assert "Teams answered 410: gone" in body and "a@example.com" not in body
    assert "Next attempt at" in body and "Microsoft Teams" in body and "retry_now" in body


def test_retry_now_sends_a_failed_message_again(client, revops_admin, slack, inline_jobs):
    failed = Notification.objects.create(dedup_key="r", recipient="U1", text="again",
                                         status=NotificationStatus.FAILED, attempts=3, last_error="boom")
    client.force_login(revops_admin)
    answer = client.post("/admin/revops/notification/", {"action": "retry_now", "_selected_action": [failed.pk]})
    assert answer.status_code == 302
    failed.refresh_from_db()
    assert failed.status == NotificationStatus.SENT and failed.attempts == 4
    assert [m["text"] for m in slack.messages] == ["again"]


def test_failed_messages_alert_the_revops_admins_once_a_day(revops_admin, locmem, inline_jobs):
    Notification.objects.create(dedup_key="x", channel=Channel.EMAIL, recipient="gone@example.com", text="t",
                                status=NotificationStatus.FAILED, attempts=1, last_error="mail server refused")
    morning = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
    assert notifications_failed_alert(now=morning) == 1
    assert notifications_failed_alert(now=morning + timedelta(hours=2)) == 0  # once a day
    [alert] = mail.outbox
    assert alert.to == [revops_admin.email] and alert.subject == "1 Leadflow messages failed"
    assert "gone@example.com" in alert.body and "mail server refused" in alert.body
    assert "/admin/revops/notification/?status__exact=failed" in alert.body
    assert notifications_failed_alert(now=morning + timedelta(days=1)) == 1


def test_no_alert_when_nothing_failed(revops_admin, locmem, inline_jobs):
    Notification.objects.create(dedup_key="ok", recipient="U1", text="t", status=NotificationStatus.SENT)
    assert notifications_failed_alert() == 0 and mail.outbox == []
