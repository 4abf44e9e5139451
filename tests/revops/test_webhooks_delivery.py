"""Outbound webhooks over real HTTP with a real worker: signed deliveries, each event again after two 500s, the kill
switch, the admin's re-send."""

import json

import pytest

from leads.services import lead_ingest
from revops.base.choices import AutomationOutcome, WebhookDeliveryStatus, WebhookEvent, Workflow
from revops.base.models import AutomationLog, WebhookDelivery, WebhookSubscription
from revops.base.switches import workflow_switch_set
from revops.base.webhooks import webhook_deliveries_due
from tests.queues import work
from tests.webhook_receiver import WebhookReceiver
from tests.webhook_snippet import documented_verifier

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "whsec-test-0123456789"


@pytest.fixture
def receiver():
    standin = WebhookReceiver(fail_first=2).start()
    yield standin
    standin.stop()


def subscribe(receiver: WebhookReceiver, events=None) -> WebhookSubscription:
    subscription = WebhookSubscription(name="CRM", url=receiver.url, events=events or list(WebhookEvent.values),
                                       secret=SECRET)
    subscription.full_clean()
    subscription.save()
    return subscription


def retry_round() -> None:
    """Move the clock to the latest scheduled next attempt (no sleeping) and run what is due."""
    latest = max(d.next_attempt_at for d in WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.PENDING))
    assert webhook_deliveries_due(now=latest) > 0
    work()


def test_a_receiver_gets_signed_deliveries_and_each_event_again_after_answering_500_twice(receiver, configured):
    verify = documented_verifier()
    subscribe(receiver)
    lead = lead_ingest(data={"email": "grace@navy.example", "first_name": "Grace", "last_name": "Hopper",
                             "country": "US", "title": "VP Engineering", "employees": "300"}).lead
    work()  # the pipeline (enrich → score → route → task) and the first attempt of every delivery
    deliveries = list(WebhookDelivery.objects.order_by("id"))
    types = {d.event_type for d in deliveries}
    assert {WebhookEvent.LEAD_CREATED, WebhookEvent.LEAD_SCORED, WebhookEvent.LEAD_ROUTED} <= types
    assert all(d.status == WebhookDeliveryStatus.PENDING and d.response_code == 500 for d in deliveries)
    retry_round()
    assert all(d.attempts == 2 for d in WebhookDelivery.objects.all())
    retry_round()

    for delivery in WebhookDelivery.objects.all():
        assert (delivery.status, delivery.attempts, delivery.response_code) == (WebhookDeliveryStatus.DELIVERED, 3,
                                                                                 200)
        assert delivery.response_ms is not None and delivery.delivered_at is not None
    by_event: dict[str, list[dict]] = {}
    for item in receiver.received:
        by_event.setdefault(item["event_id"], []).append(item)
    assert len(by_event) == len(deliveries)
    for event_id, items in by_event.items():
        assert [i["status"] for i in items] == [500, 500, 200]  # the same event again after two 500s
        assert len({i["body"] for i in items}) == 1  # byte for byte the same body, the same id
        for item in items:
            headers = item["headers"]
            assert headers["X-Leadflow-Event-Id"] == event_id
            assert verify(SECRET, headers["X-Leadflow-Signature"], item["body"])
            assert not verify("another-secret", headers["X-Leadflow-Signature"], item["body"])
            assert not verify(SECRET, headers["X-Leadflow-Signature"], item["body"] + b" ")
    lead.refresh_from_db()
    routed = next(e for e in receiver.events() if e["type"] == "lead.routed")
    assert routed["data"]["lead"]["id"] == lead.pk
    assert routed["data"]["decision"]["owner"] == lead.owner.username
    scored = next(e for e in receiver.events() if e["type"] == "lead.scored")
    assert scored["data"]["new_score"] == lead.score and scored["data"]["lead"]["band"] == lead.band


def test_while_the_kill_switch_is_off_deliveries_wait_and_go_out_when_it_is_on(receiver):
    receiver.fail_first = 0
    subscribe(receiver, [WebhookEvent.LEAD_CREATED])
    workflow_switch_set(workflow=Workflow.WEBHOOKS, enabled=False, note="receiver maintenance")
    lead_ingest(data={"email": "wait@switch.example"})
    work()
    assert receiver.received == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDeliveryStatus.PENDING
    assert AutomationLog.objects.filter(workflow=Workflow.WEBHOOKS, outcome=AutomationOutcome.SKIPPED).exists()
    workflow_switch_set(workflow=Workflow.WEBHOOKS, enabled=True)  # switching on schedules what waited
    work()
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.DELIVERED
    assert [e["type"] for e in receiver.events()] == ["lead.created"]


def test_the_admin_re_sends_a_delivery_with_the_same_event_id(receiver, client, revops_admin):
    receiver.fail_first = 0
    subscribe(receiver, [WebhookEvent.LEAD_CREATED])
    lead_ingest(data={"email": "again@resend.example"})
    work()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDeliveryStatus.DELIVERED
    client.force_login(revops_admin)
    page = client.get("/admin/revops/webhookdelivery/")
    assert page.status_code == 200 and str(delivery.event_id) in page.content.decode()
    response = client.post("/admin/revops/webhookdelivery/", {"action": "resend", "_selected_action": [delivery.pk]},
                           follow=True)
    assert "Scheduled 1 deliveries again" in response.content.decode()
    work()
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.status == WebhookDeliveryStatus.DELIVERED
    assert len(receiver.received) == 2
    first, second = receiver.received
    assert first["body"] == second["body"] and first["event_id"] == second["event_id"] == str(delivery.event_id)
    assert json.loads(second["body"])["data"]["lead"]["email"] == "again@resend.example"
