"""Concurrent deliveries of one engagement event with one ``Idempotency-Key`` (header or body field): one event is
stored and every answer is the first event (201 for the first, 200 ``duplicate`` with the same event for the rest),
never an integrity error, a 500 or a 409 — on a SQLite file (a subprocess) and on PostgreSQL (threads)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from leads.models import Lead, LeadEvent
from tests.idempotency_event_posts import concurrent_event_posts

pytestmark = pytest.mark.django_db(transaction=True)


def _assert_all_answers_are_the_first_event(answers: list, events: int) -> None:
    statuses = sorted(status for status, _body in answers)
    assert len(answers) == 10 and statuses == [200] * 9 + [201], answers
    assert events == 1
    first = next(body for status, body in answers if status == 201)
    for status, body in answers:
        assert body["id"] == first["id"] and body["type"] == first["type"]
        assert body["duplicate"] is (status == 200)


@pytest.mark.skipif(connection.vendor == "sqlite", reason="in-memory SQLite: the file-database tests run instead")
@pytest.mark.parametrize("mode", ["header", "body"])
def test_concurrent_events_with_one_key_all_answer_the_first_event(mode, integration_user, configured):
    Lead.objects.create(email="race@x.example")
    token = Token.objects.create(user=integration_user).key
    answers = concurrent_event_posts(token, mode=mode)
    _assert_all_answers_are_the_first_event(answers, LeadEvent.objects.count())


@pytest.mark.skipif(connection.vendor == "sqlite", reason="in-memory SQLite: one writer, no row locks to order")
def test_concurrent_events_of_one_lead_without_a_key_are_each_recorded(integration_user, configured):
    """Ten events of one lead at once: each locks the lead first, then writes (no deadlock, no lost update)."""
    lead = Lead.objects.create(email="race@x.example")
    token = Token.objects.create(user=integration_user).key
    answers = concurrent_event_posts(token, mode="none")
    assert sorted(status for status, _body in answers) == [201] * 10, answers
    assert LeadEvent.objects.filter(lead=lead).count() == 10
    updates = Lead.objects.get(pk=lead.pk).history.filter(history_change_reason__startswith="automation:events")
    assert updates.count() == 10


@pytest.mark.own_sqlite_file
@pytest.mark.parametrize("mode", ["header", "body"])
def test_concurrent_events_with_one_key_all_answer_the_first_event_on_a_sqlite_file(mode, tmp_path, settings):
    env = {**os.environ, "REDIS_URL": settings.REDIS_URL, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    run = subprocess.run([sys.executable, "-m", "tests.idempotency_race", str(tmp_path), mode], env=env,
                         capture_output=True, text=True, timeout=300, cwd=env["PYTHONPATH"])
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    _assert_all_answers_are_the_first_event(result["answers"], result["events"])
