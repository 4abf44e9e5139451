"""``Idempotency-Key`` as Stripe documents it: scoped to client and endpoint, body hash, 422, 409, no stored 5xx,
expiry; concurrent repeats from threads (run on SQLite and on PostgreSQL)."""

import hashlib
import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.models import Lead, LeadEvent
from leads.services import lead_ingest
from revops.base.models import ApiIdempotencyKey
from tests.conftest import _user

pytestmark = pytest.mark.django_db(transaction=True)


def _client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_the_same_key_with_another_body_is_a_422_and_writes_nothing(api_client, configured, inline_jobs):
    first = api_client.post("/api/leads/", {"email": "one@x.example"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    second = api_client.post("/api/leads/", {"email": "two@x.example"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert first.status_code == 201
    assert second.status_code == 422 and second.json()["code"] == "idempotency_key_reused"
    assert list(Lead.objects.values_list("email", flat=True)) == ["one@x.example"]


def test_a_key_is_scoped_to_the_client(api_client, integration_user, configured, inline_jobs):
    other = _client_for(_user("second-integrator", "Integration"))
    first = api_client.post("/api/leads/", {"email": "a@x.example"}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    second = other.post("/api/leads/", {"email": "a2@x.example"}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert first.status_code == second.status_code == 201
    assert Lead.objects.count() == 2


def test_a_key_whose_first_request_still_runs_is_a_409(api_client, integration_user, configured, settings):
    settings.LEADFLOW_IDEMPOTENCY_WAIT_SECONDS = 0.2  # the repeat waits this long for the first answer, then 409
    ApiIdempotencyKey.objects.create(user=integration_user, endpoint="leads.create", key="busy",
                                     request_hash=hashlib.sha256(b'{"email":"r@x.example"}').hexdigest())
    response = api_client.generic("POST", "/api/leads/", b'{"email":"r@x.example"}', content_type="application/json",
                                  HTTP_IDEMPOTENCY_KEY="busy")
    assert response.status_code == 409 and response.json()["code"] == "idempotency_key_in_use"
    assert not Lead.objects.exists()


def test_an_expired_key_counts_as_new(api_client, integration_user, configured, inline_jobs, settings):
    settings.LEADFLOW_IDEMPOTENCY_TTL_HOURS = 24
    api_client.post("/api/leads/", {"email": "old@x.example"}, format="json", HTTP_IDEMPOTENCY_KEY="old")
    ApiIdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = api_client.post("/api/leads/", {"email": "new@x.example"}, format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert again.status_code == 201 and again.json()["email"] == "new@x.example"


def test_an_event_key_of_one_client_does_not_swallow_another_clients_unsubscribe(api_client, configured,
                                                                                inline_jobs):
    lead_ingest(data={"email": "u@x.example"})
    other = _client_for(_user("second-integrator", "Integration"))
    first = api_client.post("/api/events/", {"email": "u@x.example", "type": "page_view"}, format="json",
                            HTTP_IDEMPOTENCY_KEY="evt-1")
    unsubscribe = other.post("/api/events/", {"email": "u@x.example", "type": "unsubscribe"}, format="json",
                             HTTP_IDEMPOTENCY_KEY="evt-1")
    assert first.status_code == unsubscribe.status_code == 201
    assert LeadEvent.objects.count() == 2
    assert Lead.objects.get().consent == "opt_out"


def test_a_redelivered_event_still_answers_200_duplicate(api_client, configured, inline_jobs):
    lead_ingest(data={"email": "d@x.example"})
    body = {"email": "d@x.example", "type": "page_view", "occurred_at": "2026-01-01T00:00:00Z"}
    first = api_client.post("/api/events/", body, format="json", HTTP_IDEMPOTENCY_KEY="e")
    again = api_client.post("/api/events/", body, format="json", HTTP_IDEMPOTENCY_KEY="e")
    assert first.status_code == 201 and again.status_code == 200 and again.json()["duplicate"] is True
    assert LeadEvent.objects.count() == 1


@pytest.mark.skipif(connection.vendor == "sqlite", reason="in-memory SQLite: the file-database test below runs instead")
def test_ten_concurrent_requests_with_one_key_create_one_lead(integration_user, configured):
    token = Token.objects.create(user=integration_user).key
    statuses: list[int] = []
    barrier = threading.Barrier(10)

    def post():
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            barrier.wait()
            response = client.post("/api/leads/", {"email": "race@x.example"}, format="json",
                                   HTTP_IDEMPOTENCY_KEY="race")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 10
    assert set(statuses) <= {201, 409}, statuses
    assert Lead.objects.count() == 1
    assert ApiIdempotencyKey.objects.get().status_code == 201


@pytest.mark.own_sqlite_file
def test_ten_concurrent_requests_with_one_key_create_one_lead_on_a_sqlite_file(tmp_path, settings):
    env = {**os.environ, "REDIS_URL": settings.REDIS_URL, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    run = subprocess.run([sys.executable, "-m", "tests.idempotency_race", str(tmp_path), "lead"], env=env,
                         capture_output=True, text=True, timeout=300, cwd=env["PYTHONPATH"])
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert len(result["statuses"]) == 10 and set(result["statuses"]) <= {201, 409}, result
    assert 201 in result["statuses"] and result["leads"] == 1  # a late repeat may get the replayed 201


def test_a_refusal_that_quotes_a_nul_back_is_stored_and_replayed(api_client, configured):
    lead = lead_ingest(data={"email": "nul@x.example"}).lead
    body = {"lead": lead.pk, "type": "page_view", "properties": {"bad\u0000key": 1, "x\udfff": 2}}
    raw = json.dumps(body)  # ASCII escapes: the client sends what a hostile client would
    first = api_client.post("/api/events/", raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="nul-1")
    again = api_client.post("/api/events/", raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="nul-1")
    assert first.status_code == again.status_code == 400  # on PostgreSQL the stored copy used to be a 500
    assert again["Idempotent-Replayed"] == "true"
    assert not LeadEvent.objects.exists()
