"""Query parameters, JSON errors everywhere under /api/, throttles, login lockout, production settings, log masking."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

import leads.api.views as views
from leads.services import lead_ingest
from revops.base.logfilters import PersonalDataFilter

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_api(revops_admin):
    """A RevOps admin's API client: lists and exports are not for the Integration role."""
    client = APIClient()
    client.force_authenticate(revops_admin)
    return client

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("path", ["/api/leads/", "/api/leads/export/"])
@pytest.mark.parametrize(("query", "parameter"), [
    ("owner=%C2%B2", "owner"),  # "²" is a digit to str.isdigit, not to int()
    ("owner=12345678901234567890123", "owner"),
    ("email=a%00b", "email"),
])
def test_a_bad_query_parameter_is_a_400_naming_it(admin_api, db, path, query, parameter):
    response = admin_api.get(f"{path}?{query}")
    assert response.status_code == 400, response.content[:300]
    assert parameter in response.json()


@pytest.mark.parametrize(("query", "parameter"), [("limit=9223372036854775808", "limit"), ("limit=x", "limit"),
                                                  ("offset=99999999999999999999", "offset")])
def test_limit_and_offset_out_of_range_are_400s(admin_api, db, query, parameter):
    response = admin_api.get(f"/api/leads/?{query}")
    assert response.status_code == 400 and parameter in response.json()


def test_the_page_size_is_capped(admin_api, db, settings):
    settings.LEADFLOW_API_MAX_PAGE_SIZE = 3
    for i in range(5):
        lead_ingest(data={"email": f"p{i}@x.example"}, pipeline=False)
    body = admin_api.get("/api/leads/?limit=100000").json()
    assert body["count"] == 5 and len(body["results"]) == 3


def test_an_export_with_a_bad_filter_fails_before_the_first_byte(admin_api, db):
    response = admin_api.get("/api/leads/export/?owner=12345678901234567890123")
    assert response.status_code == 400 and not getattr(response, "streaming", False)


def test_a_huge_id_in_the_path_is_a_json_404(api_client, db):
    response = api_client.get("/api/leads/99999999999999999999999/")
    assert response.status_code == 404
    assert response.json() == {"detail": "not found", "code": "not_found"}


def test_errors_under_api_are_json_in_one_format(api_client, db):
    unknown = api_client.get("/api/nothing-here/")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    wrong_method = api_client.delete("/api/events/")
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method_not_allowed"
    anonymous = Client().get("/api/leads/")
    assert anonymous.status_code in (401, 403) and set(anonymous.json()) == {"detail", "code"}


def test_a_body_over_the_upload_limit_is_a_json_413(api_client, db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    body = b'{"email": "big@x.example", "note": "' + b"a" * (3 * 1024 * 1024) + b'"}'
    response = api_client.generic("POST", "/api/leads/", body, content_type="application/json")
    assert response.status_code == 413 and response.json()["code"] == "request_too_large"


def test_an_unexpected_exception_is_a_json_500(api_client, db, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "lead_ingest", broken)
    response = api_client.post("/api/leads/", {"email": "e@x.example"}, format="json")
    assert response.status_code == 500
    assert response.json() == {"detail": "unexpected server error; it has been logged", "code": "server_error"}


def test_the_api_throttles_per_client_and_per_anonymous_address(admin_api, db, settings):
    settings.LEADFLOW_API_RATE_CLIENT = "3/minute"
    settings.LEADFLOW_API_RATE_ANONYMOUS = "2/minute"
    assert [admin_api.get("/api/tasks/").status_code for _ in range(4)] == [200, 200, 200, 429]
    anonymous = Client()  # the schema is public: anonymous callers are counted by address
    assert [anonymous.get("/api/schema/").status_code for _ in range(3)] == [200, 200, 429]
    throttled = anonymous.get("/api/schema/?format=json")
    assert throttled.status_code == 429 and json.loads(throttled.content)["code"] == "throttled"


@pytest.mark.parametrize("login_path", ["/accounts/login/", "/admin/login/"])
def test_repeated_wrong_passwords_lock_the_login(revops_admin, login_path, settings):
    settings.AXES_FAILURE_LIMIT = 5
    client = Client()
    for _ in range(5):
        client.post(login_path, {"username": "ada", "password": "wrong"})
    response = client.post(login_path, {"username": "ada", "password": "pw"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_right_password_before_the_limit_still_works(revops_admin):
    client = Client()
    for _ in range(2):
        client.post("/accounts/login/", {"username": "ada", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "ada", "password": "pw"})
    assert response.status_code == 302 and "_auth_user_id" in client.session


PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "Zq3-production-key-" + "x7Kp2mW9vB4nR8tL" * 3,
    "ALLOWED_HOSTS": "leadflow.example",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "manage.py", *args], env=full, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_documented_production_settings_pass_check_deploy_clean():
    run = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no issues" in run.stdout


def test_a_short_secret_key_is_refused_in_production():
    run = _manage("check", **{**PRODUCTION_ENV, "SECRET_KEY": "x"})
    assert run.returncode != 0 and "SECRET_KEY must be at least 50" in run.stderr


def test_email_addresses_are_masked_in_log_records():
    record = logging.LogRecord("django.server", logging.INFO, __file__, 1, '"%s" %s',
                               ("GET /api/leads/?email=jane.doe%40example.com HTTP/1.1", 200), None)
    PersonalDataFilter().filter(record)
    assert "jane" not in record.getMessage() and "[email]" in record.getMessage()


def test_the_web_servers_request_lines_go_through_the_mask():
    handlers = logging.getLogger("django.server").handlers
    ours = [h for h in handlers if type(h) is logging.StreamHandler]  # pytest adds its capture handlers beside it
    assert ours and all(any(isinstance(f, PersonalDataFilter) for f in h.filters) for h in ours)
