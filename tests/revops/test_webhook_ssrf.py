"""Webhooks go to public receivers only: a URL whose host is (or resolves to) a loopback, private, link-local or
reserved address is refused when the subscription is saved — in the admin with the reason under the URL — and again
before each delivery (a host re-pointed since), unless LEADFLOW_WEBHOOK_ALLOW_PRIVATE allows the install's own
network."""

import pytest
from django.core.exceptions import ValidationError

from revops.base.choices import WebhookDeliveryStatus, WebhookEvent
from revops.base.models import WebhookDelivery, WebhookSubscription
from revops.base.webhook_models import webhook_url_problem
from revops.base.webhooks import webhook_delivery_send, webhook_event_emit

pytestmark = pytest.mark.django_db


@pytest.fixture
def public_only(settings):
    settings.LEADFLOW_WEBHOOK_ALLOW_PRIVATE = False


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/hook", "http://localhost/hook", "http://10.1.2.3/hook", "https://192.168.0.10/x",
    "http://172.16.5.5/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/hook", "http://0.0.0.0/",
    "http://[fd00::1]/hook", "http://100.64.0.1/",
])
def test_a_private_loopback_or_reserved_receiver_is_refused_with_the_reason(public_only, url):
    problem = webhook_url_problem(url)
    assert "private, loopback or reserved address" in problem
    subscription = WebhookSubscription(name="x", url=url, events=[WebhookEvent.LEAD_CREATED])
    with pytest.raises(ValidationError) as raised:
        subscription.full_clean()
    assert "url" in raised.value.message_dict


def test_a_public_address_is_accepted(public_only):
    assert webhook_url_problem("https://93.184.215.14/hook") == ""


def test_a_host_that_does_not_resolve_is_refused(public_only):
    assert "does not resolve" in webhook_url_problem("https://no-such-host.invalid/hook")


def test_the_admin_shows_the_refusal_under_the_url(public_only, client, revops_admin):
    client.force_login(revops_admin)
    response = client.post("/admin/revops/webhooksubscription/add/", {
        "name": "Internal", "url": "http://169.254.169.254/latest/", "events": [WebhookEvent.LEAD_CREATED],
        "secret": "s" * 40, "active": "on"})
    assert response.status_code == 200 and b"169.254.169.254, a private" in response.content
    assert not WebhookSubscription.objects.exists()


def test_a_delivery_to_a_host_re_pointed_at_a_private_address_is_not_sent(settings):
    subscription = WebhookSubscription.objects.create(name="CRM", url="http://127.0.0.1:9/hook",
                                                      events=[WebhookEvent.LEAD_CREATED])
    [delivery_id] = webhook_event_emit(event_type=WebhookEvent.LEAD_CREATED, data={"id": 1})
    settings.LEADFLOW_WEBHOOK_ALLOW_PRIVATE = False  # e.g. its DNS now points inside the network
    webhook_delivery_send(delivery_id=delivery_id)
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status != WebhookDeliveryStatus.DELIVERED
    assert "private, loopback or reserved" in delivery.last_error
    assert subscription.pk


@pytest.fixture
def rebinding_host(monkeypatch):
    """A host whose DNS answer changes after the first look: public for the check, the loopback receiver after."""
    import socket

    real, answers = socket.getaddrinfo, []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "hooks.rebinding.test":
            return real(host, port, *args, **kwargs)
        address = "93.184.215.14" if not answers else "127.0.0.1"
        answers.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize("allow_private", [False, True])
def test_a_host_re_pointed_between_the_check_and_the_connection_gets_nothing(settings, rebinding_host,
                                                                              allow_private):
    """DNS rebinding: the check before the delivery sees a public address, the connection is then made to the
    install's own network. The connected address is checked too: nothing is sent, the delivery says why. (With
    private receivers allowed the same delivery reaches the receiver: the check is what stops it.)"""
    from tests.webhook_receiver import WebhookReceiver

    receiver = WebhookReceiver().start()
    try:
        port = receiver.server.server_address[1]
        WebhookSubscription.objects.create(name="CRM", url=f"http://hooks.rebinding.test:{port}/hooks",
                                           events=[WebhookEvent.LEAD_CREATED])
        [delivery_id] = webhook_event_emit(event_type=WebhookEvent.LEAD_CREATED, data={"id": 1})
        settings.LEADFLOW_WEBHOOK_ALLOW_PRIVATE = allow_private
        if allow_private:
            rebinding_host.append("(no check: private receivers allowed)")  # the connection's look: the loopback
        webhook_delivery_send(delivery_id=delivery_id)
    finally:
        receiver.stop()
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    if allow_private:
        assert delivery.status == WebhookDeliveryStatus.DELIVERED and len(receiver.received) == 1
        return
    assert rebinding_host == ["93.184.215.14", "127.0.0.1"]  # checked public, then connected to the loopback
    assert receiver.received == []
    assert delivery.status != WebhookDeliveryStatus.DELIVERED
    assert "connected to 127.0.0.1, a private, loopback or reserved address" in delivery.last_error
