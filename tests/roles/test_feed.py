"""The warehouse feed: ``updated_since`` and an opaque cursor ordered by (time, id) on leads, events, tasks, routing
decisions and score changes, none missed or repeated; ``export_leads --updated-since`` for files."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework.test import APIClient

from leads.models import Lead
from routing.models import RoutingDecision, Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(world):
    client = APIClient()
    client.force_authenticate(world.users["reader"])
    return client


def read_all(client, url: str) -> tuple[list[dict], str, int]:
    """Follow ``next`` to the end: every row, the last cursor, the number of pages."""
    rows, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        pages += 1
        cursor, url = body["cursor"], body["next"]
    return rows, cursor, pages


def test_leads_changed_at_the_same_instant_are_paged_without_gaps_or_repeats(reader, world):
    same = timezone.now() - timedelta(minutes=5)
    made = [Lead.objects.create(email=f"tie{i}@tie.example") for i in range(5)]
    Lead.objects.filter(pk__in=[lead.pk for lead in made]).update(updated_at=same)
    Lead.objects.filter(pk__in=[world.a.lead.pk, world.b.lead.pk]).update(updated_at=same - timedelta(days=1))
    since = (same - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    rows, cursor, pages = read_all(reader, f"/api/leads/?updated_since={since}&limit=2")
    assert [row["id"] for row in rows] == sorted(lead.pk for lead in made)
    assert pages == 3
    # Asked again later with the kept cursor: nothing new, then exactly the lead that changed.
    again = reader.get(f"/api/leads/?cursor={cursor}").json()
    assert again["results"] == [] and again["cursor"] == cursor and again["next"] is None
    changed = made[1]
    changed.first_name = "Changed"
    changed.save(update_fields=["first_name"])
    later = reader.get(f"/api/leads/?cursor={cursor}").json()
    assert [row["id"] for row in later["results"]] == [changed.pk]
    assert later["results"][0]["first_name"] == "Changed"


def test_the_feed_carries_merged_leads_with_where_they_went(reader, world):
    merged = Lead.objects.create(email="dup@dup.example", merged_into=world.a.lead)
    rows = reader.get("/api/leads/?updated_since=2000-01-01T00:00:00Z&limit=500").json()["results"]
    assert {"id": merged.pk, "merged_into": world.a.lead.pk} in [
        {"id": row["id"], "merged_into": row["merged_into"]} for row in rows]
    plain = reader.get("/api/leads/").json()["results"]
    assert merged.pk not in [row["id"] for row in plain]


def test_bad_feed_parameters_are_refused_naming_the_parameter(reader, world):
    bad_time = reader.get("/api/leads/?updated_since=yesterday")
    assert bad_time.status_code == 400 and "updated_since" in bad_time.json()
    bad_cursor = reader.get("/api/tasks/?cursor=not-a-cursor")
    assert bad_cursor.status_code == 400 and "cursor" in bad_cursor.json()
    bad_limit = reader.get("/api/events/?limit=ten")
    assert bad_limit.status_code == 400 and "limit" in bad_limit.json()


def test_events_tasks_decisions_and_score_changes_have_the_same_feed(reader, world):
    for url, expected in (
        ("/api/events/", {world.a.event.pk, world.b.event.pk}),
        ("/api/tasks/?updated_since=2000-01-01T00:00:00Z", {world.a.task.pk, world.b.task.pk}),
        ("/api/routing/decisions/", {world.a.decision.pk, world.b.decision.pk}),
        ("/api/score-changes/", {world.a.score_change.pk, world.b.score_change.pk}),
    ):
        rows, cursor, _ = read_all(reader, url + ("&" if "?" in url else "?") + "limit=1")
        assert [row["id"] for row in rows] == sorted(expected), url
        assert reader.get(url.split("?")[0] + f"?cursor={cursor}").json()["results"] == [], url


def test_an_undone_decision_and_a_completed_task_come_again(reader, world):
    _, decisions_cursor, _ = read_all(reader, "/api/routing/decisions/")
    _, tasks_cursor, _ = read_all(reader, "/api/tasks/?updated_since=2000-01-01T00:00:00Z")
    decision = RoutingDecision.objects.get(pk=world.a.decision.pk)
    decision.undone_at = timezone.now()
    decision.save(update_fields=["undone_at"])
    task = Task.objects.get(pk=world.b.task.pk)
    task.status = "done"
    task.save(update_fields=["status"])
    decisions = reader.get(f"/api/routing/decisions/?cursor={decisions_cursor}").json()["results"]
    assert [(row["id"], row["undone_at"] is not None) for row in decisions] == [(decision.pk, True)]
    tasks = reader.get(f"/api/tasks/?cursor={tasks_cursor}").json()["results"]
    assert [(row["id"], row["status"]) for row in tasks] == [(task.pk, "done")]


def test_a_manager_feed_holds_their_teams_rows_only(world):
    client = APIClient()
    client.force_authenticate(world.a.manager)
    for url, expected in (("/api/leads/?updated_since=2000-01-01T00:00:00Z", world.a.lead.pk),
                          ("/api/events/", world.a.event.pk), ("/api/routing/decisions/", world.a.decision.pk),
                          ("/api/score-changes/", world.a.score_change.pk)):
        assert [row["id"] for row in client.get(url).json()["results"]] == [expected], url


def test_rows_younger_than_the_settle_time_wait_for_the_next_page(reader, world, settings):
    settings.LEADFLOW_FEED_SETTLE_SECONDS = 60
    assert reader.get("/api/leads/?updated_since=2000-01-01T00:00:00Z").json()["results"] == []
    Lead.objects.filter(pk=world.a.lead.pk).update(updated_at=timezone.now() - timedelta(minutes=2))
    rows = reader.get("/api/leads/?updated_since=2000-01-01T00:00:00Z").json()["results"]
    assert [row["id"] for row in rows] == [world.a.lead.pk]


def test_export_leads_updated_since_writes_only_changed_leads_and_says_where_to_start_next(world, tmp_path):
    old = timezone.now() - timedelta(days=3)
    Lead.objects.filter(pk=world.b.lead.pk).update(updated_at=old)
    merged = Lead.objects.create(email="gone@dup.example", merged_into=world.a.lead)
    target = tmp_path / "changed.csv"
    out = io.StringIO()
    since = (old + timedelta(days=1)).isoformat()
    call_command("export_leads", str(target), "--updated-since", since, stdout=out)
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [int(row["lead_id"]) for row in rows] == [world.a.lead.pk, merged.pk]
    assert rows[1]["merged_into"] == str(world.a.lead.pk) and rows[0]["updated_at"]
    newest = Lead.objects.get(pk=merged.pk).updated_at
    assert f"Next run: --updated-since {newest.isoformat()}" in out.getvalue()


def test_export_leads_refuses_a_time_it_cannot_read(world, tmp_path):
    with pytest.raises(CommandError, match="--updated-since"):
        call_command("export_leads", str(tmp_path / "x.csv"), "--updated-since", "last week")
