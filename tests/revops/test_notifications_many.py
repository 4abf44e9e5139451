"""Several outbox messages queued at once (a drained batch's follow-up tasks): what queueing each alone gives."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from revops.base import notifications
from revops.base.choices import Channel, NotificationStatus
from revops.base.models import Notification, PendingJob
from revops.base.notifications import notification_queue, notifications_queue_many

pytestmark = pytest.mark.django_db

SEND = "revops.base.notifications.notification_send_job"


def _messages():
    return [dict(dedup_key="m:1", recipient="U1", text="one", object_type="task", object_id=1),
            dict(dedup_key="m:old", recipient="U2", text="was queued before"),
            dict(dedup_key="m:2", recipient="", text="two", send=False, blocks=[{"type": "section"}]),
            dict(dedup_key="m:1", recipient="U1", text="one again"),
            dict(dedup_key="m:3", recipient="ops@example.com", text="three", channel=Channel.EMAIL,
                 subject="S" * 300, html="<p>three</p>")]


def test_messages_queued_together_are_what_each_queued_alone_gives(settings):
    settings.SLACK_DEFAULT_CHANNEL = "#leads"
    old, _ = notification_queue(dedup_key="m:old", recipient="U2", text="was queued before")
    PendingJob.objects.all().delete()

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        queued = notifications_queue_many(_messages())

    rows = {row.dedup_key: row for row in Notification.objects.all()}
    assert queued == [(rows["m:1"].pk, True), (old.pk, False), (rows["m:2"].pk, True), (rows["m:1"].pk, False),
                      (rows["m:3"].pk, True)]
    assert (rows["m:1"].text, rows["m:1"].object_type, rows["m:1"].object_id) == ("one", "task", 1)
    assert rows["m:2"].recipient == "#leads" and rows["m:2"].blocks == [{"type": "section"}]
    assert (rows["m:3"].channel, rows["m:3"].subject, rows["m:3"].html) == (Channel.EMAIL, "S" * 200, "<p>three</p>")
    for key in ("m:1", "m:2", "m:3"):
        assert rows[key].status == NotificationStatus.PENDING
        assert [(h.history_type, h.history_change_reason) for h in rows[key].history.all()] == [("+", "queued")]
    # A send is scheduled for each new message that asked for one (m:2 is sent by its caller's batch).
    assert sorted(row.args for row in PendingJob.objects.filter(function=SEND)) == [[rows["m:1"].pk],
                                                                                   [rows["m:3"].pk]]
    inserts = [q["sql"].split(" (")[0] for q in queries.captured_queries if q["sql"].startswith("INSERT INTO")]
    # the rows in one insert, their history rows in one more (and the two send steps' pending rows)
    assert inserts.count('INSERT INTO "revops_notification"') == 1
    assert inserts.count('INSERT INTO "revops_historicalnotification"') == 1


def test_a_key_queued_meanwhile_by_another_process_is_not_queued_twice(monkeypatch):
    meanwhile, _ = notification_queue(dedup_key="m:3", recipient="U9", text="queued meanwhile", send=False)
    monkeypatch.setattr(notifications, "_queued_keys", lambda keys: {})  # committed after the batch read the keys

    with transaction.atomic():
        queued = notifications_queue_many(_messages()[:1] + _messages()[4:])

    assert Notification.objects.get(dedup_key="m:3").text == "queued meanwhile"
    assert queued == [(Notification.objects.get(dedup_key="m:1").pk, True), (meanwhile.pk, False)]
    assert Notification.objects.count() == 2
