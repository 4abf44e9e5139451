"""In a real browser (Debian's Chromium driven by Playwright): a rep signs in, opens a lead (its own clock shown, to
call it in its day: at desktop and phone width), completes a task. Screenshots go to $LEADFLOW_SCREENSHOTS."""

import pytest
from playwright.sync_api import expect

from leads.services import lead_ingest
from routing.models import Task

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_rep_signs_in_opens_the_lead_and_completes_the_follow_up(live_server, browser_page, configured, inline_jobs,
                                                                   shots):
    lead = lead_ingest(data={"email": "grace@acme.example", "first_name": "Grace", "last_name": "Hopper",
                             "country": "US", "state": "Colorado", "title": "VP Engineering",
                             "employees": "300"}).lead
    task = Task.objects.get(lead=lead)
    task.assignee.set_password("browser-pw")
    task.assignee.save()
    page = browser_page
    page.goto(f"{live_server.url}/workspace/")
    page.fill("#id_username", task.assignee.username)
    page.fill("#id_password", "browser-pw")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#tasks").inner_text().count("Follow up Grace Hopper") == 1
    page.click("text=Grace Hopper #")
    page.wait_for_load_state()
    assert "Why" in page.inner_text("body") and "VP or above" in page.inner_text("#reasons")
    assert "assigned to" in page.inner_text("#routing-summary")
    expect(page.locator("#lead-local-time")).to_contain_text(", America/Denver")  # Colorado: the lead's clock
    for width, height in ((1400, 1000), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(shots / f"rep-lead-{width}.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.go_back()
    page.click("#tasks button:has-text('Complete')")
    expect(page.locator(".messages")).to_contain_text("Completed: Follow up Grace Hopper")
    task.refresh_from_db()
    assert task.status == "done" and task.completed_at is not None
