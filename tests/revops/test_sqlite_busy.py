"""SQLite under saturation: a web request that cannot get the write lock answers 503 with Retry-After, quickly."""

import pytest
from django.db import OperationalError, connection

from leads.api import views as lead_views
from leads.models import Lead
from revops.base.db.busy import busy_response, sqlite_busy_timeout_set

pytestmark = pytest.mark.django_db


def busy_timeout_ms() -> int:
    return connection.connection.execute("PRAGMA busy_timeout").fetchone()[0]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write lock")
def test_a_request_that_cannot_get_the_write_lock_answers_503_with_retry_after(api_client, settings, monkeypatch):
    settings.LEADFLOW_SQLITE_WEB_BUSY_TIMEOUT = 0.25
    settings.LEADFLOW_BUSY_RETRY_AFTER = 3
    seen = []

    def locked(**kwargs):
        seen.append(busy_timeout_ms())  # what this request waited for the lock before giving up
        raise OperationalError("database is locked")

    monkeypatch.setattr(lead_views, "lead_ingest", locked)
    response = api_client.post("/api/leads/", {"email": "locked@example.com", "country": "US"}, format="json")

    assert response.status_code == 503
    assert response["Retry-After"] == "3"
    assert response.json() == {"detail": "the database is busy; retry after a moment", "code": "database_busy"}
    assert seen == [250]  # the web request's busy timeout, not the workers' 20 s
    assert not Lead.objects.filter(email="locked@example.com").exists()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write lock")
def test_workers_and_commands_keep_the_longer_busy_timeout(settings):
    connection.ensure_connection()
    assert busy_timeout_ms() == int(settings.LEADFLOW_SQLITE_BUSY_TIMEOUT * 1000)
    sqlite_busy_timeout_set(0.5)
    assert busy_timeout_ms() == 500
    sqlite_busy_timeout_set(settings.LEADFLOW_SQLITE_BUSY_TIMEOUT)


def test_a_locked_database_outside_the_api_is_a_plain_503(settings):
    response = busy_response(api=False)
    assert response.status_code == 503 and response["Retry-After"] == str(settings.LEADFLOW_BUSY_RETRY_AFTER)
    assert b"busy" in response.content
