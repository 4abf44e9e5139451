"""Enrichment: the company directory, the HTTP JSON provider against a local server, failures, re-enrichment."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.choices import EnrichmentStatus
from leads.models import CompanyProfile, EnrichmentProvider, EnrichmentRequest, Lead
from leads.selectors import leads_due_for_reenrichment
from leads.services import lead_enrich, lead_ingest, leads_enrich

pytestmark = pytest.mark.django_db


class FakeCompanyApi:
    """A local HTTP server answering like a firmographics API; counts calls (each one would be paid)."""

    def __init__(self):
        self.calls: list[dict] = []
        self.status = 200
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                api.calls.append({"path": self.path, "key": self.headers.get("Idempotency-Key"),
                                  "auth": self.headers.get("X-Api-Key")})
                if api.status != 200:
                    self.send_response(api.status)
                    self.end_headers()
                    return
                body = json.dumps({"company": {"name": "Initech", "industry": "Technology",
                                               "size": 420, "hq": {"country": "Germany"}}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    server = FakeCompanyApi()
    yield server
    server.stop()


@pytest.fixture
def http_provider(api):
    return EnrichmentProvider.objects.create(
        name="Firmo", kind=EnrichmentProvider.KIND_HTTP, url_template=api.url + "/companies?domain={domain}",
        auth_header="X-Api-Key", auth_value="secret", timeout_seconds=2, retries=1,
        field_map={"company": "company.name", "industry": "company.industry", "employees": "company.size",
                   "country": "company.hq.country"},
    )


def test_directory_fills_only_empty_fields():
    CompanyProfile.objects.create(domain="acme.example", name="Acme", industry="Retail", employees=80, country="US")
    lead = lead_ingest(data={"email": "a@acme.example", "industry": "Technology"}).lead
    assert lead_enrich(lead_id=lead.pk) == EnrichmentStatus.DONE
    lead.refresh_from_db()
    assert lead.industry == "Technology" and lead.employees == 80 and lead.size_band == "51-200"
    assert lead.country == "US" and lead.company == "Acme"


def test_http_provider_maps_fields_and_sends_auth_and_idempotency_key(api, http_provider):
    lead = lead_ingest(data={"email": "p@initech.example"}).lead
    assert lead_enrich(lead_id=lead.pk) == EnrichmentStatus.DONE
    lead.refresh_from_db()
    assert (lead.company, lead.industry, lead.employees, lead.country) == ("Initech", "Technology", 420, "DE")
    assert api.calls == [{"path": "/companies?domain=initech.example", "key": f"{http_provider.pk}:{lead.pk}:initial",
                          "auth": "secret"}]


def test_a_lead_is_never_paid_for_twice(api, http_provider):
    lead = lead_ingest(data={"email": "p@initech.example"}).lead
    lead_enrich(lead_id=lead.pk)
    Lead.objects.filter(pk=lead.pk).update(industry="", employees=None)
    lead_enrich(lead_id=lead.pk)
    assert len(api.calls) == 1 and EnrichmentRequest.objects.count() == 1
    assert Lead.objects.get(pk=lead.pk).employees == 420


def test_provider_failure_flags_the_lead_for_manual_enrichment_and_goes_on(api, http_provider):
    api.status = 503
    lead = lead_ingest(data={"email": "p@initech.example"}).lead
    assert lead_enrich(lead_id=lead.pk) == EnrichmentStatus.FAILED
    lead.refresh_from_db()
    assert "needs_manual_enrichment" in lead.flags
    assert len(api.calls) == 2  # one retry
    assert "HTTP 503" in EnrichmentRequest.objects.get().error


def test_not_found_is_not_a_failure(api, http_provider):
    api.status = 404
    lead = lead_ingest(data={"email": "p@nowhere.example"}).lead
    assert lead_enrich(lead_id=lead.pk) == EnrichmentStatus.NOT_FOUND


def test_enrichment_rescores_the_lead(configured, inline_jobs, django_capture_on_commit_callbacks):
    CompanyProfile.objects.create(domain="big.example", name="Big", industry="Technology", employees=300)
    with django_capture_on_commit_callbacks(execute=True):
        lead = lead_ingest(data={"email": "x@big.example", "country": "US"}).lead
    lead.refresh_from_db()
    assert {r["code"] for r in lead.score_reasons} >= {"target_industry", "size_50_1000"}


def test_reenrichment_picks_old_incomplete_leads_only():
    old = timezone.now() - timedelta(days=90)
    incomplete = Lead.objects.create(email="a@x.example")
    complete = Lead.objects.create(email="b@x.example", industry="Retail", employees=5, company="B",
                                   annual_revenue=1)
    recent = Lead.objects.create(email="c@x.example")
    Lead.objects.filter(pk__in=[incomplete.pk, complete.pk]).update(created_at=old, enriched_at=old)
    assert leads_due_for_reenrichment() == [incomplete.pk]
    assert recent.pk not in leads_due_for_reenrichment()


def _enriched_state(lead_ids):
    return [Lead.objects.filter(pk=pk).values("company", "industry", "employees", "country", "enrichment_status",
                                              "flags").get() for pk in lead_ids]


def _batch_leads():
    CompanyProfile.objects.create(domain="acme.example", name="Acme", industry="Retail", employees=80, country="US")
    CompanyProfile.objects.create(domain="big.example", name="Big", industry="Technology", employees=900)
    rows = [{"email": "a@acme.example", "industry": "Technology"}, {"email": "b@big.example"},
            {"email": "c@unknown.example"}, {"first_name": "No", "last_name": "Domain", "phone": "+1 415 555 0100"}]
    return [lead_ingest(data=row).lead.pk for row in rows]


def test_a_batch_enriches_each_lead_as_one_alone_would_with_one_directory_read():
    lead_ids = _batch_leads()
    for pk in lead_ids:
        lead_enrich(lead_id=pk, announce=False)
    one_by_one = _enriched_state(lead_ids)
    Lead.objects.filter(pk__in=lead_ids).update(company="", industry="", employees=None, country="",
                                                enrichment_status=EnrichmentStatus.PENDING)
    Lead.objects.filter(pk=lead_ids[0]).update(industry="Technology")
    with CaptureQueriesContext(connection) as queries:
        statuses = leads_enrich(lead_ids=lead_ids)
    assert _enriched_state(lead_ids) == one_by_one
    assert statuses == {EnrichmentStatus.DONE: 2, EnrichmentStatus.NOT_FOUND: 2}
    directory_reads = [q["sql"] for q in queries.captured_queries if "leads_companyprofile" in q["sql"]]
    assert len(directory_reads) == 1
    # The two leads found nothing, so changed the same fields: written by one statement (one prepared update for
    # both), not one each; the two filled ones changed different fields.
    updates = [q["sql"] for q in queries.captured_queries if 'UPDATE "leads_lead"' in q["sql"]]
    assert len(updates) == 3 and sum(sql.startswith("2 times: ") for sql in updates) == 1
    reasons = [Lead.objects.get(pk=pk).history.first().history_change_reason for pk in lead_ids]
    assert reasons[2] == reasons[3] == "automation:enrichment nothing new" and reasons[1].startswith(
        "automation:enrichment filled ")


def test_a_batch_asks_a_remote_provider_about_each_lead_and_notes_its_failures(api, http_provider):
    EnrichmentProvider.objects.create(name="Directory", kind=EnrichmentProvider.KIND_DIRECTORY)
    lead_ids = _batch_leads()
    api.status = 503
    statuses = leads_enrich(lead_ids=lead_ids[:3])
    assert statuses == {EnrichmentStatus.PARTIAL: 2, EnrichmentStatus.FAILED: 1}  # the directory filled two
    assert len(api.calls) == 6  # each lead asked, each retried once
    assert all("needs_manual_enrichment" in state["flags"] for state in _enriched_state(lead_ids[:3]))
