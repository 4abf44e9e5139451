"""In a real browser: a page on another origin (its own little web server) carries the admin's snippet, a visitor
fills it in, and the lead is created, scored and routed; a page on an origin the form does not allow cannot post."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from leads.models import Lead, WebForm, WebFormSubmission
from leads.webform_snippet import webform_snippet
from routing.models import Task
from tests.queues import work

pytestmark = pytest.mark.django_db(transaction=True)

CONSENT = "Yes, Acme may contact me about its products."


class Site:
    """A company's website on its own origin: serves one page."""

    def __init__(self) -> None:
        self.html = ""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
                payload = site.html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sites():
    allowed, other = Site(), Site()
    yield allowed, other
    allowed.stop()
    other.stop()


def page_with(snippet: str) -> str:
    return ("<!doctype html><html><head><meta charset='utf-8'><title>Acme - contact us</title>"
            "<style>body{font-family:sans-serif;margin:2em} label{display:inline-block;width:8em}"
            " small{color:#b00020;margin-left:1em}</style></head>"
            f"<body><h1>Talk to Acme</h1>{snippet}</body></html>")


def test_a_page_on_another_origin_submits_the_form_and_the_lead_is_scored_and_routed(
        live_server, browser_page, configured, sites, shots):  # noqa: F811 - the shared Chromium fixture
    allowed, other = sites
    form = WebForm.objects.create(name="Contact us", key="acme-contact-01", allowed_origins=allowed.origin,
                                  fields=["first_name", "last_name", "email", "company", "country", "title"],
                                  consent_text=CONSENT, source="website")
    allowed.html = other.html = page_with(webform_snippet(form, base_url=live_server.url))
    assert allowed.origin != live_server.url
    page = browser_page

    page.goto(allowed.origin)
    page.fill("input[name=first_name]", "G" * 2100)  # over the input boundary's cap: a field error, shown beside it
    page.fill("input[name=email]", "grace@navy.example")
    page.click("button[type=submit]")
    page.wait_for_function("document.querySelector('[data-leadflow-error=first_name]').textContent !== ''")
    assert "characters" in page.inner_text("[data-leadflow-error=first_name]")
    page.screenshot(path=str(shots / "webform-1-field-error.png"), full_page=True)
    assert not Lead.objects.exists()

    page.fill("input[name=first_name]", "Grace")
    page.fill("input[name=last_name]", "Hopper")
    page.fill("input[name=company]", "US Navy")
    page.fill("input[name=country]", "US")
    page.fill("input[name=title]", "VP Engineering")
    page.check("input[name=consent]")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Thank you, we will be in touch.")
    page.screenshot(path=str(shots / "webform-2-sent.png"), full_page=True)

    work()  # the pipeline's queued jobs: enrich → score → route → task
    lead = Lead.objects.get(email="grace@navy.example")
    assert lead.source == "website" and lead.consent == "opt_in"
    assert lead.scored_at is not None and lead.score > 0
    assert lead.owner is not None and Task.objects.filter(lead=lead, assignee=lead.owner).exists()
    submission = WebFormSubmission.objects.get(lead=lead)
    assert submission.origin == allowed.origin and submission.consent_text == CONSENT

    page.goto(other.origin)  # the same snippet on a site the form does not allow
    page.fill("input[name=email]", "mallory@elsewhere.example")
    page.click("button[type=submit]")
    page.wait_for_selector("text=could not be sent")
    page.screenshot(path=str(shots / "webform-3-other-origin-refused.png"), full_page=True)
    assert not Lead.objects.filter(email="mallory@elsewhere.example").exists()
    preflight = requests.options(f"{live_server.url}/api/forms/{form.key}/submit", timeout=5, headers={
        "Origin": other.origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    allowed_preflight = requests.options(f"{live_server.url}/api/forms/{form.key}/submit", timeout=5, headers={
        "Origin": allowed.origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert allowed_preflight.headers["Access-Control-Allow-Origin"] == allowed.origin


def test_the_admin_shows_the_snippet_on_the_forms_page(live_server, browser_page, revops_admin,  # noqa: F811
                                                        shots):
    form = WebForm.objects.create(name="Contact us", key="acme-contact-02", allowed_origins="https://www.acme.example",
                                  consent_text=CONSENT)
    revops_admin.set_password("browser-pw")
    revops_admin.save()
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/?next=/admin/leads/webform/{form.pk}/change/")
    page.fill("#id_username", revops_admin.username)
    page.fill("#id_password", "browser-pw")
    page.click("input[type=submit]")
    snippet = page.input_value("#webform-snippet")
    assert f"/api/forms/{form.key}/submit" in snippet and CONSENT in snippet
    page.locator("#webform-snippet").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "webform-4-admin-snippet.png"), full_page=True)


def test_a_busy_server_is_asked_again_after_its_retry_after_and_the_visitor_sees_thanks(
        live_server, browser_page, configured, sites, shots, settings, monkeypatch):
    from leads.api.webforms import WebFormSubmitView
    from revops.base.db.busy import busy_response

    settings.LEADFLOW_BUSY_RETRY_AFTER = 1
    allowed, _other = sites
    form = WebForm.objects.create(name="Contact us", key="acme-contact-03", allowed_origins=allowed.origin,
                                  fields=["email"], source="website")
    allowed.html = page_with(webform_snippet(form, base_url=live_server.url))
    answered = []
    original = WebFormSubmitView.post

    def busy_twice(self, request, *args, **kwargs):
        answered.append(len(answered))
        if len(answered) <= 2:  # what a saturated SQLite answers: 503 with Retry-After, nothing stored
            return busy_response(api=True)
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(WebFormSubmitView, "post", busy_twice)
    page = browser_page
    page.goto(allowed.origin)
    page.fill("input[name=email]", "patient@visitor.example")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Sending…")
    page.screenshot(path=str(shots / "webform-4-busy-sending.png"), full_page=True)
    page.wait_for_selector("text=Thank you, we will be in touch.", timeout=15000)
    assert len(answered) == 3
    assert Lead.objects.filter(email="patient@visitor.example").count() == 1
