"""The unsubscribe link in every nurture e-mail: a signed link to a public page whose button records an unsubscribe
event (consent withdrawn, the lead suppressed, its tasks cancelled, its nurture stopped); a GET alone changes nothing
(mail scanners follow links), a forged or altered token answers 404, a second click records nothing more."""

import re

import pytest
from django.test import Client

from leads.models import Lead, LeadEvent
from revops.base.models import Notification
from routing.choices import NurtureStatus
from routing.models import NurtureEnrollment
from routing.services import nurture_steps_send
from tests.routing.test_nurture import enrolled, make_program, nurture_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailed():
    make_program(delays=(0, 3))
    lead = nurture_lead(email="nell@acme.example", consent="opt_in")
    enrolled(lead)
    nurture_steps_send()
    mail = Notification.objects.get()
    [link] = re.findall(r"https?://\S+/unsubscribe/\S+/", mail.text)
    return lead, mail, link


def test_every_nurture_email_carries_the_leads_unsubscribe_link_in_text_and_html(mailed):
    lead, mail, link = mailed
    assert f'href="{link}"' in mail.html
    assert "To get no more e-mails from us" in mail.text


def test_the_page_asks_first_and_the_button_unsubscribes_once(mailed):
    lead, mail, link = mailed
    path = link.split("://", 1)[1].split("/", 1)[1]
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/{path}")
    assert page.status_code == 200 and b"n***@acme.example" in page.content and b"Unsubscribe" in page.content
    assert Lead.objects.get(pk=lead.pk).consent == "opt_in"  # a GET (a mail scanner) changes nothing
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()
    done = client.post(f"/{path}", {"csrfmiddlewaretoken": token})
    assert done.status_code == 200 and b"You are unsubscribed" in done.content
    lead.refresh_from_db()
    assert (lead.consent, lead.stage) == ("opt_out", "suppressed")
    assert NurtureEnrollment.objects.get(lead=lead).status == NurtureStatus.STOPPED
    again = client.post(f"/{path}", {"csrfmiddlewaretoken": token})
    assert again.status_code == 200
    assert LeadEvent.objects.filter(lead=lead, type="unsubscribe").count() == 1
    assert b"already unsubscribed" in client.get(f"/{path}").content


@pytest.mark.parametrize("tamper", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
                                    lambda t: str(int(t.split(":")[0]) + 1) + ":" + t.split(":", 1)[1],
                                    lambda t: "not-a-token"])
def test_a_forged_or_altered_token_answers_404_and_changes_nothing(mailed, tamper):
    lead, mail, link = mailed
    token = link.rstrip("/").rsplit("/", 1)[1]
    response = Client().post(f"/unsubscribe/{tamper(token)}/")
    assert response.status_code == 404 and b"not recognised" in response.content
    assert Lead.objects.get(pk=lead.pk).consent == "opt_in"
    assert not LeadEvent.objects.filter(type="unsubscribe").exists()


def test_the_email_carries_a_one_click_list_unsubscribe_header_that_the_provider_can_post_to(mailed, settings):
    """RFC 8058: the mail client's own unsubscribe button posts ``List-Unsubscribe=One-Click`` to the address of the
    header, with no page and no CSRF token; the lead is unsubscribed once."""
    from django.core import mail as outbox

    from revops.base.notifications import notification_send

    lead, mail, link = mailed
    assert mail.unsubscribe_url == link
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notification_send(notification_id=mail.pk) == "sent"
    [sent] = outbox.outbox
    assert sent.extra_headers["List-Unsubscribe"] == f"<{link}>"
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in sent.message().as_string()
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    response = Client(enforce_csrf_checks=True).post(path, "List-Unsubscribe=One-Click",
                                                     content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    lead.refresh_from_db()
    assert (lead.consent, lead.stage) == ("opt_out", "suppressed")
    assert LeadEvent.objects.filter(lead=lead, type="unsubscribe").count() == 1
