"""Outbound webhooks, one attempt at a time with the clock moved along the retry schedule (no sleeping): backoff
with jitter, auto-disable after a day of failures with an alert, URLs refused, the events of tasks and merges."""

import json
import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from leads.choices import MatchRule, Transition
from leads.services import lead_ingest, lead_merge, lead_transition
from revops.base.choices import Channel, WebhookDeliveryStatus, WebhookEvent
from revops.base.models import Notification, WebhookDelivery, WebhookSubscription
from revops.base.webhooks import (
    webhook_backoff_seconds,
    webhook_delivery_send,
    webhook_event_emit,
    webhook_signature,
)
from routing.models import Rep, Task
from routing.services import leads_reassign, task_complete
from tests.webhook_receiver import WebhookReceiver
from tests.webhook_snippet import documented_verifier

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing():
    standin = WebhookReceiver(always=500).start()
    yield standin
    standin.stop()


def subscription_for(url: str, events=None, name: str = "CRM") -> WebhookSubscription:
    return WebhookSubscription.objects.create(name=name, url=url, events=events or [WebhookEvent.LEAD_CREATED],
                                              secret="s")


def test_a_subscription_failing_for_a_day_is_switched_off_and_the_revops_admins_are_told(failing, revops_admin,
                                                                                           settings):
    subscription = subscription_for(failing.url)
    [delivery_id] = webhook_event_emit(event_type=WebhookEvent.LEAD_CREATED, data={"lead": {"id": 1}})
    start = now = timezone.now()
    delays = []
    while True:
        outcome = webhook_delivery_send(delivery_id=delivery_id, now=now)
        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        if outcome != "retrying":
            break
        delays.append((delivery.next_attempt_at - now).total_seconds())
        now = delivery.next_attempt_at  # the clock moves to the next attempt
        assert len(delays) < 100
    subscription.refresh_from_db()
    assert outcome == "failed" and delivery.status == WebhookDeliveryStatus.FAILED
    assert now - start >= timedelta(days=1) and now - start < timedelta(days=1, hours=2)
    assert not subscription.active and subscription.disabled_at == now
    assert "failing since" in subscription.disabled_reason and "500" in subscription.disabled_reason
    # Exponential backoff with jitter: 30 s ±25 %, doubling, capped at an hour ±25 %.
    assert 22.5 <= delays[0] <= 37.5 and 45 <= delays[1] <= 75 and 90 <= delays[2] <= 150
    assert max(delays) <= 3600 * 1.25 and len([d for d in delays if d > 2000]) > 10
    assert len(set(delays)) == len(delays)  # jitter: no two waits alike
    assert len(failing.received) == delivery.attempts == len(delays) + 1
    alert = Notification.objects.get(object_type="webhook_subscription")
    assert alert.channel == Channel.EMAIL and alert.recipient == revops_admin.email
    assert "switched off" in alert.subject and failing.url in alert.text
    # Switched off: a new event is not recorded for it, and nothing more is sent.
    assert webhook_event_emit(event_type=WebhookEvent.LEAD_CREATED, data={}) == []


def test_one_success_resets_the_day_of_failures(failing):
    subscription = subscription_for(failing.url)
    [first] = webhook_event_emit(event_type=WebhookEvent.LEAD_CREATED, data={})
    start = timezone.now()
    webhook_delivery_send(delivery_id=first, now=start)
    assert WebhookSubscription.objects.get().failing_since == start
    failing.always = 200
    [second] = webhook_event_emit(event_type=WebhookEvent.LEAD_CREATED, data={})
    assert webhook_delivery_send(delivery_id=second, now=start + timedelta(hours=20)) == "delivered"
    failing.always = 500
    later = start + timedelta(hours=25)
    [third] = webhook_event_emit(event_type=WebhookEvent.LEAD_CREATED, data={}, occurred_at=later)
    assert webhook_delivery_send(delivery_id=third, now=later) == "retrying"
    subscription.refresh_from_db()
    assert subscription.active and subscription.failing_since == later  # not switched off: it succeeded at 20 h


def test_the_signature_is_what_the_documented_snippet_verifies():
    verify = documented_verifier()
    now = int(timezone.now().timestamp())
    body = json.dumps({"id": "e1", "type": "lead.created"})
    header = webhook_signature(secret="topsecret", timestamp=now, body=body)
    assert header.startswith(f"t={now},v1=")
    assert verify("topsecret", header, body.encode())
    assert not verify("topsecret", header, body.replace("e1", "e2").encode())
    stale = webhook_signature(secret="topsecret", timestamp=now - 3600, body=body)
    assert not verify("topsecret", stale, body.encode())


def test_backoff_doubles_and_is_capped(settings):
    settings.LEADFLOW_WEBHOOK_RETRY_BASE, settings.LEADFLOW_WEBHOOK_RETRY_MAX_DELAY = 10, 100
    assert 7.5 <= webhook_backoff_seconds(1) <= 12.5 and 30 <= webhook_backoff_seconds(3) <= 50
    assert 75 <= webhook_backoff_seconds(30) <= 125


@pytest.mark.parametrize("url", ["ftp://files.example/hook", "file:///etc/passwd", "javascript:alert(1)",
                                 "gopher://x.example"])
def test_only_http_and_https_urls_can_subscribe(url):
    subscription = WebhookSubscription(name="x", url=url, events=[WebhookEvent.LEAD_CREATED])
    with pytest.raises(ValidationError) as error:
        subscription.full_clean()
    assert "url" in error.value.message_dict


def test_a_non_http_url_that_slipped_in_is_never_requested():
    subscription = subscription_for("https://ok.example/hook")
    WebhookSubscription.objects.filter(pk=subscription.pk).update(url="file:///etc/passwd")
    [delivery_id] = webhook_event_emit(event_type=WebhookEvent.LEAD_CREATED, data={})
    assert webhook_delivery_send(delivery_id=delivery_id) == "retrying"
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.response_code is None and "http" in delivery.last_error


def test_unknown_events_and_no_events_are_refused():
    subscription = WebhookSubscription(name="x", url="https://ok.example", events=["lead.deleted"])
    with pytest.raises(ValidationError) as error:
        subscription.full_clean()
    assert "lead.deleted" in str(error.value.message_dict["events"])
    subscription.events = []
    with pytest.raises(ValidationError):
        subscription.full_clean()


def test_without_a_subscription_no_delivery_is_recorded(configured, inline_jobs):
    lead_ingest(data={"email": "quiet@none.example", "country": "US"})
    assert not WebhookDelivery.objects.exists()


def test_task_completed_and_lead_merged_become_events(configured, inline_jobs, revops_admin,
                                                      django_capture_on_commit_callbacks):
    subscription_for("https://crm.example/hook", [WebhookEvent.TASK_COMPLETED, WebhookEvent.LEAD_MERGED])
    with django_capture_on_commit_callbacks(execute=True):
        lead = lead_ingest(data={"email": "ann@one.example", "first_name": "Ann", "country": "US"}).lead
        other = lead_ingest(data={"email": "ann@two.example", "first_name": "Ann", "country": "US"}).lead
    task = Task.objects.get(lead=lead)
    task_complete(task_id=task.pk, actor=task.assignee, disposition="meeting_booked", note="call Tuesday")
    lead_merge(survivor_id=lead.pk, merged_id=other.pk, rule=MatchRule.MANUAL, user=revops_admin, reason="same")
    bodies = {d.event_type: json.loads(d.body) for d in WebhookDelivery.objects.all()}
    assert set(bodies) == {"task.completed", "lead.merged"}
    completed = bodies["task.completed"]["data"]
    assert completed["task"]["id"] == task.pk and completed["task"]["disposition"] == "meeting_booked"
    assert completed["lead"]["id"] == lead.pk and completed["task"]["assignee"] == task.assignee.username
    merged = bodies["lead.merged"]["data"]
    assert merged["survivor"]["id"] == lead.pk and merged["merged_id"] == other.pk


def test_a_revops_admin_subscribes_in_the_admin_and_a_non_http_url_is_refused(client, revops_admin, sales_manager):
    client.force_login(revops_admin)
    form = {"name": "Warehouse", "url": "ftp://files.example/hook", "events": ["lead.created", "lead.routed"],
            "secret": "whsec-1", "active": "on"}
    refused = client.post("/admin/revops/webhooksubscription/add/", form)
    assert refused.status_code == 200 and "only http:// and https:// URLs" in refused.content.decode()
    form["url"] = "https://warehouse.example/hook"
    created = client.post("/admin/revops/webhooksubscription/add/", form)
    assert created.status_code == 302, created.content.decode()[:2000]
    subscription = WebhookSubscription.objects.get()
    assert subscription.events == ["lead.created", "lead.routed"] and subscription.secret == "whsec-1"
    page = client.get(f"/admin/revops/webhooksubscription/{subscription.pk}/change/").content.decode()
    checked = set(re.findall(r'<input type="checkbox" name="events" value="([a-z_.]+)"[^>]*checked', page))
    assert checked == {"lead.created", "lead.routed"}
    client.force_login(sales_manager)  # may read most things, but not the signing secrets
    assert client.get(f"/admin/revops/webhooksubscription/{subscription.pk}/change/").status_code in (302, 403)
    assert client.get("/admin/revops/webhookdelivery/").status_code in (302, 403)


def test_a_lifecycle_transition_that_moves_the_stage_is_a_stage_changed_event(configured, inline_jobs):
    subscription_for("https://crm.example/hook", [WebhookEvent.LEAD_STAGE_CHANGED])
    lead = lead_ingest(data={"email": "won@deal.example", "country": "US"}).lead
    WebhookDelivery.objects.all().delete()
    lead_transition(lead_id=lead.pk, to=Transition.WON, reason="signed")
    lead_transition(lead_id=lead.pk, to=Transition.WON, reason="signed again")  # no stage move: no event
    [delivery] = WebhookDelivery.objects.all()
    assert json.loads(delivery.body)["data"]["new_stage"] == "customer"


def test_a_meeting_booked_moves_the_stage_and_is_a_stage_changed_event(configured, inline_jobs,
                                                                        django_capture_on_commit_callbacks):
    subscription_for("https://crm.example/hook", [WebhookEvent.LEAD_STAGE_CHANGED])
    with django_capture_on_commit_callbacks(execute=True):
        lead = lead_ingest(data={"email": "meet@deal.example", "first_name": "Mia", "country": "US"}).lead
    task = Task.objects.get(lead=lead)
    WebhookDelivery.objects.all().delete()
    task_complete(task_id=task.pk, actor=task.assignee, disposition="meeting_booked")
    [delivery] = WebhookDelivery.objects.all()
    assert json.loads(delivery.body)["data"]["lead"]["id"] == lead.pk
    assert json.loads(delivery.body)["data"]["new_stage"] == "sql"


def test_a_manual_reassignment_is_a_routed_event(configured, inline_jobs, revops_admin,
                                                 django_capture_on_commit_callbacks):
    subscription_for("https://crm.example/hook", [WebhookEvent.LEAD_ROUTED])
    with django_capture_on_commit_callbacks(execute=True):
        lead = lead_ingest(data={"email": "move@deal.example", "first_name": "Moe", "country": "US"}).lead
    lead.refresh_from_db()
    other = Rep.objects.filter(is_active=True).exclude(user_id=lead.owner_id).first()
    WebhookDelivery.objects.all().delete()
    result = leads_reassign(lead_ids=[lead.pk], rep_id=other.pk, reason="covering a holiday", user=revops_admin)
    [delivery] = WebhookDelivery.objects.all()
    data = json.loads(delivery.body)["data"]
    assert data["decision"]["id"] == result.decisions[0] and data["decision"]["owner"] == other.user.username
