"""On PostgreSQL the health check of a persistent connection reads its socket: an idle connection with nothing to
read is usable without a round trip; a session the server ended is noticed, closed and opened anew."""

import select
import time

import pytest
from django.db import connection, connections
from django.db.backends.postgresql import base as django_postgresql

from leads.models import Lead
from revops.base.db.postgresql.base import DatabaseWrapper

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's health check")


def _round_trips(monkeypatch) -> list[bool]:
    """Each time the check falls back to Django's ``SELECT 1`` (what it answered)."""
    asked: list[bool] = []
    original = django_postgresql.DatabaseWrapper.is_usable

    def spy(self):
        asked.append(original(self))
        return asked[-1]

    monkeypatch.setattr(django_postgresql.DatabaseWrapper, "is_usable", spy)
    return asked


@pytest.mark.django_db(transaction=True)
def test_an_idle_connection_is_usable_without_asking_the_server(monkeypatch):
    assert isinstance(connections["default"], DatabaseWrapper)
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]
    asked = _round_trips(monkeypatch)
    Lead.objects.count()
    assert connection.is_usable() and asked == []


@pytest.mark.django_db(transaction=True)
def test_a_session_the_server_ended_is_closed_and_opened_anew(monkeypatch):
    Lead.objects.create(email="kept@example.com")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone()[0] is True
    finally:
        other.close()
    socket = connection.connection.pgconn.socket
    deadline = time.monotonic() + 5
    while not select.select([socket], [], [], 0.05)[0]:  # the server's notice and end of the session arrive
        assert time.monotonic() < deadline, "the ended session never showed on the socket"
    asked = _round_trips(monkeypatch)
    assert connection.is_usable() is False and asked == [False]  # the server is asked, and the session is gone

    connection.health_check_done = False
    connection.close_if_health_check_failed()  # what a request's first query does
    assert connection.connection is None
    assert list(Lead.objects.values_list("email", flat=True)) == ["kept@example.com"]  # connected anew
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
