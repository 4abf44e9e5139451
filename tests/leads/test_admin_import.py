"""The admin CSV screens: upload → preview → confirm → progress → errors download; company directory; export."""

from __future__ import annotations

import csv
import io

import django_rq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from leads import jobs as lead_jobs
from leads.choices import ImportStatus
from leads.csv import DIRECTORY_IMPORT_SOURCE
from leads.jobs import lead_import_run_job
from leads.models import CompanyProfile, Lead, LeadImport
from leads.services import lead_ingest
from revops.base.jobs import jobs_inline

pytestmark = pytest.mark.django_db

LEADS_CSV = (
    "email,first_name,last_name,phone,country,Plan\n"
    "ann@acme.example,Ann,Lee,(415) 555-0100,usa,pro\n"
    "bob@beta.example,Bob,Roe,,Deutschland,free\n"
    "broken,Carl,Cox,,,\n"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def admin_client(client, revops_admin):
    client.force_login(revops_admin)
    return client


def upload(client, content: str | bytes = LEADS_CSV, name: str = "fair.csv", source: str = "fair-2024"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(reverse("admin:leads_leadimport_upload"),
                       {"file": SimpleUploadedFile(name, data, content_type="text/csv"), "source": source})


def streamed(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_lead_changelist_offers_csv_import_and_filtered_export(admin_client):
    page = admin_client.get(reverse("admin:leads_lead_changelist") + "?stage__exact=mql").content.decode()
    assert reverse("admin:leads_leadimport_upload") in page
    assert reverse("admin:leads_leadimport_export_leads") + "?stage__exact=mql" in page
    assert "Export selected leads as CSV" in page


def test_upload_preview_confirm_progress_and_errors_download(admin_client, django_capture_on_commit_callbacks):
    # 1. Upload: stored, nothing imported yet.
    response = upload(admin_client)
    lead_import = LeadImport.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:leads_leadimport_preview", args=[lead_import.pk])
    assert (lead_import.status, lead_import.source, lead_import.original_name) == ("uploaded", "fair-2024", "fair.csv")

    # 2. Preview: raw beside normalized, the errors a row would get, the custom columns, the row count.
    page = admin_client.get(response.url).content.decode()
    assert "<strong>3</strong> data rows" in page
    assert "(415) 555-0100" in page and "+14155550100" in page
    assert "Deutschland" in page and ">DE<" in page
    assert "Custom columns" in page and "Plan" in page
    assert "&#x27;broken&#x27; is not a valid email address" in page
    assert "Import 3 rows" in page
    assert not Lead.objects.exists()
    lead_import.refresh_from_db()
    assert lead_import.total_rows == 3

    # 3. Confirm: queued once, the job enqueued after commit.
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(reverse("admin:leads_leadimport_preview", args=[lead_import.pk]))
    progress_url = reverse("admin:leads_leadimport_progress", args=[lead_import.pk])
    assert response.status_code == 302 and response.url == progress_url
    assert len(callbacks) == 1
    lead_import.refresh_from_db()
    assert lead_import.status == ImportStatus.QUEUED

    # 4. Progress while queued: the page refreshes itself every 2 seconds.
    page = admin_client.get(progress_url).content.decode()
    assert '<meta http-equiv="refresh" content="2">' in page and "Queued" in page

    # 5. The job (what the worker runs), then the finished page with counts and the errors download.
    assert lead_import_run_job(lead_import.pk) == "created 2, merged 0, updated 0, review 0, errors 1"
    lead_import.refresh_from_db()
    assert lead_import.status == ImportStatus.DONE and lead_import.processed_rows == 3
    assert lead_import.counts == {"created": 2, "merged": 0, "updated": 0, "review": 0, "errors": 1}
    assert lead_import.finished_at is not None
    assert set(Lead.objects.values_list("source", flat=True)) == {"fair-2024"}
    assert Lead.objects.get(email="ann@acme.example").custom == {"Plan": "pro"}
    page = admin_client.get(progress_url).content.decode()
    assert "http-equiv" not in page
    assert "Download the per-row errors" in page and "is not a valid email address" in page
    download = admin_client.get(reverse("admin:leads_leadimport_errors", args=[lead_import.pk]))
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert rows[0] == ["row", "field", "reason"] and rows[1][:2] == ["4", "email"]


def test_confirming_twice_runs_the_import_once(admin_client, django_capture_on_commit_callbacks):
    upload(admin_client)
    lead_import = LeadImport.objects.get()
    url = reverse("admin:leads_leadimport_preview", args=[lead_import.pk])
    with django_capture_on_commit_callbacks() as callbacks:
        admin_client.post(url)
        admin_client.post(url)
    assert len(callbacks) == 1
    lead_import_run_job(lead_import.pk)
    assert lead_import_run_job(lead_import.pk) == "not queued"
    assert Lead.objects.count() == 2


def test_confirm_runs_the_job_on_commit_and_inline_mode_runs_it_here(admin_client,
                                                                    django_capture_on_commit_callbacks):
    upload(admin_client)
    lead_import = LeadImport.objects.get()
    with jobs_inline(), django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("admin:leads_leadimport_preview", args=[lead_import.pk]))
    lead_import.refresh_from_db()
    assert lead_import.status == ImportStatus.DONE and Lead.objects.count() == 2


def test_confirm_puts_the_job_on_the_queue(admin_client, django_capture_on_commit_callbacks):
    upload(admin_client)
    lead_import = LeadImport.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("admin:leads_leadimport_preview", args=[lead_import.pk]))
    jobs = django_rq.get_queue("default").jobs
    assert [(job.func_name, job.args) for job in jobs] == [("leads.jobs.lead_import_run_job", (lead_import.pk,))]
    assert jobs[0].timeout >= 3600


def test_the_job_records_progress_as_it_goes(admin_client, monkeypatch):
    rows = "".join(f"lead{i}@x.example,L{i}\n" for i in range(450))
    upload(admin_client, "email,last_name\n" + rows)
    lead_import = LeadImport.objects.get()
    admin_client.get(reverse("admin:leads_leadimport_preview", args=[lead_import.pk]))
    LeadImport.objects.filter(pk=lead_import.pk).update(status=ImportStatus.QUEUED)
    seen = []
    real_import = lead_jobs.import_leads_csv

    def spying_import(fileobj, *, progress, **kwargs):
        def spy(report):
            progress(report)
            seen.append(LeadImport.objects.values_list("status", "processed_rows").get(pk=lead_import.pk))
        return real_import(fileobj, progress=spy, **kwargs)

    monkeypatch.setattr(lead_jobs, "import_leads_csv", spying_import)
    lead_import_run_job(lead_import.pk)
    assert seen == [("running", 200), ("running", 400), ("running", 450)]
    lead_import.refresh_from_db()
    assert (lead_import.status, lead_import.total_rows, lead_import.processed_rows) == ("done", 450, 450)
    assert not lead_import.errors_file


def test_a_file_level_error_is_shown_on_the_preview_and_cannot_be_confirmed(admin_client):
    upload(admin_client, "first_name,company\nAnn,Acme\n")
    lead_import = LeadImport.objects.get()
    page = admin_client.get(reverse("admin:leads_leadimport_preview", args=[lead_import.pk])).content.decode()
    assert "No email and no phone column" in page and "Columns found: first_name, company." in page
    assert "Import 1 row" not in page
    lead_import.refresh_from_db()
    assert lead_import.status == ImportStatus.FAILED
    admin_client.post(reverse("admin:leads_leadimport_preview", args=[lead_import.pk]))
    assert LeadImport.objects.get().status == ImportStatus.FAILED and not Lead.objects.exists()


def test_a_utf16_upload_is_refused_on_the_preview(admin_client):
    upload(admin_client, LEADS_CSV.encode("utf-16"))
    lead_import = LeadImport.objects.get()
    page = admin_client.get(reverse("admin:leads_leadimport_preview", args=[lead_import.pk])).content.decode()
    assert "UTF-16" in page


def test_the_company_directory_goes_through_the_same_flow(admin_client):
    page = admin_client.get(reverse("admin:leads_companyprofile_changelist")).content.decode()
    assert reverse("admin:leads_leadimport_company_upload") in page
    content = "domain,name,employees,country\nhttps://www.acme.example/,Acme,250,Germany\nbeta.example,Beta,many,FR\n"
    response = admin_client.post(reverse("admin:leads_leadimport_company_upload"),
                                 {"file": SimpleUploadedFile("companies.csv", content.encode())})
    lead_import = LeadImport.objects.get()
    assert lead_import.source == DIRECTORY_IMPORT_SOURCE
    page = admin_client.get(response.url).content.decode()
    assert "https://www.acme.example/" in page and ">acme.example<" in page
    assert "&#x27;many&#x27; is not a valid employee count" in page
    admin_client.post(response.url)
    assert lead_import_run_job(lead_import.pk) == "created 1, updated 0, unchanged 0, errors 1"
    profile = CompanyProfile.objects.get()
    assert (profile.domain, profile.name, profile.employees, profile.country) == ("acme.example", "Acme", 250, "DE")
    page = admin_client.get(reverse("admin:leads_leadimport_progress", args=[lead_import.pk])).content.decode()
    assert "Company directory" in page and "Download the per-row errors" in page


def test_the_lead_source_name_of_the_company_directory_is_reserved(admin_client):
    response = upload(admin_client, source=DIRECTORY_IMPORT_SOURCE)
    assert response.status_code == 200 and "reserved" in response.content.decode()
    assert not LeadImport.objects.exists()


def test_importing_needs_the_import_permission(client):
    from django.contrib.auth.models import Permission, User

    clerk = User.objects.create_user("clerk", password="pw", is_staff=True)  # may add and view leads, not import
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_lead", "add_lead"]))
    client.force_login(clerk)
    assert client.get(reverse("admin:leads_leadimport_upload")).status_code == 403
    assert client.get(reverse("admin:leads_leadimport_company_upload")).status_code == 403
    page = client.get(reverse("admin:leads_lead_changelist")).content.decode()
    assert reverse("admin:leads_leadimport_upload") not in page
    assert reverse("admin:leads_leadimport_export_leads") in page


def test_export_selected_leads_action_streams_the_selected_live_leads(admin_client):
    ann = Lead.objects.create(email="ann@x.example", company="=cmd|' /C calc'!A0")
    bob = Lead.objects.create(email="bob@x.example")
    Lead.objects.create(email="carl@x.example")
    merged = Lead.objects.create(email="old@x.example", merged_into=ann)
    response = admin_client.post(reverse("admin:leads_lead_changelist"), {
        "action": "export_selected_leads_csv", "_selected_action": [ann.pk, bob.pk, merged.pk]})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="leads-')
    rows = streamed(response)
    assert rows[0][:2] == ["lead_id", "external_ids"]
    assert [row[0] for row in rows[1:]] == [str(ann.pk), str(bob.pk)]
    assert rows[1][rows[0].index("company")] == "'=cmd|' /C calc'!A0"


def test_export_all_filtered_exports_what_the_changelist_filters_show(admin_client):
    mql = Lead.objects.create(email="mql@x.example", stage="mql")
    Lead.objects.create(email="new@x.example", stage="new")
    url = reverse("admin:leads_leadimport_export_leads")
    rows = streamed(admin_client.get(url + "?stage__exact=mql"))
    assert [row[0] for row in rows[1:]] == [str(mql.pk)]
    assert len(streamed(admin_client.get(url))) == 3
    assert [row[0] for row in streamed(admin_client.get(url + "?q=mql%40x"))[1:]] == [str(mql.pk)]


def test_export_all_needs_the_view_permission(client, django_user_model):
    user = django_user_model.objects.create_user("nobody", password="pw", is_staff=True)
    client.force_login(user)
    assert client.get(reverse("admin:leads_leadimport_export_leads")).status_code == 403


def test_the_imports_list_shows_each_import_with_its_progress(admin_client):
    upload(admin_client)
    lead_import = LeadImport.objects.get()
    assert admin_client.get(reverse("admin:leads_leadimport_add")).url == reverse("admin:leads_leadimport_upload")
    page = admin_client.get(reverse("admin:leads_leadimport_changelist")).content.decode()
    assert "fair.csv" in page and "Leads (fair-2024)" in page
    assert reverse("admin:leads_leadimport_preview", args=[lead_import.pk]) in page
    assert reverse("admin:leads_leadimport_company_upload") in page
    assert admin_client.get(reverse("admin:leads_leadimport_change", args=[lead_import.pk])).status_code == 200


def test_the_preview_says_what_each_row_would_become_without_writing(admin_client):
    ann = lead_ingest(data={"email": "ann@acme.example", "first_name": "Ann", "last_name": "Lee"}).lead
    jon = lead_ingest(data={"email": "jon.smith@initech.example", "first_name": "Jon", "last_name": "Smith"}).lead
    kept = lead_ingest(data={"email": "k@x.example", "external_id": "42"}, source="fair-2024").lead
    content = ("email,first_name,last_name,external_id\n"
               "ANN@acme.example,Ann,Lee,\n"
               "john.smith@initech.example,John,Smith,\n"
               "new@x.example,New,Person,42\n"
               "fresh@nowhere.example,Fresh,Face,\n")
    response = upload(admin_client, content)
    page = admin_client.get(response.url).content.decode()
    assert f"Would merge into lead #{ann.pk} (same e-mail, 100%)" in page
    assert f"Would be created, with a duplicate review against lead #{jon.pk}" in page
    assert f"Would update lead #{kept.pk} (same source and external id)" in page
    assert page.count("Would be created") == 2
    assert Lead.objects.count() == 3
