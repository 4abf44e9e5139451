"""In a real browser at 1400 px and at 390 px: the RevOps admin opens the nurture programs, edits a step (an unknown
placeholder is refused under its field, then saved), sets the program's send window (half a window is refused under
its field), and stops an active enrollment from the enrollments list; the
sales manager sees the programs read-only and only the enrollments of their team's leads, with no "Stop" action.
Screenshots go to $LEADFLOW_SCREENSHOTS (default: the test's temporary directory)."""

from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leads.choices import Queue, Stage
from routing.choices import NurtureStatus, NurtureStopReason
from routing.models import NurtureEnrollment, NurtureProgram, NurtureStep
from routing.services import lead_nurture_enroll
from tests.routing.factories import make_lead

pytestmark = pytest.mark.django_db(transaction=True)
SIZES = ((1400, 1000), (390, 844))


@pytest.fixture
def nurture(reps, revops_admin, sales_manager):
    program = NurtureProgram.objects.create(name="Not ready yet", bands="C, D", sources="webinar, content")
    for position, (delay, subject) in enumerate(((0, "{first_name}, the guide you asked about"),
                                                 (3, "How {company} could route leads in seconds"),
                                                 (7, "Still curious, {first_name}?")), start=1):
        NurtureStep.objects.create(program=program, position=position, delay_days=delay, email_subject=subject,
                                   email_body="Hi {first_name},\n\nA short note for {company}.\n\nThe Leadflow team")
    unowned = make_lead(first_name="Nell", last_name="Nurture", company="Acme", band="D", source="webinar",
                        stage=Stage.NEW, queue=Queue.NURTURE, email="nell@acme.example")
    active = lead_nurture_enroll(lead_id=unowned.pk)
    owned = make_lead(first_name="Otto", last_name="Owned", company="Globex", band="C", source="content",
                      owner=reps[0].user, email="otto@globex.example")
    NurtureEnrollment.objects.create(lead=owned, program=program, status=NurtureStatus.STOPPED,
                                     stop_reason=NurtureStopReason.OWNER, steps_sent=1, enrolled_at=timezone.now(),
                                     finished_at=timezone.now())
    for user in (revops_admin, sales_manager):
        user.set_password("browser-pw")
        user.save()
    return {"program": program, "active": active, "unowned": unowned, "owned": owned}


def _sign_in(page, base: str, user) -> None:
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "browser-pw")
    page.click("input[type=submit]")
    page.wait_for_load_state()


def _page_fits(page, width: int) -> bool:
    """No horizontal scrolling of the page itself; at desktop width none of the result table either (on a phone it
    may scroll inside its own box)."""
    table_fits = width < 1000 or page.evaluate(
        "(() => { const r = document.querySelector('#changelist .results');"
        " return !r || r.scrollWidth <= r.clientWidth; })()")
    return page.evaluate("document.documentElement.scrollWidth") <= width and table_fits


def _at_each_size(page, url: str, shots: Path, name: str) -> None:
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(url)
        assert _page_fits(page, width), (name, width, page.evaluate("document.documentElement.scrollWidth"))
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_the_revops_admin_edits_a_program_s_steps_and_stops_an_enrollment(live_server, browser_page, nurture,
                                                                          revops_admin, shots):
    page, base, program = browser_page, live_server.url, nurture["program"]
    _sign_in(page, base, revops_admin)
    _at_each_size(page, f"{base}/admin/routing/nurtureprogram/", shots, "admin-1-programs")
    rows = page.inner_text("#result_list")
    assert "Not ready yet" in rows and "band C, D · source webinar, content" in rows

    _at_each_size(page, f"{base}/admin/routing/nurtureprogram/{program.pk}/change/", shots, "admin-2-program")
    assert page.locator(".inline-related:not(.empty-form)").count() == 3
    page.fill("#id_steps-1-email_subject", "How {compnay} could route leads")
    page.click("input[name=_save]")
    expect(page.locator("#content")).to_contain_text("unknown placeholders: compnay")
    page.screenshot(path=str(shots / "admin-3-step-refused.png"), full_page=True)
    assert NurtureStep.objects.get(program=program, position=2).email_subject.startswith("How {company}")
    page.fill("#id_steps-1-email_subject", "How {company} routes leads in seconds")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    step = NurtureStep.objects.get(program=program, position=2)
    assert step.email_subject == "How {company} routes leads in seconds"
    assert step.history.first().history_user == revops_admin

    # The send window, in the lead's time zone: half a window is refused under its field, then saved and listed.
    page.goto(f"{base}/admin/routing/nurtureprogram/{program.pk}/change/")
    page.fill("#id_send_from_hour", "9")
    page.click("input[name=_save]")
    expect(page.locator(".field-send_until_hour")).to_contain_text("give both hours of the send window, or neither")
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        assert _page_fits(page, width)
        page.locator("fieldset", has_text="Send window").screenshot(path=str(shots / f"admin-3b-window-{width}.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})
    program.refresh_from_db()
    assert program.send_from_hour is None  # nothing saved
    page.fill("#id_send_until_hour", "17")
    page.uncheck("#id_send_on_weekends")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    program.refresh_from_db()
    assert (program.send_from_hour, program.send_until_hour, program.send_on_weekends) == (9, 17, False)
    _at_each_size(page, f"{base}/admin/routing/nurtureprogram/", shots, "admin-3c-programs-window")
    assert "09:00–17:00 Mon–Fri, lead's time" in page.inner_text("#result_list")

    _at_each_size(page, f"{base}/admin/routing/nurtureenrollment/", shots, "admin-4-enrollments")
    rows = page.inner_text("#result_list")
    assert "Nell Nurture" in rows and "Active: step 1 due" in rows and "Stopped: got an owner" in rows
    active = nurture["active"]
    page.check(f"input[name=_selected_action][value='{active.pk}']")
    page.select_option("select[name=action]", "stop")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text("Stopped 1 enrollment")
    active.refresh_from_db()
    assert (active.status, active.stop_reason) == (NurtureStatus.STOPPED, NurtureStopReason.MANUAL)
    page.screenshot(path=str(shots / "admin-5-stopped.png"), full_page=True)
    page.goto(f"{base}/admin/routing/nurtureenrollment/{active.pk}/history/")
    history = page.inner_text("#change-history")
    assert "Stopped by hand" in history and "Leadflow automation" in history  # enrolled by automation, stopped by ada
    page.screenshot(path=str(shots / "admin-6-enrollment-history.png"), full_page=True)
    for width, height in SIZES:  # the lead page's enrollments (the page is long: the inline alone is kept too)
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{base}/admin/leads/lead/{nurture['unowned'].pk}/change/")
        inline = page.locator("#nurture_enrollments-group")
        assert "Not ready yet" in inline.inner_text() and "Stopped" in inline.inner_text()
        assert _page_fits(page, width)
        inline.screenshot(path=str(shots / f"admin-7-lead-enrollments-{width}.png"))


def test_the_manager_views_programs_and_only_their_team_s_enrollments(live_server, browser_page, nurture,
                                                                      sales_manager, shots):
    page, base, program = browser_page, live_server.url, nurture["program"]
    _sign_in(page, base, sales_manager)
    _at_each_size(page, f"{base}/admin/routing/nurtureprogram/{program.pk}/change/", shots, "manager-1-program")
    assert page.locator("input[name=_save]").count() == 0  # view only
    assert "the guide you asked about" in page.inner_text("#content")

    _at_each_size(page, f"{base}/admin/routing/nurtureenrollment/", shots, "manager-2-enrollments")
    rows = page.inner_text("#result_list")
    assert "Otto Owned" in rows and "Nell Nurture" not in rows  # an unowned nurture lead is no team's
    assert page.locator("select[name=action]").count() == 0 or "Stop" not in page.inner_text("select[name=action]")
