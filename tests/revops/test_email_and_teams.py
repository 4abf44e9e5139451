"""E-mail and Microsoft Teams: the rep's channel preference, the fall-back to e-mail, the text and HTML e-mail with
the same link (locmem and a real local SMTP server), Teams cards over real HTTP with 429 / 5xx retries, the
notifications kill switch over every channel, and EMAIL_URL."""

import socket
import time
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.utils import timezone

from leads.choices import Stage
from revops.base.choices import Channel, NotificationStatus, Workflow
from revops.base.models import Notification
from revops.base.switches import workflow_switch_set
from revops.settings import email_url_settings
from routing.models import Task
from routing.services import task_notify
from tests.routing.factories import make_lead
from tests.teams_standin import TeamsStandIn

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def teams():
    standin = TeamsStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture
def locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def new_task(rep, **lead_fields):
    lead = make_lead(owner=rep.user, stage=Stage.MQL, first_name="Ann", last_name="Lee", company="Acme",
                     title="CTO", score=80, band="A", **lead_fields)
    task = Task.objects.create(lead=lead, assignee=rep.user, title="Follow up", dedup_key=f"fu{lead.pk}",
                               due_at=timezone.now() + timedelta(hours=4))
    return task, lead


def test_a_rep_who_chose_email_gets_a_text_and_html_mail_with_the_same_link_and_no_slack(
        reps, slack, locmem, inline_jobs):
    rita = reps[0]
    rita.notify_via = "email"
    rita.save()
    task, lead = new_task(rita)
    task_notify(task, lead, rita)
    [message] = mail.outbox
    link = f"/workspace/leads/{lead.pk}/"
    assert message.to == ["rita@example.com"] and message.subject == "New lead for you: Ann Lee"
    assert link in message.body and "80 (band A)" in message.body and "CTO, Acme" in message.body
    [(html, mime)] = message.alternatives
    assert mime == "text/html" and link in html and "80 (band A)" in html
    assert slack.messages == []
    assert Notification.objects.get(channel=Channel.EMAIL).status == NotificationStatus.SENT


def test_a_combination_sends_on_each_channel_once(reps, slack, locmem, inline_jobs, teams):
    rita = reps[0]
    rita.notify_via = "slack_dm, email, teams"
    rita.save()
    rita.team.teams_webhook_url = teams.url()
    rita.team.save()
    task, lead = new_task(rita)
    task_notify(task, lead, rita)
    task_notify(task, lead, rita)  # asked twice: still once per channel
    assert [m["channel"] for m in slack.messages] == ["U0RITA"]
    assert len(mail.outbox) == 1 and len(teams.cards) == 1


def test_a_rep_without_a_working_channel_falls_back_to_email_never_to_nobody(reps, slack, locmem, inline_jobs):
    ravi = reps[1]
    ravi.slack_user_id = ""
    ravi.notify_via = "slack_dm, teams"  # no Slack id, no Teams webhook on the team
    ravi.save()
    task, lead = new_task(ravi)
    task_notify(task, lead, ravi)
    assert [m.to for m in mail.outbox] == [["ravi@example.com"]] and slack.messages == []


def test_the_teams_card_carries_the_same_facts_and_the_link(reps, inline_jobs, teams):
    rita = reps[0]
    rita.notify_via = "teams"
    rita.save()
    rita.team.teams_webhook_url = teams.url("mid")
    rita.team.save()
    task, lead = new_task(rita)
    task_notify(task, lead, rita)
    [card] = teams.cards
    assert card["path"] == "/webhook/mid"
    content = card["attachments"][0]["content"]
    assert card["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert content["body"][0]["text"] == "New lead for you: Ann Lee"
    facts = {fact["title"]: fact["value"] for fact in content["body"][2]["facts"]}
    assert facts["Score"] == "80 (band A)" and "Follow up by" in facts
    assert content["actions"][0]["url"].endswith(f"/workspace/leads/{lead.pk}/")


def test_teams_429_with_retry_after_and_500s_still_post_one_card(reps, inline_jobs, teams):
    rita = reps[0]
    rita.notify_via = "teams"
    rita.save()
    rita.team.teams_webhook_url = teams.url()
    rita.team.save()
    teams.failures = [("429", 1), ("500",), ("500",)]
    started = time.monotonic()
    task, lead = new_task(rita)
    task_notify(task, lead, rita)
    assert len(teams.cards) == 1 and teams.cards[0]["at"] - started >= 1
    assert Notification.objects.get(channel=Channel.TEAMS).status == NotificationStatus.SENT


def test_a_webhook_teams_refuses_for_good_is_marked_failed(reps, inline_jobs, teams):
    rita = reps[0]
    rita.notify_via = "teams"
    rita.save()
    rita.team.teams_webhook_url = teams.url()
    rita.team.save()
    teams.failures = [("400",)]
    task, lead = new_task(rita)
    task_notify(task, lead, rita)
    notification = Notification.objects.get(channel=Channel.TEAMS)
    assert notification.status == NotificationStatus.FAILED and "400" in notification.last_error


def test_the_kill_switch_holds_every_channel_and_switching_on_sends_in_order(reps, slack, locmem, inline_jobs):
    rita = reps[0]
    rita.notify_via = "email"
    rita.save()
    workflow_switch_set(workflow=Workflow.NOTIFICATIONS, enabled=False)
    for _ in range(3):
        task, lead = new_task(rita)
        task_notify(task, lead, rita)
    assert mail.outbox == []
    assert set(Notification.objects.values_list("status", flat=True)) == {NotificationStatus.PENDING}
    workflow_switch_set(workflow=Workflow.NOTIFICATIONS, enabled=True)
    expected = [f"/workspace/leads/{pk}/" for pk in Task.objects.order_by("pk").values_list("lead_id", flat=True)]
    assert [next(link for link in expected if link in m.body) for m in mail.outbox] == expected


def test_an_email_through_a_real_local_smtp_server(reps, settings, inline_jobs):
    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
            received.append(envelope)
            return "250 OK"

    with socket.socket() as probe:  # a free port for the server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        rita = reps[0]
        rita.notify_via = "email"
        rita.save()
        task, lead = new_task(rita)
        task_notify(task, lead, rita)
    finally:
        controller.stop()
    [envelope] = received
    assert envelope.rcpt_tos == ["rita@example.com"]
    content = envelope.content.decode()
    assert "text/html" in content and "text/plain" in content and f"/workspace/leads/{lead.pk}/" in content
    assert Notification.objects.get(channel=Channel.EMAIL).status == NotificationStatus.SENT


def test_email_url_gives_the_django_email_settings():
    assert email_url_settings("") == {}
    smtp = email_url_settings("smtp+tls://user%40x.example:secret@mail.example:587")
    assert smtp["EMAIL_BACKEND"].endswith("smtp.EmailBackend") and smtp["EMAIL_HOST"] == "mail.example"
    assert (smtp["EMAIL_PORT"], smtp["EMAIL_HOST_USER"], smtp["EMAIL_USE_TLS"]) == (587, "user@x.example", True)
    assert email_url_settings("locmem://")["EMAIL_BACKEND"].endswith("locmem.EmailBackend")
    with pytest.raises(ValueError, match="EMAIL_URL"):
        email_url_settings("ftp://x")
