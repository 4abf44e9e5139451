"""Messages that failed for good: once a day the RevOps admins get one e-mail listing them (with the admin link),
so a broken channel is seen and the messages can be sent again with "retry now"."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from .choices import Channel, NotificationStatus, Workflow
from .jobs import periodic_job
from .models import Notification
from .notifications import notification_queue
from .roles import ROLE_REVOPS_ADMIN

ALERT_LINES = 20


def notifications_failed_alert(*, now: datetime | None = None) -> int:
    """Queue today's alert to each RevOps admin when messages have failed for good; returns how many were queued
    (none on a second run the same day, none when nothing failed)."""
    now = now or timezone.now()
    failed = Notification.objects.filter(status=NotificationStatus.FAILED).order_by("created_at")
    count = failed.count()
    if not count:
        return 0
    lines = [f"- {n.get_channel_display()} to {n.recipient[:60]} ({n.created_at:%Y-%m-%d %H:%M}, "
             f"{n.attempts} attempts): {n.last_error[:200]}" for n in failed[:ALERT_LINES]]
    link = f"{settings.LEADFLOW_BASE_URL}/admin/revops/notification/?status__exact=failed"
    text = (f"{count} Leadflow messages failed for good and were not delivered:\n" + "\n".join(lines)
            + (f"\n…and {count - ALERT_LINES} more." if count > ALERT_LINES else "")
            + f"\n\nSee them and retry: {link}")
    admins = get_user_model().objects.filter(groups__name=ROLE_REVOPS_ADMIN, is_active=True).exclude(email="")
    day = timezone.localdate(now).isoformat()
    queued = 0
    for admin in admins.order_by("pk"):
        _, created = notification_queue(dedup_key=f"outbox-failed:{day}:{admin.pk}", channel=Channel.EMAIL,
                                        recipient=admin.email, subject=f"{count} Leadflow messages failed",
                                        text=text, object_type="notification")
        queued += created
    if not admins.exists():
        _, created = notification_queue(dedup_key=f"outbox-failed:{day}:channel", recipient="", text=text,
                                        object_type="notification")
        queued += created
    return queued


@periodic_job(workflow=Workflow.NOTIFICATIONS)
def notifications_failed_alert_job() -> str:
    """Daily: tell the RevOps admins about messages that failed for good (kill switch: notifications)."""
    return f"queued {notifications_failed_alert()} alerts"
