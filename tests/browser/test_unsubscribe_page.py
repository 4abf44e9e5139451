"""In a real browser, as the person who got a nurture e-mail: the unsubscribe link opens a page that asks first,
the button unsubscribes (the lead suppressed, no more steps), at desktop and phone width, screenshots taken."""

import re

import pytest

from leads.models import Lead
from revops.base.models import Notification
from routing.choices import NurtureStatus
from routing.models import NurtureEnrollment
from routing.services import nurture_steps_send
from tests.routing.test_nurture import enrolled, make_program, nurture_lead

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.mark.parametrize("name", list(WIDTHS))
def test_the_person_unsubscribes_from_the_link_in_their_email(live_server, browser_page, shots, name):
    make_program(delays=(0, 3))
    lead = nurture_lead(email="nell@acme.example", consent="opt_in")
    enrolled(lead)
    nurture_steps_send()
    [path] = re.findall(r"/unsubscribe/\S+/", Notification.objects.get().text)
    page = browser_page
    page.set_viewport_size({"width": WIDTHS[name], "height": 800})
    page.goto(f"{live_server.url}{path}")
    assert page.locator("h1").inner_text() == "Unsubscribe"
    assert "n***@acme.example" in page.locator("main").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[name]  # nothing wider than the phone
    page.screenshot(path=str(shots / f"unsubscribe-ask-{name}.png"), full_page=True)
    assert Lead.objects.get(pk=lead.pk).consent == "opt_in"  # opening the page changed nothing
    page.click("button[type=submit]")
    page.wait_for_selector("text=You are unsubscribed")
    page.screenshot(path=str(shots / f"unsubscribe-done-{name}.png"), full_page=True)
    lead.refresh_from_db()
    assert (lead.consent, lead.stage) == ("opt_out", "suppressed")
    assert NurtureEnrollment.objects.get(lead=lead).status == NurtureStatus.STOPPED
