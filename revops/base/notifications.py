"""Notifications: an outbox of Slack, e-mail and Teams messages, each sent at most once.

``notification_queue`` writes the outbox row (one per ``dedup_key``, however often it is asked) and schedules the
send job after commit. The send job claims the row with a conditional UPDATE so two workers never send it twice,
then posts it (Block Kit blocks when it has them, the text as the fallback) through slack-sdk's WebClient, whose base
URL comes from ``SLACK_API_URL`` and whose retry handlers wait out a 429's ``Retry-After`` and retry 5xx answers and
connection errors (``channels.slack``).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from slack_sdk.errors import SlackApiError, SlackClientError

from .automation import automation_log
from .channels.email import PERMANENT_SMTP_ERRORS, EmailTransient, email_send
from .channels.slack import slack_client
from .channels.teams import TeamsRefused, TeamsTransient, teams_post
from .choices import AutomationOutcome, Channel, NotificationStatus, Workflow
from .db.sql import (
    bulk_insert,
    history_copy_all,
    instance_compiled_once,
    row_get_or_insert_with_history,
    row_update_with_history,
    rows_update_with_history,
)
from .history_records import request_user_id
from .jobs import TransientError, batch_job, batch_steps_done, enqueue_after_commit, pipeline_job
from .models import AutomationLog, Notification

# What recording a sent message writes (its row's other columns stay as they are).
SENT_FIELDS = ["status", "sent_at", "last_error", "next_attempt_at", "slack_ts"]
# A post's outcome that ends its message for good, and the status it records.
REFUSED = {"failed": NotificationStatus.FAILED, "no_recipient": NotificationStatus.NO_RECIPIENT,
           "not_configured": NotificationStatus.NOT_CONFIGURED}
# Slack errors that mean "try again later" rather than "this message can never be delivered".
TRANSIENT_SLACK_ERRORS = {"ratelimited", "service_unavailable", "fatal_error", "internal_error", "request_timeout"}


def notification_queue(
    *,
    dedup_key: str,
    recipient: str,
    text: str,
    object_type: str = "",
    object_id: int | None = None,
    send: bool = True,
    blocks: list[dict] | dict | None = None,
    channel: str = Channel.SLACK,
    subject: str = "",
    html: str = "",
    unsubscribe_url: str = "",
) -> tuple[Notification, bool]:
    """Put one message in the outbox and schedule its sending; a second call with the same key does nothing.

    Returns the notification and whether it was created now. ``send=False``: the caller sends a batch of new
    messages with one job (``notifications_send_schedule``).
    """
    notification, created = row_get_or_insert_with_history(
        Notification, "dedup_key", dedup_key, lambda: _notification_new(
            dedup_key=dedup_key, recipient=recipient, text=text, object_type=object_type, object_id=object_id,
            blocks=blocks, channel=channel, subject=subject, html=html, unsubscribe_url=unsubscribe_url),
        reason="queued", user_id=request_user_id())
    if created and send:
        enqueue_after_commit(notification_send_job, notification.pk)
    return notification, created


def _notification_new(*, dedup_key: str, recipient: str, text: str, object_type: str = "",
                      object_id: int | None = None, send: bool = True, blocks: list[dict] | dict | None = None,
                      channel: str = Channel.SLACK, subject: str = "", html: str = "",
                      unsubscribe_url: str = "") -> Notification:
    return Notification(
        dedup_key=dedup_key, channel=channel,
        recipient=recipient or (settings.SLACK_DEFAULT_CHANNEL if channel == Channel.SLACK else ""),
        subject=subject[:200], text=text, html=html, unsubscribe_url=unsubscribe_url, blocks=blocks or [],
        object_type=object_type, object_id=object_id)


def notifications_queue_many(messages: list[dict]) -> list[tuple[int, bool]]:
    """:func:`notification_queue` for several messages (each its keyword arguments): (id, created now) for each,
    in order. The keys are read in one query and the new rows written in one insert with their history rows in one
    more (one message alone goes through :func:`notification_queue`). A key given twice is queued once; when
    another process queued one of the keys meanwhile, the messages are queued one by one."""
    if len(messages) <= 1:
        return [(notification.pk, created) for notification, created in
                (notification_queue(**message) for message in messages)]
    keys = [message["dedup_key"] for message in messages]
    known = _queued_keys(keys)
    new: dict[str, Notification] = {}
    for message in messages:
        if message["dedup_key"] not in known and message["dedup_key"] not in new:
            new[message["dedup_key"]] = _notification_new(**message)
    try:
        with transaction.atomic():  # a savepoint: a key may have been queued meanwhile
            created = bulk_insert(list(new.values()))
            if created:
                history_copy_all(Notification, [row.pk for row in created], reason="queued",
                                 now=created[0].created_at, user_id=request_user_id(), history_type="+")
    except IntegrityError:
        return [(notification.pk, was_created) for notification, was_created in
                (notification_queue(**message) for message in messages)]
    results = []
    for message in messages:
        key = message["dedup_key"]
        row = new.pop(key, None)
        if row is None:  # there already, or given twice
            results.append((known[key], False))
            continue
        known[key] = row.pk
        results.append((row.pk, True))
        if message.get("send", True):
            enqueue_after_commit(notification_send_job, row.pk)
    return results


def notifications_send_schedule(notification_ids: list[int]) -> None:
    """Send several new outbox messages with one job after commit (a bulk import's digests)."""
    if notification_ids:
        enqueue_after_commit(notifications_send_batch_job, list(notification_ids))


def _notifications_one_by_one(notification_ids: list[int], workflow: str, message: str) -> None:
    for notification_id in notification_ids:
        enqueue_after_commit(notification_send_job, notification_id)


@batch_job(workflow=Workflow.NOTIFICATIONS, object_type="notification", on_failure=_notifications_one_by_one)
def notifications_send_batch_job(notification_ids: list[int]) -> str:
    """Send a batch of outbox messages, each exactly once (kill switch: notifications). A transient Slack error
    retries the job, which finds the messages already sent claimed and sends only the others."""
    outcomes: dict[str, int] = {}
    for notification_id in notification_ids:
        outcome = notification_send(notification_id=notification_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))


def _notification_failed(pk: int, workflow: str, message: str) -> None:
    """A permanent send failure: the outbox row says so (the admin lists failed notifications)."""
    Notification.objects.filter(pk=pk).exclude(status=NotificationStatus.SENT).update(
        status=NotificationStatus.FAILED, last_error=message[:2000]
    )


def notifications_send_drained(steps: list[tuple]) -> None:
    """A drain's outbox messages: what ``notification_send`` does for each, with one claim and one write at the end.

    Steps: claim the pending ones (pending → sending) in one short transaction; post each through its channel,
    outside any transaction (the write lock never waits for Slack), each recipient's messages in order and
    different recipients' at once (``_posts``); record every sent one (row, history and log line) in one
    transaction. A message its channel refuses for good is recorded failed as one alone is. A transient
    failure puts its message back to pending, as one alone does; once the sent ones are recorded the batch raises
    TransientError and the drain runs its steps one by one: the sent and failed ones find nothing to do ("noop"),
    the others are sent again under their own retry policy. A send that breaks unexpectedly does the same after the
    sent ones are recorded and the messages not tried yet are pending again (none stays "sending")."""
    ids = [notification_id for notification_id, *_ in steps]
    with transaction.atomic():
        waiting = list(Notification.objects.select_for_update().filter(pk__in=ids, status=NotificationStatus.PENDING)
                       .order_by("pk"))
        Notification.objects.filter(pk__in=[n.pk for n in waiting]).update(status=NotificationStatus.SENDING,
                                                                           attempts=F("attempts") + 1)
    for notification in waiting:  # as the claim left the rows: read once, not again after it
        notification.status, notification.attempts = NotificationStatus.SENDING, notification.attempts + 1
    sent: list[Notification] = []
    refused: list[tuple[Notification, str, str]] = []  # refused for good: (row, status, error)
    transient: list[str] = []
    broke: BaseException | None = None
    posted = False
    try:
        for notification, post in zip(waiting, _posts(waiting), strict=True):
            if not isinstance(post, _Post):  # not tried, or its post broke unexpectedly: it waits
                broke = broke or post
                continue
            if post.outcome in REFUSED:
                refused.append((notification, REFUSED[post.outcome], post.error))
                continue
            try:
                if _delivered(notification, post) == "sent":
                    sent.append(notification)
            except TransientError as exc:
                transient.append(str(exc))
        posted = True
    finally:  # also when a send broke unexpectedly: what was sent is recorded (never sent twice), the rest waits
        with transaction.atomic():
            _record_sent_many(sent)
            _record_refused_many(refused)
            Notification.objects.filter(pk__in=[n.pk for n in waiting],
                                        status=NotificationStatus.SENDING).update(status=NotificationStatus.PENDING)
            if posted and broke is None and not transient:
                batch_steps_done()  # the drain's pending rows of these steps, in this same write
    if broke is not None:
        raise broke
    if transient:
        raise TransientError(f"{len(transient)} of {len(waiting)} messages could not be sent yet: {transient[0]}")


@pipeline_job(workflow=Workflow.NOTIFICATIONS, object_type="notification", on_failure=_notification_failed,
              batch=notifications_send_drained, batch_atomic=False)
def notification_send_job(notification_id: int) -> str:
    """Send one outbox message (kill switch: notifications); a drain sends its messages together
    (``notifications_send_drained``)."""
    return notification_send(notification_id=notification_id)


def notification_send(*, notification_id: int) -> str:
    """Send one pending notification through its channel (Slack, e-mail, Teams), exactly once.

    Steps: claim the row (pending → sending) with a conditional UPDATE, so a duplicate job finds nothing to do;
    without a recipient or a configured channel, park it; send it (each channel's client retries 429 / 5xx /
    connection errors itself); record the result. What still fails transiently puts the row back to pending and
    raises TransientError so RQ retries; any other error marks it failed.
    """
    claimed = Notification.objects.filter(pk=notification_id, status=NotificationStatus.PENDING).update(
        status=NotificationStatus.SENDING, attempts=F("attempts") + 1
    )
    if not claimed:
        return "noop"
    notification = instance_compiled_once(Notification, "pk", notification_id)
    outcome = _deliver(notification)
    if outcome != "sent":
        return outcome
    with transaction.atomic():  # the row, its history and the log line: one write
        _record_sent(notification)
    return "sent"


def _posts(notifications: list[Notification]) -> list[_Post | BaseException | None]:
    """Post a drain's messages, no database: one recipient's one after the other, in order, and different
    recipients' at once in ``LEADFLOW_SEND_THREADS`` threads (a post to Slack takes a round trip over the internet;
    one after the other, a drain of 25 messages would take seconds). For each message what posting gave; an
    unexpected error in its place (its recipient's later messages: None, not tried)."""
    results: list[_Post | BaseException | None] = [None] * len(notifications)
    by_recipient: dict[tuple[str, str], list[int]] = {}
    for index, notification in enumerate(notifications):
        by_recipient.setdefault((notification.channel, notification.recipient), []).append(index)

    def post_in_order(indexes: list[int]) -> None:
        for index in indexes:
            try:
                results[index] = _post(notifications[index])
            except Exception as exc:  # noqa: BLE001 - handed to the caller, which records what was sent first
                results[index] = exc
                return

    if len(by_recipient) > 1 and settings.LEADFLOW_SEND_THREADS > 1:
        list(_send_pool().map(post_in_order, by_recipient.values()))
    else:
        for indexes in by_recipient.values():
            post_in_order(indexes)
    return results


_pool: tuple[int, ThreadPoolExecutor] | None = None


def _send_pool() -> ThreadPoolExecutor:
    """This process's posting threads (each keeps its own connection to Slack open: ``KeptAliveWebClient``)."""
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        _pool = (os.getpid(), ThreadPoolExecutor(max_workers=settings.LEADFLOW_SEND_THREADS,
                                                 thread_name_prefix="outbox-post"))
    return _pool[1]


def _deliver(notification: Notification) -> str:
    """Send a claimed message through its channel (parked without a recipient); its outcome. A transient failure
    puts it back to pending and raises TransientError; a permanent one records it failed."""
    return _delivered(notification, _post(notification))


@dataclass(frozen=True)
class _Post:
    """What posting one message gave: ``sent`` (with Slack's ``ts`` and the moment its channel took it),
    ``transient``, ``failed``, ``no_recipient`` or ``not_configured`` (with the error to record)."""

    outcome: str
    error: str = ""
    slack_ts: str = ""
    at: datetime | None = None


def _post(notification: Notification) -> _Post:
    """Post a claimed message through its channel: the network half of a send, no database (the drain's posts run
    in threads)."""
    if not notification.recipient:
        return _Post("no_recipient", f"no {notification.get_channel_display()} recipient")
    sender = {Channel.EMAIL: _send_email, Channel.TEAMS: _send_teams}.get(notification.channel, _send_slack)
    return sender(notification)


def _delivered(notification: Notification, post: _Post) -> str:
    """Record what posting gave, the database half of a send (in the caller's thread): a sent message carries its
    ``ts`` and the moment its channel took it (recorded by the caller); a transient failure puts the row back to
    pending and raises TransientError; a permanent one records it with its status."""
    if post.outcome == "sent":
        notification.slack_ts, notification.sent_at = post.slack_ts, post.at
    elif post.outcome == "transient":
        _release(notification, post.error)
        raise TransientError(post.error)
    else:
        _finish(notification, REFUSED[post.outcome], post.error)
    return post.outcome


def _record_sent(notification: Notification) -> None:
    """A sent message: its row, its history and the log line (inside the caller's transaction); ``sent_at`` is when
    its channel took it, set by ``_delivered``."""
    notification.status = NotificationStatus.SENT
    notification.last_error = ""
    notification.next_attempt_at = None
    row_update_with_history(notification, SENT_FIELDS, user_id=request_user_id(),
                            reason=f"automation:notifications sent by {notification.channel}")
    automation_log(
        workflow=Workflow.NOTIFICATIONS,
        action="notification_send",
        outcome=AutomationOutcome.DONE,
        object_type="notification",
        object_id=notification.pk,
        detail=f"sent by {notification.channel} to {notification.recipient[:100]}",
    )


def _queued_keys(keys: list[str]) -> dict[str, int]:
    """The outbox rows of these keys that exist: key → id."""
    return dict(Notification.objects.filter(dedup_key__in=keys).values_list("dedup_key", "pk"))


def _record_sent_many(notifications: list[Notification]) -> None:
    """:func:`_record_sent` for a drain's sent messages: their rows and their history rows each by one prepared
    statement (``rows_update_with_history``), their log lines in one insert (inside the caller's transaction)."""
    if len(notifications) <= 1:
        for notification in notifications:
            _record_sent(notification)
        return
    for notification in notifications:  # ``sent_at``: when its channel took it (``_delivered``)
        notification.status = NotificationStatus.SENT
        notification.last_error, notification.next_attempt_at = "", None
    rows_update_with_history(notifications, SENT_FIELDS, user_id=request_user_id(),
                             reasons=[f"automation:notifications sent by {n.channel}" for n in notifications])
    bulk_insert([AutomationLog(workflow=Workflow.NOTIFICATIONS, action="notification_send",
                               outcome=AutomationOutcome.DONE, object_type="notification", object_id=notification.pk,
                               detail=f"sent by {notification.channel} to {notification.recipient[:100]}")
                 for notification in notifications])


def slack_failure(exc: BaseException) -> tuple[bool, str]:
    """Whether a failed Slack call is worth retrying, and what to record: a rate limit, Slack's own trouble (its
    transient errors, a 5xx) or no answer at all are; any other error Slack names is not."""
    if isinstance(exc, SlackApiError):
        error = str(exc.response.get("error", "")) if exc.response is not None else ""
        transient = error in TRANSIENT_SLACK_ERRORS or (exc.response is not None and exc.response.status_code >= 500)
        return transient, f"Slack said {error or exc}"
    return True, f"Slack unreachable: {exc}"


def _send_slack(notification: Notification) -> _Post:
    client = slack_client()
    if client is None:
        return _Post("not_configured", "SLACK_BOT_TOKEN is not set")
    try:
        response = client.chat_postMessage(channel=notification.recipient, text=notification.text,
                                           blocks=notification.blocks or None)
    except (SlackClientError, OSError) as exc:
        transient, message = slack_failure(exc)
        return _Post("transient" if transient else "failed", message)
    return _Post("sent", slack_ts=str(response.get("ts", "")), at=timezone.now())


def _send_email(notification: Notification) -> _Post:
    try:
        email_send(to=notification.recipient, subject=notification.subject, text=notification.text,
                   html=notification.html, unsubscribe_url=notification.unsubscribe_url)
    except EmailTransient as exc:
        return _Post("transient", f"mail server: {exc}")
    except PERMANENT_SMTP_ERRORS as exc:
        return _Post("failed", f"mail server refused: {exc}")
    return _Post("sent", at=timezone.now())


def _send_teams(notification: Notification) -> _Post:
    try:
        teams_post(url=notification.recipient, card=notification.blocks or {"text": notification.text})
    except TeamsTransient as exc:
        return _Post("transient", str(exc))
    except TeamsRefused as exc:
        return _Post("failed", str(exc))
    return _Post("sent", at=timezone.now())


def _record_refused_many(refused: list[tuple[Notification, str, str]]) -> None:
    """Messages refused for good (failed, no recipient, Slack not configured), a drain's or one (``_finish``): their
    status and error, the rows and history rows each by one prepared statement (inside the caller's transaction)."""
    for notification, status, error in refused:
        notification.status, notification.last_error = status, error
    rows_update_with_history([notification for notification, _, _ in refused], ["status", "last_error"],
                             reasons=[f"automation:notifications {status}" for _, status, _ in refused],
                             user_id=request_user_id())


def _finish(notification: Notification, status: str, error: str) -> None:
    """A message refused for good: its status and error with its history row (by automation, as a sent one's)."""
    _record_refused_many([(notification, status, error)])


def _release(notification: Notification, error: str) -> None:
    """Give a claimed row back to pending so the retry can claim it again."""
    intervals = settings.LEADFLOW_JOB_RETRY_INTERVALS or [0]
    wait = intervals[min(max(notification.attempts - 1, 0), len(intervals) - 1)]
    Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENDING).update(
        status=NotificationStatus.PENDING, last_error=error[:2000],
        next_attempt_at=timezone.now() + timedelta(seconds=wait),
    )


def notifications_resend_pending() -> int:
    """Schedule a send for every pending message, oldest first (after the notifications switch comes back on)."""
    ids = list(Notification.objects.filter(status=NotificationStatus.PENDING).order_by("created_at", "pk")
               .values_list("pk", flat=True))
    with transaction.atomic():
        for pk in ids:
            enqueue_after_commit(notification_send_job, pk)
    return len(ids)


def notifications_retry(*, ids: list[int]) -> int:
    """"Retry now": put failed, not-configured or recipient-less notifications back to pending and schedule every
    pending one of ``ids`` at once (a waiting retry does not wait for its interval). Returns how many were
    scheduled."""
    with transaction.atomic():
        Notification.objects.filter(
            pk__in=ids, status__in=[NotificationStatus.FAILED, NotificationStatus.NOT_CONFIGURED,
                                    NotificationStatus.NO_RECIPIENT]
        ).update(status=NotificationStatus.PENDING, last_error="", next_attempt_at=None)
        pending = list(Notification.objects.filter(pk__in=ids, status=NotificationStatus.PENDING)
                       .order_by("created_at", "pk").values_list("pk", flat=True))
        for pk in pending:
            enqueue_after_commit(notification_send_job, pk)
    return len(pending)


def notifications_sweep(*, stuck_after_minutes: int = 15) -> int:
    """Release messages stuck in 'sending' (a worker died mid-send) and schedule every pending one."""
    cutoff = timezone.now() - timedelta(minutes=stuck_after_minutes)
    Notification.objects.filter(status=NotificationStatus.SENDING, created_at__lt=cutoff).update(
        status=NotificationStatus.PENDING
    )
    return notifications_resend_pending()


def notifications_sweep_job() -> str:
    """Every ten minutes: retry what is pending (the send job itself checks the notifications switch)."""
    return f"scheduled {notifications_sweep()} pending notifications"
