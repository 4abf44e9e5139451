"""The task actions in the API: complete with a disposition, snooze, ask to reassign; the queue's filters and sort;
a field named on bad input; another rep's task is not there."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from routing.models import Task
from tests.routing.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks(reps):
    now = timezone.now()
    rita = reps[0].user
    made = {
        "hot_overdue": Task.objects.create(lead=make_lead(owner=rita, band="A", score=90), assignee=rita,
                                           title="hot", due_at=now - timedelta(hours=1), dedup_key="a"),
        "cold_later": Task.objects.create(lead=make_lead(owner=rita, band="D", score=5), assignee=rita,
                                          title="cold", due_at=now + timedelta(days=2), dedup_key="b"),
        "ravis": Task.objects.create(lead=make_lead(owner=reps[1].user, band="B"), assignee=reps[1].user,
                                     title="ravi's", due_at=now + timedelta(hours=3), dedup_key="c"),
    }
    return made


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_complete_with_a_disposition_and_a_bad_one_names_the_field(tasks, reps):
    client = _client(reps[0].user)
    task = tasks["hot_overdue"]
    bad = client.post(f"/api/tasks/{task.pk}/complete/", {"disposition": "maybe"}, format="json")
    assert bad.status_code == 400 and "disposition" in bad.json()
    missing = client.post(f"/api/tasks/{task.pk}/complete/", {"disposition": "disqualified"}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()
    done = client.post(f"/api/tasks/{task.pk}/complete/", {"disposition": "converted", "deal_value": "2500.00"},
                       format="json")
    assert done.status_code == 200
    assert done.json()["status"] == "done" and done.json()["disposition"] == "converted"
    task.lead.refresh_from_db()
    assert task.lead.stage == "opportunity" and str(task.lead.deal_value) == "2500.00"


def test_snooze_by_minutes_or_until_and_nothing_is_a_400(tasks, reps):
    client = _client(reps[0].user)
    task = tasks["cold_later"]
    assert client.post(f"/api/tasks/{task.pk}/snooze/", {}, format="json").status_code == 400
    response = client.post(f"/api/tasks/{task.pk}/snooze/", {"minutes": 90}, format="json")
    assert response.status_code == 200 and response.json()["snooze_count"] == 1
    until = (timezone.now() + timedelta(days=1)).isoformat()
    response = client.post(f"/api/tasks/{task.pk}/snooze/", {"until": until}, format="json")
    assert response.status_code == 200 and response.json()["snooze_count"] == 2
    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = client.post(f"/api/tasks/{task.pk}/snooze/", {"until": past}, format="json")
    assert response.status_code == 400 and "until" in response.json()


def test_reassign_request_needs_a_reason_and_another_reps_task_is_404(tasks, reps):
    client = _client(reps[0].user)
    assert client.post(f"/api/tasks/{tasks['hot_overdue'].pk}/reassign-request/", {}, format="json").json() == {
        "reason": ["This field is required."]}
    response = client.post(f"/api/tasks/{tasks['hot_overdue'].pk}/reassign-request/", {"reason": "not my area"},
                           format="json")
    assert response.status_code == 200 and response.json()["reassign_reason"] == "not my area"
    other = client.post(f"/api/tasks/{tasks['ravis'].pk}/complete/", {}, format="json")
    assert other.status_code == 404
    assert Task.objects.get(pk=tasks["ravis"].pk).status == "open"


def test_the_list_filters_and_sorts_like_the_queue(tasks, reps, sales_manager):
    client = _client(reps[0].user)
    ids = [row["id"] for row in client.get("/api/tasks/?status=open&sort=priority").json()["results"]]
    assert ids == [tasks["hot_overdue"].pk, tasks["cold_later"].pk]
    assert [row["id"] for row in client.get("/api/tasks/?overdue=true").json()["results"]] == [
        tasks["hot_overdue"].pk]
    assert [row["id"] for row in client.get("/api/tasks/?band=D").json()["results"]] == [tasks["cold_later"].pk]
    assert client.get("/api/tasks/?sort=sideways").status_code == 400
    rows = client.get("/api/tasks/?sort=due").json()["results"]
    assert rows[0]["priority"] > rows[1]["priority"] and rows[0]["overdue"] is True
    manager = _client(sales_manager)
    assert len(manager.get("/api/tasks/?status=open").json()["results"]) == 3
    for sort in ("priority", "score", "due", "-due", "created"):  # the team's queue is DISTINCT: every sort works
        rows = manager.get(f"/api/tasks/?status=open&sort={sort}").json()["results"]
        assert len(rows) == 3
    by_score = [row["score"] for row in manager.get("/api/tasks/?status=open&sort=score").json()["results"]]
    assert by_score == sorted(by_score, reverse=True)
