"""CSV import (docs/csv.md): counts, row numbers, headers, encodings, bad files, isolation of rows, the command."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import django_rq
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from leads.csv import (
    MAX_ERRORS_KEPT,
    MAX_FIELD_CHARS,
    import_companies_csv,
    import_leads_csv,
)
from leads.models import Account, CompanyProfile, Lead, SourceRecord
from leads.services import lead_ingest

pytestmark = pytest.mark.django_db


def csv_file(tmp_path, content: str | bytes, name: str = "leads.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def run_import(path, **kwargs):
    with path.open("rb") as fileobj:
        return import_leads_csv(fileobj, **kwargs)


def test_it_counts_created_merged_updated_review_and_error_rows(tmp_path):
    path = csv_file(tmp_path, (
        "external_id,first_name,last_name,email,phone,source\n"
        "1,Ann,Lee,ann@acme.example,,crm\n"
        "2,Bob,Roe,bob@acme.example,,crm\n"
        ",Ann,Lee,ANN@acme.example,,web\n"  # the same e-mail: merged into Ann
        "2,Bob,Roe,bob.roe@acme.example,,crm\n"  # the same source id: updates Bob
        ",Front,Desk,,+14155550100,web\n"
        ",Zed,Quinn,,+14155550100,web\n"  # same phone, another name: created, review pair opened
        ",Broken,Mail,not-an-email,,web\n"
    ))
    report = run_import(path)
    assert report.file_error == ""
    assert report.counts == {"created": 3, "merged": 1, "updated": 1, "review": 1, "errors": 1}
    assert report.rows == 7
    assert report.summary() == "created 3, merged 1, updated 1, review 1, errors 1"
    assert Lead.objects.live().count() == 4


def test_row_numbers_start_at_two_after_the_header_and_count_blank_lines(tmp_path):
    path = csv_file(tmp_path, "email,first_name\nok@x.example,Ok\n\n,,\nbroken,Bad\n")
    report = run_import(path)
    assert report.rows == 2  # blank lines are skipped, not rows
    assert {(e.row, e.field) for e in report.error_sample} == {(5, "email")}
    assert "not a valid email" in report.error_sample[0].reason


def test_header_names_are_trimmed_and_matched_ignoring_case_spaces_and_hyphens(tmp_path):
    path = csv_file(tmp_path, " Email ,First Name,LAST-NAME,Country\nann@x.example,Ann,Lee,germany\n")
    report = run_import(path)
    assert report.created == 1 and report.custom_columns == []
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.last_name, lead.country) == ("ann@x.example", "Ann", "Lee", "DE")


def test_columns_outside_the_contract_are_kept_as_custom_attributes(tmp_path):
    path = csv_file(tmp_path, "email,Plan,  Seats \nann@x.example,pro,12\n")
    report = run_import(path)
    assert report.custom_columns == ["Plan", "Seats"]
    assert Lead.objects.get().custom == {"Plan": "pro", "Seats": "12"}


def test_a_utf8_file_with_a_byte_order_mark_imports(tmp_path):
    path = csv_file(tmp_path, "\ufeffemail,company\nann@x.example,Müller GmbH\n".encode())
    report = run_import(path)
    assert report.created == 1 and Lead.objects.get().company == "Müller GmbH"


def test_a_row_in_latin1_is_a_row_error_and_the_other_rows_import(tmp_path):
    content = (b"email,company\n"
               b"ann@x.example,M\xfcller GmbH\n"  # Latin-1 "ü"
               b"bob@x.example,M\xc3\xbcller AG\n")  # UTF-8 "ü"
    report = run_import(csv_file(tmp_path, content))
    assert report.counts["created"] == 1 and report.errors == 1
    error = report.error_sample[0]
    assert (error.row, error.field) == (2, "company")
    assert "not valid UTF-8 (byte 0xFC)" in error.reason and "Latin-1" in error.reason
    assert any("not valid UTF-8" in warning for warning in report.warnings)
    assert list(Lead.objects.values_list("company", flat=True)) == ["Müller AG"]


def test_a_utf16_file_is_refused_with_a_clear_message(tmp_path):
    path = csv_file(tmp_path, "email,company\nann@x.example,Acme\n".encode("utf-16"))
    report = run_import(path)
    assert "UTF-16" in report.file_error and "CSV UTF-8" in report.file_error
    assert report.rows == 0 and not Lead.objects.exists()


def test_a_utf16_file_without_byte_order_mark_is_refused_too(tmp_path):
    report = run_import(csv_file(tmp_path, "email\nann@x.example\n".encode("utf-16-le")))
    assert "UTF-16" in report.file_error


def test_a_latin1_header_is_a_file_error(tmp_path):
    report = run_import(csv_file(tmp_path, b"email,soci\xe9t\xe9\nann@x.example,Acme\n"))
    assert "header row is not valid UTF-8" in report.file_error and not Lead.objects.exists()


def test_an_excel_workbook_is_refused(tmp_path):
    report = run_import(csv_file(tmp_path, b"PK\x03\x04" + b"\x14" * 100))
    assert "Excel workbook" in report.file_error


def test_a_file_without_an_email_or_phone_column_is_refused_naming_the_columns_found(tmp_path):
    path = csv_file(tmp_path, "first_name,e-mail address\nAnn,ann@x.example\n")
    report = run_import(path)
    assert report.file_error.startswith("No email and no phone column")
    assert "Columns found: first_name, e-mail address." in report.file_error
    assert not Lead.objects.exists()


def test_a_semicolon_separated_file_gets_a_hint(tmp_path):
    report = run_import(csv_file(tmp_path, "email;first_name\nann@x.example;Ann\n"))
    assert "';'" in report.file_error


def test_duplicate_header_names_are_refused(tmp_path):
    report = run_import(csv_file(tmp_path, "email,Email,phone\na@x.example,b@x.example,\n"))
    assert "Duplicate column names" in report.file_error
    assert '"email" (column 1) and "Email" (column 2)' in report.file_error
    assert not Lead.objects.exists()


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\n  \n"])
def test_an_empty_file_is_refused(tmp_path, content):
    assert "empty" in run_import(csv_file(tmp_path, content)).file_error


def test_a_header_without_rows_imports_nothing_without_error(tmp_path):
    report = run_import(csv_file(tmp_path, "email,phone\n"))
    assert report.file_error == "" and report.rows == 0


def test_a_row_with_more_cells_than_headers_is_a_row_error(tmp_path):
    path = csv_file(tmp_path, "email,company\na@x.example,Acme,Inc\nb@x.example,Beta,,\n")
    report = run_import(path)
    assert report.created == 1 and report.errors == 1  # trailing empty cells are harmless
    assert report.error_sample[0].row == 2
    assert "3 cells but the header names 2 columns" in report.error_sample[0].reason


def test_fewer_cells_than_headers_read_as_empty(tmp_path):
    report = run_import(csv_file(tmp_path, "email,company,title\na@x.example\n"))
    assert report.created == 1


def test_a_field_over_the_size_limit_is_a_row_error_and_the_next_rows_import(tmp_path):
    huge = "x" * (MAX_FIELD_CHARS + 10)
    path = csv_file(tmp_path, f"email,company\na@x.example,{huge}\nb@x.example,Beta\n")
    report = run_import(path)
    assert report.created == 1 and report.errors == 1
    assert report.error_sample[0].row == 2
    assert "longer than 1,048,576 characters" in report.error_sample[0].reason
    assert Lead.objects.get().email == "b@x.example"


def test_a_field_over_the_column_length_is_a_row_error(tmp_path):
    report = run_import(csv_file(tmp_path, f"email,company\na@x.example,{'x' * 300}\n"))
    assert report.errors == 1 and report.error_sample[0].field == "company"
    assert "longer than 255" in report.error_sample[0].reason


def test_a_rejected_row_writes_nothing_and_leaves_the_existing_lead_unchanged(tmp_path):
    lead = lead_ingest(data={"email": "ann@x.example", "external_id": "42", "source": "crm"}).lead
    history_before = lead.history.count()
    path = csv_file(tmp_path, "external_id,source,email,title,consent\n42,crm,ann@x.example,CTO,maybe\n")
    report = run_import(path)
    assert report.errors == 1 and report.error_sample[0].field == "consent"
    lead.refresh_from_db()
    assert lead.title == "" and lead.history.count() == history_before
    assert SourceRecord.objects.count() == 1 and Lead.objects.count() == 1


def test_a_row_failing_in_the_database_rolls_back_what_it_wrote_and_the_file_goes_on(tmp_path):
    # normalize_row accepts 255 characters of state, the model only 100: full_clean fails after the row's
    # account was created; the row's transaction takes the account back with it.
    path = csv_file(tmp_path, f"email,website,state\nann@new.example,new.example,{'s' * 150}\nbob@x.example,,\n")
    report = run_import(path)
    assert report.created == 1 and report.errors == 1
    assert report.error_sample[0].field == "state"
    assert not Account.objects.filter(domain="new.example").exists()
    assert list(Lead.objects.values_list("email", flat=True)) == ["bob@x.example"]


def test_the_import_stops_when_the_database_keeps_refusing_rows(tmp_path):
    # A real refusal by the database (a trigger, as a full disk or a lost lock would), not a patched function.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("CREATE FUNCTION refuse_leads() RETURNS trigger AS $$ BEGIN "
                           "RAISE EXCEPTION 'the database is down'; END $$ LANGUAGE plpgsql")
            cursor.execute("CREATE TRIGGER refuse BEFORE INSERT ON leads_lead FOR EACH ROW "
                           "EXECUTE FUNCTION refuse_leads()")
        else:
            cursor.execute("CREATE TRIGGER refuse BEFORE INSERT ON leads_lead "
                           "BEGIN SELECT RAISE(ABORT, 'the database is down'); END")
    report = run_import(csv_file(tmp_path, "email\n" + "".join(f"l{i}@x.example\n" for i in range(250))))
    assert report.rows == 100 and report.errors == 100
    assert report.file_error.startswith("Stopped at row 101: the last 100 rows could not be stored")
    assert "the database is down" in report.error_sample[0].reason
    assert not Lead.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_stored_row_whose_jobs_cannot_be_queued_counts_as_stored_with_a_warning(tmp_path, settings):
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:9/0", "DEFAULT_TIMEOUT": 60}}
    report = run_import(csv_file(tmp_path, "email\na@x.example\n"))
    assert report.created == 1 and report.errors == 0 and Lead.objects.count() == 1
    assert any("could not be queued" in warning for warning in report.warnings)


def test_every_error_goes_to_errors_out_and_only_the_first_are_kept_in_memory(tmp_path):
    rows = "".join(f"lead{i}@x.example,maybe\n" for i in range(MAX_ERRORS_KEPT + 50))
    path = csv_file(tmp_path, "email,consent\n" + rows)
    out = io.StringIO()
    report = run_import(path, errors_out=out)
    assert report.errors == MAX_ERRORS_KEPT + 50 and len(report.error_sample) == MAX_ERRORS_KEPT
    lines = out.getvalue().splitlines()
    assert lines[0] == "row,field,reason" and len(lines) == 1 + MAX_ERRORS_KEPT + 50
    assert lines[1] == "2,consent,'maybe' is not a recognised consent value (use yes/no or opt-in/opt-out)"


def test_the_errors_file_is_protected_against_formula_injection(tmp_path):
    out = io.StringIO()
    run_import(csv_file(tmp_path, f"email,@Plan\na@x.example,{'x' * 2001}\n"), errors_out=out)
    assert out.getvalue().splitlines()[1] == "2,'@Plan,longer than 2000 characters"


def test_a_clean_import_writes_nothing_to_errors_out(tmp_path):
    out = io.StringIO()
    run_import(csv_file(tmp_path, "email\na@x.example\n"), errors_out=out)
    assert out.getvalue() == ""


def test_progress_is_reported_while_the_file_is_read(tmp_path):
    path = csv_file(tmp_path, "email\n" + "".join(f"lead{i}@x.example\n" for i in range(450)))
    seen = []
    run_import(path, progress=lambda report: seen.append(report.rows))
    assert seen == [200, 400, 450]


def test_the_source_argument_is_the_source_of_rows_without_one(tmp_path):
    path = csv_file(tmp_path, "email,external_id,source\na@x.example,1,\nb@x.example,2,crm\n")
    run_import(path, source="fair-2024")
    assert dict(Lead.objects.values_list("email", "source")) == {"a@x.example": "fair-2024", "b@x.example": "crm"}
    assert set(SourceRecord.objects.values_list("source", "external_id")) == {("fair-2024", "1"), ("crm", "2")}


def _resident_bytes() -> int | None:
    """This process's resident memory now (Linux), or None where /proc is not available."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


@pytest.mark.django_db(transaction=True)
def test_a_50k_row_file_streams_in_bounded_memory_with_right_counts(tmp_path):
    """50,000 rows, one in 50 a new lead and the others rejected (so the test stays quick): every row commits on
    its own and the import holds one row at a time and the first errors only, so memory does not grow with
    the rows read. (No worker runs: the new leads' pipeline jobs wait in the queue.)"""
    rows, every = 50_000, 50
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("email,first_name,last_name,company,country,consent,Plan\n")
        for i in range(rows):
            consent = "yes" if i % every == 0 else f"maybe {i}"
            out.write(f"lead{i}@company{i}.example,First{i},Last{i},Company {i},US,{consent},p{i % 3}\n")
    assert path.stat().st_size > 4_000_000
    resident = []

    def progress(report):
        if report.rows % 10_000 == 0:
            resident.append(_resident_bytes())

    with path.open("rb") as fileobj, (tmp_path / "errors.csv").open("w", newline="") as errors_out:
        report = import_leads_csv(fileobj, progress=progress, errors_out=errors_out)
    assert report.rows == rows
    assert report.counts == {"created": rows // every, "merged": 0, "updated": 0, "review": 0,
                             "errors": rows - rows // every}
    assert Lead.objects.count() == rows // every
    assert len(report.error_sample) == MAX_ERRORS_KEPT
    assert sum(1 for _ in (tmp_path / "errors.csv").open()) == 1 + rows - rows // every
    if resident[0] is not None:
        # Holding the 40,000 rows read between the first and the last measure would take tens of megabytes.
        assert resident[-1] - resident[0] < 16_000_000, resident


# --- the command ------------------------------------------------------------------------------------------------


def test_import_leads_prints_the_counts_and_writes_errors_next_to_the_file(tmp_path):
    path = csv_file(tmp_path, "email,first_name\na@x.example,Ann\nbroken,Bob\n")
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("import_leads", str(path), "--source", "fair", stdout=stdout, stderr=stderr)
    output = stdout.getvalue()
    assert "created 1, merged 0, updated 0, review 0, errors 1" in output
    errors_path = tmp_path / "leads.csv.errors.csv"
    assert str(errors_path) in output
    assert errors_path.read_text().splitlines()[:2] == ["row,field,reason",
                                                        "3,email,'broken' is not a valid email address"]
    assert "rows/s" in stderr.getvalue() and "2/2 rows" in stderr.getvalue()
    assert Lead.objects.get().source == "fair"


def test_import_leads_writes_no_errors_file_for_a_clean_file(tmp_path):
    path = csv_file(tmp_path, "email\na@x.example\n")
    (tmp_path / "leads.csv.errors.csv").write_text("row,field,reason\n2,email,old\n")
    stdout = io.StringIO()
    call_command("import_leads", str(path), "--no-progress", stdout=stdout)
    assert "errors 0" in stdout.getvalue()
    assert not (tmp_path / "leads.csv.errors.csv").exists()


def test_import_leads_fails_with_the_reason_on_a_file_level_error(tmp_path):
    path = csv_file(tmp_path, "first_name\nAnn\n")
    with pytest.raises(CommandError, match="No email and no phone column"):
        call_command("import_leads", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_leads", str(tmp_path / "missing.csv"))


@pytest.mark.own_sqlite_file
def test_import_leads_exits_0_with_row_errors_and_1_on_a_file_level_error(tmp_path):
    good = csv_file(tmp_path, "email\nbroken\n", "rows.csv")
    bad = csv_file(tmp_path, "name\nAnn\n", "bad.csv")
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}", "PATH": "/usr/bin:/bin"}
    manage = ["manage.py"]
    subprocess.run([sys.executable, *manage, "migrate", "-v0"], check=True, env=env)
    ok = subprocess.run([sys.executable, *manage, "import_leads", str(good), "--no-progress"], env=env,
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "errors 1" in ok.stdout
    failed = subprocess.run([sys.executable, *manage, "import_leads", str(bad)], env=env, capture_output=True,
                            text=True)
    assert failed.returncode == 1 and "No email and no phone column" in failed.stderr


@pytest.mark.django_db(transaction=True)
def test_import_leads_sync_runs_the_pipeline_inline(tmp_path, configured):
    path = csv_file(tmp_path, "email,first_name,last_name,title,company,country,industry,employees\n"
                              "vp@acme.example,Vera,Patel,VP Sales,Acme,US,software,200\n")
    call_command("import_leads", str(path), "--sync", "--no-progress", stdout=io.StringIO())
    lead = Lead.objects.get()
    assert lead.score is not None and lead.fit_score > 0
    assert lead.owner is not None and lead.owner.username in {"rita", "ravi"}


@pytest.mark.django_db(transaction=True)
def test_without_sync_the_pipeline_goes_to_the_queue(tmp_path, configured):
    path = csv_file(tmp_path, "email,country\na@acme.example,US\nb@acme.example,US\n")
    report = run_import(path)
    assert report.created == 2
    # One job scores the batch (then routes it as one batch): not one job per lead.
    jobs = django_rq.get_queue("default").get_jobs()
    assert [(job.func_name, job.args[0]) for job in jobs] == [
        ("scoring.jobs.leads_score_batch_job", list(Lead.objects.order_by("pk").values_list("pk", flat=True)))]
    assert all(lead.score is None and lead.owner is None for lead in Lead.objects.all())


# --- the company directory -------------------------------------------------------------------------------------


def test_the_company_directory_is_upserted_by_domain_with_row_errors(tmp_path):
    CompanyProfile.objects.create(domain="acme.example", name="Acme", employees=10, city="Berlin")
    path = csv_file(tmp_path, (
        "Domain,name,employees,annual_revenue,country,city,notes\n"
        "https://www.ACME.example/about,Acme Inc,250,$1.2M,Germany,\n"  # update; empty city keeps Berlin
        "beta.example,Beta,11-50,,FR,Paris\n"
        "gamma.example,Gamma,lots,,,\n"  # unreadable employee count
        ",No domain,,,,\n"
        "acme.example,Acme Inc,250,1200000,DE,\n"  # nothing new
    ), "companies.csv")
    out = io.StringIO()
    with path.open("rb") as fileobj:
        report = import_companies_csv(fileobj, errors_out=out)
    assert report.counts == {"created": 1, "updated": 1, "unchanged": 1, "errors": 2}
    assert any("notes" in warning for warning in report.warnings)
    acme = CompanyProfile.objects.get(domain="acme.example")
    assert (acme.name, acme.employees, str(acme.annual_revenue), acme.country, acme.city) == (
        "Acme Inc", 250, "1200000.00", "DE", "Berlin")
    assert CompanyProfile.objects.get(domain="beta.example").employees == 11
    assert [(e.row, e.field) for e in report.error_sample] == [(4, "employees"), (5, "domain")]
    assert not CompanyProfile.objects.filter(domain="gamma.example").exists()


def test_a_company_file_without_a_domain_column_is_refused(tmp_path):
    with csv_file(tmp_path, "name\nAcme\n").open("rb") as fileobj:
        assert "No domain column" in import_companies_csv(fileobj).file_error
