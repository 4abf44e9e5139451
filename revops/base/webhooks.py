"""Outbound webhooks: an event becomes one signed delivery per subscription, sent at least once, retried for a day.

- ``webhook_event_emit`` (called by the top layer's receivers, inside the transaction of the change) writes one
  ``WebhookDelivery`` per active subscription that wants the event, with a stable event id and the exact JSON body,
  and schedules its send after commit (a pending job: durable even when Redis is down).
- ``webhook_delivery_send`` claims the delivery (pending → sending, a conditional UPDATE), POSTs the body signed with
  the subscription's secret (``X-Leadflow-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``) with short
  timeouts and no redirects, and records the answer. A 2xx is delivered; anything else waits for its next attempt
  (exponential backoff with jitter, ``LEADFLOW_WEBHOOK_RETRY_*``) until ``retry_until`` (a day), then fails.
- ``webhook_deliveries_due`` (RQ cron, every minute) schedules the deliveries whose next attempt is due and frees
  those stuck in "sending" (a worker died mid-send).
- A subscription failing for ``LEADFLOW_WEBHOOK_DISABLE_AFTER`` seconds without one success is switched off and the
  RevOps admins get an e-mail (once per disabling).
Kill switch: "Outbound webhooks" (``Workflow.WEBHOOKS``); while off, deliveries wait and resume when it is on again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
import uuid
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from .automation import automation_log
from .choices import AutomationOutcome, Channel, WebhookDeliveryStatus, Workflow
from .db.sql import model_attnames, rows_compiled_once
from .jobs import enqueue_after_commit, periodic_job, pipeline_job
from .jobscope import job_memo
from .notifications import notification_queue
from .public_http import public_session
from .roles import ROLE_REVOPS_ADMIN
from .webhook_models import WebhookDelivery, WebhookSubscription, webhook_url_problem

SIGNATURE_HEADER = "X-Leadflow-Signature"
EVENT_ID_HEADER = "X-Leadflow-Event-Id"
EVENT_TYPE_HEADER = "X-Leadflow-Event"
STUCK_AFTER = timedelta(minutes=15)
QUEUE = "default"
Status = WebhookDeliveryStatus


def webhook_signature(*, secret: str, timestamp: int, body: str) -> str:
    """The signature header's value: ``t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_backoff_seconds(attempts: int) -> float:
    """How long to wait after the ``attempts``-th failed attempt: doubling from ``LEADFLOW_WEBHOOK_RETRY_BASE``,
    capped at ``LEADFLOW_WEBHOOK_RETRY_MAX_DELAY``, with ±25 % jitter so many receivers' retries do not line up."""
    base = float(settings.LEADFLOW_WEBHOOK_RETRY_BASE)
    delay = min(base * 2 ** max(attempts - 1, 0), float(settings.LEADFLOW_WEBHOOK_RETRY_MAX_DELAY))
    return delay * random.uniform(0.75, 1.25)  # nosec B311 - spreading retries, not a secret


def webhook_event_emit(*, event_type: str, data: dict, occurred_at: datetime | None = None) -> list[int]:
    """Record one event for every active subscription that wants it and schedule the sends after commit.

    Call inside the transaction of the change the event announces: the deliveries commit (or roll back) with it.
    Returns the delivery ids (none without a subscription: one indexed query).
    """
    return webhook_events_emit(event_type=event_type, items=[data], occurred_at=occurred_at)


def webhook_events_emit(*, event_type: str, items: list[dict], occurred_at: datetime | None = None) -> list[int]:
    """Like :func:`webhook_event_emit` for several events of one type (a batch), with one subscription query."""
    if not items:
        return []
    subscriptions = [s for s in webhook_subscriptions_active() if s.wants(event_type)]
    if not subscriptions:
        return []
    now = occurred_at or timezone.now()
    window = timedelta(seconds=settings.LEADFLOW_WEBHOOK_RETRY_FOR)
    deliveries = []
    for data in items:
        event_id = uuid.uuid4()
        body = json.dumps({"id": str(event_id), "type": event_type, "created_at": now.isoformat(), "data": data},
                          sort_keys=True, separators=(",", ":"), default=str)
        deliveries += [WebhookDelivery(subscription=s, event_id=event_id, event_type=event_type, body=body,
                                       retry_until=now + window) for s in subscriptions]
    ids = []
    for delivery in deliveries:  # saved one by one: primary keys on every database, and few subscriptions
        delivery.save()
        ids.append(delivery.pk)
        enqueue_after_commit(webhook_delivery_send_job, delivery.pk, queue=QUEUE)
    return ids


def webhook_subscriptions_active() -> list[WebhookSubscription]:
    """The active subscriptions (one query; once per drain job, ``revops.base.jobscope``)."""
    return job_memo("webhook_subscriptions_active", _subscriptions_active)


def _subscriptions_active() -> list[WebhookSubscription]:
    # Compiled once: outside a drain job (a web request), every new lead and event asks. All rows (an account has a
    # handful), the active ones kept here: a condition on a boolean compiles to no parameter on some databases.
    rows = rows_compiled_once("webhook subscriptions", lambda: WebhookSubscription.objects.all(), [])
    columns = model_attnames(WebhookSubscription)
    subscriptions = [WebhookSubscription.from_db(connection.alias, columns, row) for row in rows]
    return [subscription for subscription in subscriptions if subscription.active]



@pipeline_job(workflow=Workflow.WEBHOOKS, object_type="webhook_delivery")
def webhook_delivery_send_job(delivery_id: int) -> str:
    """Send one webhook delivery (kill switch: outbound webhooks)."""
    return webhook_delivery_send(delivery_id=delivery_id)


def webhook_delivery_send(*, delivery_id: int, now: datetime | None = None) -> str:
    """One attempt of one delivery; returns ``delivered``, ``retrying``, ``failed``, ``cancelled`` or ``noop``.

    Steps: claim it (pending → sending, attempts + 1; a second job finds nothing); a subscription switched off
    cancels it; POST the body, signed now, with short timeouts and no redirects; record code and time; on a 2xx mark
    it delivered and the subscription healthy; otherwise schedule the next attempt with backoff, or fail it when
    its day is over, and switch the subscription off when it has failed for a day without one success.
    """
    now = now or timezone.now()
    # While it is sending, next_attempt_at says when it counts as stuck (a worker died mid-send).
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, status=Status.PENDING).update(
        status=Status.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + STUCK_AFTER)
    if not claimed:
        return "noop"
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    subscription = delivery.subscription
    if not subscription.active:
        _finish(delivery, Status.CANCELLED, error="the subscription is switched off")
        return "cancelled"
    code, elapsed_ms, error = _post(delivery, subscription)
    delivery.response_code, delivery.response_ms = code, elapsed_ms
    if code is not None and 200 <= code < 300:
        delivery.delivered_at = now
        _finish(delivery, Status.DELIVERED, error="")
        WebhookSubscription.objects.filter(pk=subscription.pk).update(failing_since=None, last_success_at=now)
        return "delivered"
    error = error or f"the receiver answered {code}"
    if now >= delivery.retry_until:
        _finish(delivery, Status.FAILED, error=error)
        outcome = "failed"
    else:
        delivery.next_attempt_at = now + timedelta(seconds=webhook_backoff_seconds(delivery.attempts))
        _finish(delivery, Status.PENDING, error=error)
        outcome = "retrying"
    _subscription_failed(subscription.pk, now=now, error=error)
    return outcome


def _post(delivery: WebhookDelivery, subscription: WebhookSubscription) -> tuple[int | None, int | None, str]:
    """POST the delivery; (response code or None, milliseconds, error text when it could not be sent)."""
    if problem := webhook_url_problem(subscription.url):
        return None, None, problem
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Leadflow-Webhooks/1",
        SIGNATURE_HEADER: webhook_signature(secret=subscription.secret, timestamp=timestamp, body=delivery.body),
        EVENT_ID_HEADER: str(delivery.event_id),
        EVENT_TYPE_HEADER: delivery.event_type,
    }
    timeout = float(settings.LEADFLOW_WEBHOOK_TIMEOUT)
    started = time.monotonic()
    try:
        # Unless private receivers are allowed, the connected address is checked again: the host's DNS answer may
        # have changed since the check above (revops/base/public_http.py).
        with public_session() if not settings.LEADFLOW_WEBHOOK_ALLOW_PRIVATE else requests.Session() as session:
            response = session.post(subscription.url, data=delivery.body.encode(), headers=headers,
                                    timeout=(min(timeout, 3.0), timeout), allow_redirects=False)
    except requests.RequestException as exc:
        return None, int((time.monotonic() - started) * 1000), f"unreachable: {type(exc).__name__}: {exc}"[:500]
    return response.status_code, int((time.monotonic() - started) * 1000), ""


def _finish(delivery: WebhookDelivery, status: str, *, error: str) -> None:
    if status != Status.PENDING:
        delivery.next_attempt_at = None
    delivery.status = status
    delivery.last_error = error[:500]
    delivery.save(update_fields=["status", "last_error", "response_code", "response_ms", "next_attempt_at",
                                 "delivered_at"])


def _subscription_failed(subscription_id: int, *, now: datetime, error: str) -> None:
    """Note the failure on the subscription; switch it off (and alert) after a day of failures without success."""
    WebhookSubscription.objects.filter(pk=subscription_id, failing_since__isnull=True).update(failing_since=now)
    limit = now - timedelta(seconds=settings.LEADFLOW_WEBHOOK_DISABLE_AFTER)
    with transaction.atomic():
        disabled = WebhookSubscription.objects.filter(pk=subscription_id, active=True,
                                                      failing_since__lte=limit).update(
            active=False, disabled_at=now,
            disabled_reason=f"switched off after failing since {limit:%Y-%m-%d %H:%M} UTC: {error}"[:500])
        if not disabled:
            return
        subscription = WebhookSubscription.objects.get(pk=subscription_id)
        WebhookDelivery.objects.filter(subscription_id=subscription_id, status=Status.PENDING).update(
            status=Status.CANCELLED, next_attempt_at=None, last_error="the subscription was switched off")
        _disabled_alert(subscription, now=now, error=error)
    automation_log(workflow=Workflow.WEBHOOKS, action="webhook_subscription_disable",
                   outcome=AutomationOutcome.DONE, object_type="webhook_subscription", object_id=subscription_id,
                   detail=subscription.disabled_reason)


def _disabled_alert(subscription: WebhookSubscription, *, now: datetime, error: str) -> None:
    """E-mail every RevOps admin (the default Slack channel when there is none) that a subscription was switched
    off; once per disabling."""
    link = f"{settings.LEADFLOW_BASE_URL}/admin/revops/webhooksubscription/{subscription.pk}/change/"
    text = (f"The webhook subscription \"{subscription.name}\" ({subscription.url}) failed every delivery for a day "
            f"and was switched off. Last error: {error}\n\nFix the receiver, switch the subscription on and re-send "
            f"the cancelled deliveries: {link}")
    key = f"webhook-disabled:{subscription.pk}:{now:%Y%m%d%H%M%S}"
    admins = (get_user_model().objects.filter(groups__name=ROLE_REVOPS_ADMIN, is_active=True).exclude(email="")
              .order_by("pk"))
    for admin in admins:
        notification_queue(dedup_key=f"{key}:{admin.pk}", channel=Channel.EMAIL, recipient=admin.email,
                           subject=f"Webhook subscription \"{subscription.name}\" switched off", text=text,
                           object_type="webhook_subscription", object_id=subscription.pk)
    if not admins.exists():
        notification_queue(dedup_key=f"{key}:channel", recipient="", text=text, object_type="webhook_subscription",
                           object_id=subscription.pk)


def webhook_deliveries_due(*, now: datetime | None = None) -> int:
    """Schedule every pending delivery whose next attempt is due, after freeing those stuck in "sending" for
    ``STUCK_AFTER`` (a worker died mid-send: at least once, so it is sent again). Returns how many were scheduled."""
    now = now or timezone.now()
    stuck = WebhookDelivery.objects.filter(status=Status.SENDING, next_attempt_at__lte=now)
    stuck.update(status=Status.PENDING)
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    ids = list(WebhookDelivery.objects.filter(due, status=Status.PENDING, subscription__active=True)
               .order_by("next_attempt_at", "id").values_list("pk", flat=True)[:5000])
    with transaction.atomic():
        for pk in ids:
            enqueue_after_commit(webhook_delivery_send_job, pk, queue=QUEUE)
    return len(ids)


@periodic_job(workflow=Workflow.WEBHOOKS)
def webhook_deliveries_due_job() -> str:
    """Every minute: schedule the webhook deliveries whose next attempt is due (kill switch: outbound webhooks)."""
    return f"scheduled {webhook_deliveries_due()} webhook deliveries"


def webhook_deliveries_resend(*, ids: list[int], now: datetime | None = None) -> tuple[int, int]:
    """"Re-send": send the chosen deliveries again, whatever their status, with the same event id and body and a new
    day of retries. Deliveries of a switched-off subscription are left (switch it on first). Returns (scheduled,
    left)."""
    now = now or timezone.now()
    window = timedelta(seconds=settings.LEADFLOW_WEBHOOK_RETRY_FOR)
    with transaction.atomic():
        chosen = WebhookDelivery.objects.filter(pk__in=ids).exclude(status=Status.SENDING)
        ready = list(chosen.filter(subscription__active=True).values_list("pk", flat=True))
        WebhookDelivery.objects.filter(pk__in=ready).update(status=Status.PENDING, next_attempt_at=None,
                                                            retry_until=now + window, last_error="")
        for pk in ready:
            enqueue_after_commit(webhook_delivery_send_job, pk, queue=QUEUE)
    return len(ready), len(set(ids)) - len(ready)
