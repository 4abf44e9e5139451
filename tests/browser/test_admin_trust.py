"""In a real browser at 1400 px, as the sales manager and as the RevOps admin: the lead list (live leads only), a
lead page (reasons that add up), its history (names, "Leadflow automation"), a rule edit refused for band Z, the
rule list without horizontal scrolling, the duplicate review and the kill switches (actions only for who may use
them). Screenshots go to $LEADFLOW_SCREENSHOTS (default: the test's temporary directory)."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from leads.choices import MatchRule
from leads.models import DuplicateReview, Lead
from leads.services import lead_ingest, lead_merge
from revops.base.choices import Workflow
from revops.base.models import WorkflowSwitch

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH = 1400


@pytest.fixture
def data(configured, inline_jobs, revops_admin, sales_manager):
    lead = lead_ingest(data={"email": "grace@acme.example", "first_name": "Grace", "last_name": "Hopper",
                             "country": "US", "title": "VP Engineering", "employees": "300",
                             "utm_source": "newsletter"}).lead
    dupe = lead_ingest(data={"email": "g.hopper@other.example", "first_name": "Grace", "last_name": "Hopper",
                             "country": "US"}).lead
    lead_merge(survivor_id=lead.pk, merged_id=dupe.pk, rule=MatchRule.MANUAL, user=revops_admin, reason="same")
    a = lead_ingest(data={"email": "ann@one.example", "first_name": "Ann", "last_name": "Lee", "country": "CA"}).lead
    b = lead_ingest(data={"email": "ann@two.example", "first_name": "Ann", "last_name": "Lee", "country": "CA"}).lead
    review = DuplicateReview.objects.create(lead=a, other_lead=b, similarity=0.92, reason=MatchRule.MANUAL)
    for user in (revops_admin, sales_manager):
        user.set_password("browser-pw")
        user.save()
    return {"lead": Lead.objects.get(pk=lead.pk), "dupe": dupe, "review": review, "rule": configured["rules"][0]}


def _sign_in(page, base: str, user) -> None:
    page.set_viewport_size({"width": WIDTH, "height": 1000})
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "browser-pw")
    page.click("input[type=submit]")
    page.wait_for_load_state()


def _fits(page) -> bool:
    """The page and its result table need no horizontal scrolling."""
    return page.evaluate("document.documentElement.scrollWidth") <= WIDTH and page.evaluate(
        "(() => { const r = document.querySelector('#changelist .results');"
        " return !r || r.scrollWidth <= r.clientWidth; })()")


def _walk_lead_and_rules(page, base: str, data, shots: Path, who: str) -> None:
    lead, dupe, rule = data["lead"], data["dupe"], data["rule"]
    page.goto(f"{base}/admin/leads/lead/")
    page.screenshot(path=str(shots / f"{who}-1-lead-list.png"), full_page=True)
    rows = page.inner_text("#result_list")
    assert "Grace Hopper" in rows and f"#{dupe.pk}" not in rows  # live leads only
    assert _fits(page), page.evaluate("(() => { const r = document.querySelector('#changelist .results');"
                                      " return [document.documentElement.scrollWidth, r.scrollWidth,"
                                      " r.clientWidth]; })()")
    page.goto(f"{base}/admin/leads/lead/?merged=merged")
    assert f"#{lead.pk}" in page.inner_text("#result_list")  # the survivor, linked
    page.goto(f"{base}/admin/leads/lead/{dupe.pk}/change/")
    assert "This lead was merged into lead" in page.inner_text("#merged-banner")
    page.goto(f"{base}/admin/leads/lead/{lead.pk}/change/")
    reasons = page.inner_text("ul.reasons")
    assert "VP or above" in reasons and "vp_or_above" in reasons and f"Score {lead.score}" in reasons
    assert reasons.index("VP or above") < reasons.index("vp_or_above")  # label first, code second
    assert "newsletter" in page.inner_text("body")  # first touch as a table
    page.screenshot(path=str(shots / f"{who}-2-lead-page.png"), full_page=True)
    page.goto(f"{base}/admin/leads/lead/{lead.pk}/history/")
    history = page.inner_text("#change-history")
    assert "Leadflow automation" in history and "Deleted user" not in history and "pk=None" not in history
    owner = lead.owner.get_full_name() or lead.owner.username
    assert owner in history
    page.screenshot(path=str(shots / f"{who}-3-history.png"), full_page=True)
    page.goto(f"{base}/admin/routing/routingrule/")
    assert "team Mid-Market" in page.inner_text("#result_list") and _fits(page)
    page.screenshot(path=str(shots / f"{who}-4-rule-list.png"), full_page=True)
    page.goto(f"{base}/admin/routing/routingrule/{rule.pk}/change/")
    page.fill("#id_bands", "Z")
    page.click("input[name=_save]")
    expect(page.locator("#content")).to_contain_text("unknown bands: Z; use A, B, C, D")
    page.screenshot(path=str(shots / f"{who}-5-rule-band-z.png"), full_page=True)


def test_the_manager_walks_the_admin_and_sees_only_what_they_may_do(live_server, browser_page, data,  # noqa: F811
                                                                     sales_manager, shots):
    page, base = browser_page, live_server.url
    _sign_in(page, base, sales_manager)
    _walk_lead_and_rules(page, base, data, shots, "manager")
    page.goto(f"{base}/admin/leads/duplicatereview/")
    page.click("text=Compare")
    expect(page.locator("#content")).to_contain_text("Possible duplicate")
    page.screenshot(path=str(shots / "manager-6-duplicate-review.png"), full_page=True)
    page.goto(f"{base}/admin/revops/workflowswitch/")
    assert "Enrichment" in page.inner_text("#result_list")
    assert page.locator("select[name=action]").count() == 0 or "Switch OFF" not in page.inner_text(
        "select[name=action]")
    page.screenshot(path=str(shots / "manager-7-switches.png"), full_page=True)
    page.goto(f"{base}/admin/leads/leadimport/companies/upload/")
    assert "Your role does not allow this" in page.inner_text("body")
    page.screenshot(path=str(shots / "manager-8-refused.png"), full_page=True)


def test_the_revops_admin_walks_the_admin_and_uses_a_kill_switch(live_server, browser_page, data,  # noqa: F811
                                                                  revops_admin, shots):
    page, base = browser_page, live_server.url
    _sign_in(page, base, revops_admin)
    _walk_lead_and_rules(page, base, data, shots, "admin")
    page.goto(f"{base}/admin/leads/duplicatereview/")
    assert page.locator("text=Compare").count() == 1
    page.goto(f"{base}/admin/revops/workflowswitch/")
    switch = WorkflowSwitch.objects.get(workflow=Workflow.ENRICHMENT)
    page.check(f"input[name=_selected_action][value='{switch.pk}']")
    page.select_option("select[name=action]", "switch_off")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text("Switched off.")
    switch.refresh_from_db()
    assert not switch.enabled
    page.screenshot(path=str(shots / "admin-6-switches.png"), full_page=True)
