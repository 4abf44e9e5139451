"""Object-level roles, reading and writing: a manager acts on their teams' leads and tasks only (API, admin,
workspace, dashboard), a rep on their own, an Integration reads back what it created, a Data reader only lists."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from leads.models import Lead
from routing.models import RoutingDecision, Task, Team
from routing.scoping import leads_visible_to, reps_visible_to, tasks_visible_to

pytestmark = pytest.mark.django_db


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_manager_cannot_reassign_another_teams_lead_through_the_api(world):
    response = api_as(world.a.manager).post("/api/leads/reassign/", {
        "lead_ids": [world.b.lead.pk], "rep": world.a.rep.pk, "reason": "mine now"}, format="json")
    assert response.status_code == 404 and "lead_ids" in response.json()
    world.b.lead.refresh_from_db()
    assert world.b.lead.owner_id == world.b.rep.user_id
    assert not RoutingDecision.objects.filter(lead=world.b.lead, cause="manual reassign", user=world.a.manager)


def test_a_manager_cannot_hand_their_lead_to_another_teams_rep(world):
    response = api_as(world.a.manager).post("/api/leads/reassign/", {
        "lead_ids": [world.a.lead.pk], "rep": world.b.rep.pk, "reason": "to them"}, format="json")
    assert response.status_code == 400 and response.json() == {"rep": ["no such rep"]}
    world.a.lead.refresh_from_db()
    assert world.a.lead.owner_id == world.a.rep.user_id


def test_a_manager_reassigns_within_their_team_and_undoes_it(world, reps):
    client = api_as(world.a.manager)
    response = client.post("/api/leads/reassign/", {"lead_ids": [world.a.lead.pk], "rep": reps[1].pk,
                                                    "reason": "balance"}, format="json")
    assert response.status_code == 200 and response.json()["reassigned"] == 1
    undo = client.post("/api/routing/undo/", {"decision_ids": response.json()["decisions"]}, format="json")
    assert undo.status_code == 200 and undo.json()["undone"] == response.json()["decisions"]


def test_a_manager_cannot_undo_another_teams_routing_through_the_api(world):
    response = api_as(world.a.manager).post("/api/routing/undo/", {"decision_ids": [world.b.decision.pk]},
                                            format="json")
    assert response.status_code == 404 and "decision_ids" in response.json()
    world.b.decision.refresh_from_db()
    assert world.b.decision.undone_at is None


def test_a_manager_cannot_open_or_edit_another_teams_task_in_the_admin(client, world):
    client.force_login(world.a.manager)
    url = f"/admin/routing/task/{world.b.task.pk}/change/"
    page = client.get(url)
    assert page.status_code == 302 and page["Location"] == "/admin/"
    posted = client.post(url, {"title": "Hijacked", "lead": world.b.lead.pk, "assignee": world.a.rep.user_id,
                               "kind": "follow_up", "status": "open", "due_at_0": "2030-01-01",
                               "due_at_1": "09:00:00", "attempt": 1, "snooze_count": 0, "dedup_key": "x"})
    assert posted.status_code == 302
    world.b.task.refresh_from_db()
    assert world.b.task.title == "Call bert" and world.b.task.assignee_id == world.b.rep.user_id
    assert client.get(f"/admin/routing/task/{world.b.task.pk}/history/").status_code == 404
    assert client.get(f"/admin/routing/task/{world.a.task.pk}/change/").status_code == 200


def test_a_past_version_of_another_teams_lead_stays_hidden_in_the_admin(client, world):
    client.force_login(world.a.manager)
    record = world.b.lead.history.first()
    hidden = client.get(f"/admin/leads/lead/{world.b.lead.pk}/history/{record.history_id}/")
    assert hidden.status_code == 404
    own = world.a.lead.history.first()
    assert client.get(f"/admin/leads/lead/{world.a.lead.pk}/history/{own.history_id}/").status_code == 200


def test_the_admin_lead_list_of_a_manager_holds_their_teams_leads_only(client, world):
    client.force_login(world.a.manager)
    page = client.get("/admin/leads/lead/")
    assert page.status_code == 200
    shown = {lead.pk for lead in page.context["cl"].result_list}
    assert world.a.lead.pk in shown and world.b.lead.pk not in shown


def test_a_manager_of_a_team_through_managers_sees_that_team_only(world):
    bea = world.b.manager
    assert set(leads_visible_to(bea).values_list("pk", flat=True)) == {world.b.lead.pk}
    assert set(tasks_visible_to(bea).values_list("pk", flat=True)) == {world.b.task.pk}
    assert set(reps_visible_to(bea).values_list("pk", flat=True)) == {world.b.rep.pk}


def test_a_rep_lists_and_reads_their_own_leads_and_tasks_through_the_api(world):
    client = api_as(world.a.rep.user)
    listed = client.get("/api/leads/")
    assert listed.status_code == 200 and [row["id"] for row in listed.json()["results"]] == [world.a.lead.pk]
    assert client.get(f"/api/leads/{world.a.lead.pk}/").status_code == 200
    assert client.get(f"/api/leads/{world.b.lead.pk}/").status_code == 404
    tasks = client.get("/api/tasks/?status=all")
    assert [row["id"] for row in tasks.json()["results"]] == [world.a.task.pk]
    assert client.get(f"/api/tasks/{world.b.task.pk}/").status_code == 404


def test_a_manager_lists_their_teams_leads_only(world):
    listed = api_as(world.a.manager).get("/api/leads/")
    assert [row["id"] for row in listed.json()["results"]] == [world.a.lead.pk]


def test_an_integration_creates_and_reads_back_only_what_it_created(world):
    client = api_as(world.users["integration"])
    created = client.post("/api/leads/", {"email": "new@buyer.example", "first_name": "Nia"}, format="json")
    assert created.status_code == 201
    lead_id = created.json()["id"]
    assert client.get(f"/api/leads/{lead_id}/").status_code == 200
    assert client.get(f"/api/leads/{world.a.lead.pk}/").status_code == 404
    event = client.post("/api/events/", {"lead": lead_id, "type": "page_view"}, format="json")
    assert event.status_code == 201
    assert client.get(f"/api/events/{event.json()['id']}/").status_code == 200
    assert client.get(f"/api/events/{world.a.event.pk}/").status_code == 404
    for refused in ("/api/leads/", "/api/leads/export/", "/api/tasks/", "/api/events/", "/api/score-changes/",
                    "/api/routing/decisions/"):
        assert client.get(refused).status_code == 403, refused
    reassign = client.post("/api/leads/reassign/", {"lead_ids": [lead_id], "rep": world.a.rep.pk, "reason": "x"},
                           format="json")
    assert reassign.status_code == 403


@pytest.mark.parametrize("role", ["integration", "reader"])
def test_integration_and_data_reader_accounts_get_no_pages_even_with_a_password(client, world, role):
    user = world.users[role]
    signed_in = client.post("/accounts/login/", {"username": user.username, "password": "pw"})
    assert signed_in.status_code == 302 and "_auth_user_id" in client.session
    for url in ("/workspace/", "/dashboard/", f"/workspace/leads/{world.a.lead.pk}/", "/workspace/manager/",
                "/workspace/settings/", "/django-rq/"):
        assert client.get(url).status_code == 403, url


def test_a_data_reader_lists_every_lead_but_reads_no_single_object(world):
    client = api_as(world.users["reader"])
    listed = client.get("/api/leads/?updated_since=2000-01-01T00:00:00Z")
    assert {row["id"] for row in listed.json()["results"]} == {world.a.lead.pk, world.b.lead.pk}
    assert client.get(f"/api/leads/{world.a.lead.pk}/").status_code == 403
    assert client.get(f"/api/tasks/{world.a.task.pk}/").status_code == 403
    assert client.post(f"/api/tasks/{world.a.task.pk}/accept/").status_code == 403
    assert client.get("/api/leads/export/").status_code == 403


def test_the_rq_dashboard_opens_for_revops_admins_only(client, world):
    client.force_login(world.a.manager)
    assert client.get("/django-rq/").status_code == 403
    client.force_login(world.users["admin"])
    assert client.get("/django-rq/").status_code == 200


def test_a_manager_dashboard_counts_and_offers_their_teams_only(client, world):
    client.force_login(world.a.manager)
    page = client.get("/dashboard/?period=all")
    assert page.status_code == 200
    assert page.context["total"] == 1
    assert [team.name for team in page.context["teams"]] == [world.a.team.name]
    assert {row["team"] for row in page.context["workload"]} == {world.a.team.name}
    refused = client.get(f"/dashboard/?team={world.b.team.pk}")
    assert refused.status_code == 400 and b"team" in refused.content
    client.force_login(world.users["admin"])
    assert client.get("/dashboard/?period=all").context["total"] == 2


def test_a_manager_cannot_open_another_teams_lead_in_the_workspace(client, world):
    client.force_login(world.a.manager)
    assert client.get(f"/workspace/leads/{world.b.lead.pk}/").status_code == 404
    assert client.get(f"/workspace/leads/{world.a.lead.pk}/").status_code == 200
    moved = client.post(f"/workspace/manager/tasks/{world.a.task.pk}/reassign/", {"rep": world.b.rep.pk})
    assert moved.status_code == 302
    world.a.lead.refresh_from_db()
    assert world.a.lead.owner_id == world.a.rep.user_id


def test_the_migration_makes_each_teams_manager_one_of_its_managers(world):
    migration = import_module("routing.migrations.0010_team_managers_feed_updated_at")
    team = world.a.team
    assert team.manager_id == world.a.manager.pk
    team.managers.clear()
    migration.managers_from_manager(apps, None)
    assert list(team.managers.all()) == [world.a.manager]
    orphan = Team.objects.create(name="Orphans")
    orphan.managers.add(world.b.manager)
    migration.managers_to_manager(apps, None)
    assert Team.objects.get(pk=orphan.pk).manager_id == world.b.manager.pk


def test_a_partial_save_moves_updated_at_for_the_feed(world):
    task = world.a.task
    before = Task.objects.get(pk=task.pk).updated_at
    task.outcome_note = "left a voicemail"
    task.save(update_fields=["outcome_note"])
    assert Task.objects.get(pk=task.pk).updated_at > before
    lead = world.a.lead
    before = Lead.objects.get(pk=lead.pk).updated_at
    lead.queue_reason = "checked"
    lead.save(update_fields=["queue_reason"])
    assert Lead.objects.get(pk=lead.pk).updated_at > before
