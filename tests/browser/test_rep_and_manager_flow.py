"""In a real browser, on a desktop and on a 390×844 phone: a rep works the queue (snooze, complete with each
disposition, ask to reassign) and a manager sees a breach and the request and reassigns in one action. Screenshots
are saved under the test's artefact directory (``LEADFLOW_TEST_ARTEFACTS``, else the test's tmp dir)."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leads.services import lead_ingest
from routing.models import Task
from routing.services import disqualify_reasons_defaults_ensure

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def artefacts(tmp_path) -> Path:
    path = Path(os.environ.get("LEADFLOW_TEST_ARTEFACTS", tmp_path)) / "rep_and_manager_flow"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def rita_tasks(configured, inline_jobs):
    disqualify_reasons_defaults_ensure()
    for index in range(14):
        lead_ingest(data={"email": f"p{index}@acme{index}.example", "first_name": f"Pat{index}", "last_name": "Lee",
                          "country": "US", "title": "VP Sales", "employees": "300", "company": f"Acme {index}"})
    rita = configured["reps"][0].user
    tasks = list(Task.objects.filter(assignee=rita).order_by("pk"))
    assert len(tasks) >= 6
    return rita, tasks


def _login(page, url: str, username: str) -> None:
    page.goto(f"{url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def _card(page, task: Task):
    return page.locator(f'article.task[data-task="{task.pk}"]')


def _complete(page, task: Task, disposition: str, reason: str = "", deal: str = "") -> None:
    card = _card(page, task)
    card.locator("select[name=disposition]").select_option(disposition)
    if reason:
        card.locator("select[name=reason]").select_option(reason)
    if deal:
        card.locator("input[name=deal_value]").fill(deal)
    card.locator("button:has-text('Complete')").click()
    page.wait_for_selector(".messages")


def test_a_rep_works_the_queue_on_a_desktop(live_server, browser_page, rita_tasks, artefacts):  # noqa: F811
    page = browser_page
    page.set_viewport_size(DESKTOP)
    rita, tasks = rita_tasks
    _login(page, live_server.url, rita.username)
    page.screenshot(path=str(artefacts / "desktop_queue.png"), full_page=True)
    assert "open" in page.inner_text("#counts")
    _card(page, tasks[0]).locator("button:has-text('Snooze 1 h')").click()
    expect(page.locator(".messages")).to_contain_text("Snoozed")
    _complete(page, tasks[1], "contacted")
    _complete(page, tasks[2], "no_answer")
    _complete(page, tasks[3], "meeting_booked")
    _complete(page, tasks[4], "disqualified", reason="No budget")
    _complete(page, tasks[5], "converted", deal="12000")
    card = _card(page, tasks[6]) if len(tasks) > 6 else None
    if card is not None:
        card.locator("input[name=reason]").fill("Speaks only German")
        card.locator("button:has-text('Ask to reassign')").click()
    page.screenshot(path=str(artefacts / "desktop_queue_after.png"), full_page=True)
    states = {t.pk: (t.status, t.disposition, t.snooze_count) for t in Task.objects.filter(assignee=rita)}
    assert states[tasks[0].pk] == ("open", "", 1)
    assert [states[t.pk][1] for t in tasks[1:6]] == ["contacted", "no_answer", "meeting_booked", "disqualified",
                                                      "converted"]
    assert Task.objects.filter(assignee=rita, attempt=2, status="open").count() == 1  # the no-answer retry
    tasks[5].lead.refresh_from_db()
    assert tasks[5].lead.stage == "opportunity" and int(tasks[5].lead.deal_value) == 12000
    page.click(f'article.task[data-task="{tasks[0].pk}"] a')
    page.screenshot(path=str(artefacts / "desktop_lead.png"), full_page=True)
    page.fill("#log-note", "Spoke to Pat, sending a proposal")
    page.click("#log-form button:has-text('Log call')")
    page.fill("#deal-value", "30000")
    page.click("#close-form button:has-text('Won')")
    expect(page.locator("#lead-state")).to_contain_text("Stage Customer")
    page.screenshot(path=str(artefacts / "desktop_lead_won.png"), full_page=True)


def test_a_rep_on_a_phone_gets_cards_and_completes_with_a_thumb(live_server, browser_page, rita_tasks,  # noqa: F811
                                                                artefacts):
    page = browser_page
    page.set_viewport_size(PHONE)
    rita, tasks = rita_tasks
    _login(page, live_server.url, rita.username)
    page.screenshot(path=str(artefacts / "phone_queue.png"), full_page=False)
    card = _card(page, tasks[0])
    card.wait_for()  # bounding_box() does not wait for the element
    box = card.bounding_box()
    assert box["width"] <= 390 and page.evaluate("document.documentElement.scrollWidth") <= 390
    button = card.locator("button:has-text('Complete')").bounding_box()
    assert button["height"] >= 44
    _complete(page, tasks[0], "contacted")
    page.screenshot(path=str(artefacts / "phone_after_complete.png"), full_page=False)
    assert Task.objects.get(pk=tasks[0].pk).status == "done"


def test_a_manager_sees_a_breach_and_a_request_and_reassigns(live_server, browser_page, rita_tasks,  # noqa: F811
                                                             configured, sales_manager, artefacts):
    page = browser_page
    page.set_viewport_size(DESKTOP)
    rita, tasks = rita_tasks
    ravi = configured["reps"][1]
    Task.objects.filter(pk=tasks[1].pk).update(due_at=timezone.now() - timedelta(hours=5))
    Task.objects.filter(pk=tasks[2].pk).update(reassign_requested_at=timezone.now(), reassign_reason="Not my area")
    _login(page, live_server.url, sales_manager.username)
    page.goto(f"{live_server.url}/workspace/manager/")
    page.screenshot(path=str(artefacts / "manager.png"), full_page=True)
    assert "Not my area" in page.inner_text("body")
    assert page.locator(f'article.task.is-overdue[data-task="{tasks[1].pk}"]').count() == 1
    request = page.locator(f'article.task[data-task="{tasks[2].pk}"]').first
    request.locator("select[name=rep]").select_option(str(ravi.pk))
    request.locator("button:has-text('Reassign')").click()
    expect(page.locator(".messages")).to_contain_text("Reassigned")
    page.screenshot(path=str(artefacts / "manager_after.png"), full_page=True)
    moved = Task.objects.get(pk=tasks[2].pk)
    assert moved.assignee_id == ravi.user_id and moved.reassign_requested_at is None


def test_a_manager_on_a_phone_gives_a_waiting_lead_to_a_rep(live_server, browser_page, configured,  # noqa: F811
                                                            sales_manager, artefacts):
    from leads.models import Lead
    from tests.queues import work

    ravi = configured["reps"][1]
    waiting = Lead.objects.create(email="held@waiting.example", first_name="Hal", last_name="Held", country="US",
                                  queue="review", queue_reason="review: no routing rule matched")
    page = browser_page
    page.set_viewport_size(PHONE)
    _login(page, live_server.url, sales_manager.username)
    page.goto(f"{live_server.url}/workspace/manager/")
    card = page.locator(f'article.task[data-lead="{waiting.pk}"]')
    expect(card).to_contain_text("no routing rule matched")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artefacts / "manager_waiting_phone.png"), full_page=True)
    card.locator("select[name=rep]").select_option(str(ravi.pk))
    card.locator("input[name=reason]").fill("Knows the account")
    card.locator("button:has-text('Assign')").click()
    expect(page.locator(".messages")).to_contain_text("Assigned: Hal Held")
    page.screenshot(path=str(artefacts / "manager_waiting_assigned_phone.png"), full_page=True)
    waiting.refresh_from_db()
    assert waiting.owner_id == ravi.user_id and waiting.queue == ""
    assert page.locator(f'article.task[data-lead="{waiting.pk}"]').count() == 0
    work()  # the queued follow-up: a task for the new owner
    assert Task.objects.filter(lead=waiting, assignee=ravi.user).exists()
