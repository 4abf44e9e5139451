"""Outbound webhooks: subscriptions (where to send which events, with which secret) and the delivery log.

Generic on purpose: the events are named by string (``WebhookEvent``) and carry a JSON payload built by the layer
that knows the objects (``revops/top/webhook_events.py``), so this base layer imports no app.
"""

import ipaddress
import secrets
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from revops.base.history_records import HistoricalRecords

from .choices import WebhookDeliveryStatus, WebhookEvent


def webhook_secret_new() -> str:
    """A fresh signing secret (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


def webhook_url_problem(url: str) -> str:
    """Why ``url`` cannot receive webhooks, or an empty string: only absolute http(s) URLs with a host, and (unless
    ``LEADFLOW_WEBHOOK_ALLOW_PRIVATE``) a host whose every address is public — checked when the subscription is saved
    and again before each delivery, so the signed deliveries never reach the install's own network (a cloud's
    metadata service, an internal admin, the database)."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in ("http", "https"):
        return "only http:// and https:// URLs can receive webhooks"
    if not rest or rest.startswith("/"):
        return "the URL needs a host"
    if settings.LEADFLOW_WEBHOOK_ALLOW_PRIVATE:
        return ""
    return _private_address_problem(url)


def _private_address_problem(url: str) -> str:
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as exc:
        return f"the URL is not valid: {exc}"
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return f"the host {host!r} does not resolve"
    for address in sorted(addresses):
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global or ip.is_multicast:
            return (f"the host {host!r} resolves to {ip}, a private, loopback or reserved address: webhooks go to "
                    "public receivers only (LEADFLOW_WEBHOOK_ALLOW_PRIVATE=true allows a receiver in your own network)")
    return ""


class WebhookSubscription(models.Model):
    """Where to send which events: a receiver's URL, the events it wants and the secret its deliveries are signed
    with. A subscription that fails for ``LEADFLOW_WEBHOOK_DISABLE_AFTER`` seconds is switched off (with an alert)."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500, help_text="http:// or https:// only; answered within a few seconds.")
    events = models.JSONField(default=list, help_text="The event types sent to this URL.")
    secret = models.CharField(max_length=200, default=webhook_secret_new,
                              help_text="Signs every delivery (HMAC-SHA256); the receiver keeps the same value.")
    active = models.BooleanField(default=True)
    failing_since = models.DateTimeField(null=True, blank=True,
                                         help_text="First failed delivery since the last success.")
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["secret"])

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"

    def clean(self) -> None:
        problems = {}
        if problem := webhook_url_problem(self.url or ""):
            problems["url"] = problem
        if not isinstance(self.events, list) or not self.events:
            problems["events"] = "choose at least one event"
        elif unknown := sorted(set(self.events) - set(WebhookEvent.values)):
            problems["events"] = f"unknown events: {', '.join(unknown)}; known: {', '.join(WebhookEvent.values)}"
        if problems:
            raise ValidationError(problems)

    def wants(self, event_type: str) -> bool:
        return self.active and event_type in (self.events or [])


class WebhookDelivery(models.Model):
    """One event for one subscription: the exact body sent (the same bytes on every attempt), its stable event id,
    and what happened (status, response code and time, attempts, next attempt)."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(help_text="The same on every attempt and re-send: receivers de-duplicate by it.")
    event_type = models.CharField(max_length=40, choices=WebhookEvent.choices)
    body = models.TextField(help_text="The JSON body, sent byte for byte on every attempt.")
    status = models.CharField(max_length=12, choices=WebhookDeliveryStatus.choices,
                              default=WebhookDeliveryStatus.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True, help_text="Response time in milliseconds.")
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    retry_until = models.DateTimeField(help_text="Retried until then; failed after.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["subscription", "event_id"], name="uniq_webhook_delivery")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} → {self.subscription_id}"
