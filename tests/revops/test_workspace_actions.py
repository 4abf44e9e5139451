"""The rep workspace: the queue's counts, filters and paging; the actions of the lead page; the manager's view; CSRF
on every POST and a ``next`` that never leaves the site (checked before the write, never a 500 after it)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads.choices import Outcome, Stage
from routing.models import Task
from scoring.models import ScoreFeedback
from tests.routing.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def rita_tasks(reps):
    rita = reps[0].user
    now = timezone.now()
    tasks = []
    for index in range(55):
        lead = make_lead(owner=rita, band="AB"[index % 2], score=60)
        tasks.append(Task.objects.create(lead=lead, assignee=rita, title=f"Follow up {index}", dedup_key=f"k{index}",
                                         due_at=now + timedelta(hours=index - 3, minutes=30)))
    return tasks


def test_the_queue_counts_highlights_overdue_and_pages(client, reps, rita_tasks):
    client.force_login(reps[0].user)
    page = client.get("/workspace/")
    body = page.content.decode()
    assert page.context["counts"]["open"] == 55 and page.context["counts"]["overdue"] == 3
    assert body.count('class="task is-overdue"') == 3
    assert len(page.context["tasks"]) == 50 and "Page 1 of 2" in body
    assert len(client.get("/workspace/?page=2").context["tasks"]) == 5
    assert len(client.get("/workspace/?overdue=1").context["tasks"]) == 3
    assert {t.lead.band for t in client.get("/workspace/?band=B").context["tasks"]} == {"B"}


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "https:/evil.example",
                                    "javascript:alert(1)"])
def test_next_never_leaves_the_site_and_the_write_still_happens(client, reps, rita_tasks, target):
    client.force_login(reps[0].user)
    task = rita_tasks[0]
    response = client.post(reverse("task-action", args=[task.pk, "snooze"]), {"preset": "1h", "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/workspace/"
    task.refresh_from_db()
    assert task.snooze_count == 1


def test_a_same_site_next_is_followed(client, reps, rita_tasks):
    client.force_login(reps[0].user)
    task = rita_tasks[0]
    response = client.post(reverse("task-action", args=[task.pk, "complete"]),
                           {"disposition": "contacted", "next": "/workspace/?band=A"})
    assert response["Location"] == "/workspace/?band=A"


def test_every_workspace_post_needs_the_csrf_token(reps, rita_tasks):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reps[0].user)
    task = rita_tasks[0]
    lead = task.lead
    for url, data in ((reverse("task-action", args=[task.pk, "complete"]), {"disposition": "contacted"}),
                      (reverse("task-done", args=[task.pk]), {}),
                      (reverse("lead-action", args=[lead.pk, "won"]), {"deal_value": "1"})):
        assert client.post(url, data).status_code == 403
    task.refresh_from_db()
    lead.refresh_from_db()
    assert task.status == "open" and lead.outcome == Outcome.OPEN


def test_a_bad_disposition_input_is_a_message_not_a_500(client, reps, rita_tasks):
    client.force_login(reps[0].user)
    task = rita_tasks[0]
    response = client.post(reverse("task-action", args=[task.pk, "complete"]),
                           {"disposition": "converted", "deal_value": "lots"}, follow=True)
    assert response.status_code == 200 and "deal_value" in response.content.decode()
    task.refresh_from_db()
    assert task.status == "open"


def test_the_lead_page_marks_won_with_the_deal_value_and_logs_a_call(client, reps, rita_tasks):
    client.force_login(reps[0].user)
    lead = rita_tasks[0].lead
    page = client.get(reverse("workspace-lead", args=[lead.pk]))
    assert page.status_code == 200 and "Log call" in page.content.decode()
    client.post(reverse("lead-action", args=[lead.pk, "call"]), {"note": "left a voicemail"})
    assert lead.events.get(type="call_logged").properties["note"] == "left a voicemail"
    client.post(reverse("lead-action", args=[lead.pk, "won"]), {"deal_value": "18,000"})
    lead.refresh_from_db()
    assert (lead.stage, str(lead.deal_value)) == (Stage.CUSTOMER, "18000.00")
    assert not Task.objects.filter(lead=lead, status="open").exists()


def test_another_rep_cannot_close_the_lead_or_see_it(client, reps, rita_tasks):
    client.force_login(reps[1].user)
    lead = rita_tasks[0].lead
    assert client.get(reverse("workspace-lead", args=[lead.pk])).status_code == 404
    assert client.post(reverse("lead-action", args=[lead.pk, "won"])).status_code == 404
    assert client.post(reverse("task-action", args=[rita_tasks[0].pk, "complete"])).status_code == 404


def test_the_manager_sees_requests_and_breaches_and_reassigns_in_one_action(client, reps, rita_tasks,
                                                                             sales_manager):
    rita_client = Client()
    rita_client.force_login(reps[0].user)
    task = rita_tasks[10]
    rita_client.post(reverse("task-action", args=[task.pk, "reassign"]), {"reason": "speaks only German"})
    client.force_login(sales_manager)
    page = client.get(reverse("workspace-manager"))
    assert [t.pk for t in page.context["requests"]] == [task.pk]
    assert len(page.context["overdue"]) == 3 and "speaks only German" in page.content.decode()
    response = client.post(reverse("manager-reassign", args=[task.pk]),
                           {"rep": reps[1].pk, "next": "//evil.example"})
    assert response["Location"] == reverse("workspace-manager")
    task.refresh_from_db()
    task.lead.refresh_from_db()
    assert task.lead.owner_id == reps[1].user_id and task.assignee_id == reps[1].user_id
    assert task.reassign_requested_at is None


def test_a_rep_does_not_get_the_manager_view(client, reps):
    client.force_login(reps[0].user)
    assert client.get(reverse("workspace-manager")).status_code == 403


def test_score_is_wrong_from_the_lead_page_and_a_bad_reason_is_named(client, reps, rita_tasks):
    client.force_login(reps[0].user)
    lead = rita_tasks[0].lead
    client.post(reverse("lead-action", args=[lead.pk, "score_wrong"]), {"reason": "too_high", "note": "a student"})
    assert ScoreFeedback.objects.get(lead=lead).reason == "too_high"
    response = client.post(reverse("lead-action", args=[lead.pk, "score_wrong"]), {"reason": "meh"}, follow=True)
    assert "reason" in response.content.decode() and ScoreFeedback.objects.count() == 1


def test_the_manager_filters_the_teams_queue_by_rep(client, reps, rita_tasks, sales_manager):
    ravi_lead = make_lead(owner=reps[1].user)
    Task.objects.create(lead=ravi_lead, assignee=reps[1].user, title="ravi's", dedup_key="ravi",
                        due_at=timezone.now() + timedelta(hours=1))
    client.force_login(sales_manager)
    assert client.get("/workspace/").context["counts"]["open"] == 56
    only_ravi = client.get(f"/workspace/?assignee={reps[1].user_id}").context["tasks"]
    assert [t.title for t in only_ravi] == ["ravi's"]
