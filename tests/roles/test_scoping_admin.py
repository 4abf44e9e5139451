"""The scope reaches every admin page a manager can open: the triage queue (unowned held and review leads) they
place into their teams, foreign keys that offer and accept only their teams' people, rows about another team's
leads (merges, duplicate pairs, messages, log lines, imports), the RevOps-only tables, and ``Team.managers`` in
configuration as code."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from leads.choices import Queue
from leads.models import Lead
from revops.top.config import ConfigError, config_export, config_import
from routing.models import Rep, RoutingDecision, Task, Team
from routing.scoping import leads_visible_to

pytestmark = pytest.mark.django_db


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _form_field(model, user, name: str, obj=None):
    """The admin change form's field ``name`` as ``user`` gets it."""
    model_admin = admin.site._registry[model]
    return model_admin.get_form(_request(user), obj).base_fields[name]


@pytest.fixture
def waiting(world):
    """Unowned leads: one held for data, one in review, one in nurture (no human works nurture)."""
    return {queue: Lead.objects.create(email=f"{queue}@waiting.example", queue=queue)
            for queue in (Queue.HOLDING, Queue.REVIEW, Queue.NURTURE)}


def test_every_manager_sees_the_triage_queue_but_not_nurture_nor_in_their_dashboard(client, world, waiting):
    held, review, nurture = waiting[Queue.HOLDING], waiting[Queue.REVIEW], waiting[Queue.NURTURE]
    for manager in (world.a.manager, world.b.manager):
        visible = set(leads_visible_to(manager).values_list("pk", flat=True))
        assert {held.pk, review.pk} <= visible and nurture.pk not in visible
    assert not leads_visible_to(world.a.rep.user).filter(pk__in=[held.pk, review.pk]).exists()
    client.force_login(world.a.manager)
    shown = {lead.pk for lead in client.get("/admin/leads/lead/").context["cl"].result_list}
    assert shown == {world.a.lead.pk, held.pk, review.pk}
    assert client.get(f"/workspace/leads/{review.pk}/").status_code == 200
    assert client.get("/dashboard/?period=all").context["total"] == 1  # the team's own leads only


def test_a_manager_places_a_review_lead_with_one_of_their_reps_and_not_with_another_teams(client, world, waiting,
                                                                                           reps):
    review = waiting[Queue.REVIEW]
    client.force_login(world.a.manager)
    form = {"action": "reassign", helpers.ACTION_CHECKBOX_NAME: [review.pk], "apply": "1", "reason": "triage"}
    refused = client.post("/admin/leads/lead/", {**form, "rep": world.b.rep.pk})
    assert refused.status_code == 200 and "rep" in refused.context["form"].errors
    review.refresh_from_db()
    assert review.owner_id is None
    client.post("/admin/leads/lead/", {**form, "rep": reps[1].pk})
    review.refresh_from_db()
    assert review.owner_id == reps[1].user_id
    assert RoutingDecision.objects.filter(lead=review, user=world.a.manager, owner=reps[1].user).exists()
    # Placed: the lead is the team's now, and no longer every manager's.
    assert not leads_visible_to(world.b.manager).filter(pk=review.pk).exists()


def test_owner_assignee_lead_and_team_fields_offer_and_accept_the_managers_teams_only(world, reps):
    manager, bob = world.a.manager, world.b.rep
    owner = _form_field(Lead, manager, "owner", world.a.lead)
    assert set(owner.queryset.values_list("pk", flat=True)) == {manager.pk, *(r.user_id for r in reps)}
    with pytest.raises(ValidationError):
        owner.clean(bob.user_id)
    assert owner.clean(reps[1].user_id) == reps[1].user
    assignee = _form_field(Task, manager, "assignee", world.a.task)
    with pytest.raises(ValidationError):
        assignee.clean(bob.user_id)
    lead = _form_field(Task, manager, "lead", world.a.task)
    with pytest.raises(ValidationError):
        lead.clean(world.b.lead.pk)
    team = _form_field(Rep, manager, "team", world.a.rep)
    assert list(team.queryset) == [world.a.team]
    # A RevOps admin is offered everyone.
    admin_owner = _form_field(Lead, world.users["admin"], "owner", world.a.lead)
    assert admin_owner.clean(bob.user_id) == bob.user


def test_a_manager_cannot_move_a_rep_to_another_team_nor_change_whose_login_it_is(client, world):
    rep = world.a.rep
    client.force_login(world.a.manager)
    page = client.get(f"/admin/routing/rep/{rep.pk}/change/")
    assert page.status_code == 200
    fields = page.context["adminform"].form.fields
    assert "user" not in fields and list(fields["team"].queryset) == [world.a.team]
    model_admin = admin.site._registry[Rep]
    assert "user" in model_admin.get_readonly_fields(_request(world.a.manager), rep)
    assert "user" not in model_admin.get_readonly_fields(_request(world.users["admin"]), rep)
    form_class = model_admin.get_form(_request(world.a.manager), rep)
    data = {**form_class(instance=rep).initial, "team": world.b.team.pk, "territories": []}
    form = form_class(data=data, instance=rep)
    assert not form.is_valid() and "team" in form.errors
    rep.refresh_from_db()
    assert rep.team_id == world.a.team.pk


def test_rows_about_another_teams_lead_stay_hidden_in_the_admin(client, world_rows):
    world = world_rows
    client.force_login(world.a.manager)
    for url, own, other in (
        ("/admin/leads/mergelog/", world.a.merge, world.b.merge),
        ("/admin/leads/duplicatereview/", world.a.review, world.b.review),
        ("/admin/revops/notification/", world.a.notification, world.b.notification),
        ("/admin/revops/automationlog/", world.a.automation, world.b.automation),
        ("/admin/leads/webformsubmission/", world.a.submission, world.b.submission),
        ("/admin/leads/leadimport/", world.a.lead_import, world.b.lead_import),
    ):
        shown = {row.pk for row in client.get(url).context["cl"].result_list}
        assert own.pk in shown and other.pk not in shown, url
    assert client.get(f"/admin/leads/duplicatereview/{world.b.review.pk}/compare/").status_code == 404
    assert client.get(f"/admin/leads/duplicatereview/{world.a.review.pk}/compare/").status_code == 200
    assert client.get(f"/admin/leads/leadimport/{world.b.lead_import.pk}/progress/").status_code == 404


def test_a_notification_about_something_other_than_a_lead_task_rep_or_team_is_revops_only(world):
    from revops.base.models import Notification
    from revops.base.scoping import scoped

    report = Notification.objects.create(dedup_key="report:1", text="Daily report", object_type="sentreport",
                                         object_id=1)
    team_note = Notification.objects.create(dedup_key="team:1", text="Team A breach", object_type="team",
                                            object_id=world.a.team.pk)
    visible = set(scoped(Notification.objects.all(), world.a.manager).values_list("pk", flat=True))
    assert team_note.pk in visible and report.pk not in visible
    assert report.pk in set(scoped(Notification.objects.all(), world.users["admin"]).values_list("pk", flat=True))


@pytest.mark.parametrize("model", ["webhooksubscription", "webhookdelivery", "pendingjob", "erasurerecord"])
def test_the_revops_tables_are_not_a_managers(client, world, model):
    client.force_login(world.a.manager)
    assert client.get(f"/admin/revops/{model}/").status_code == 403
    assert f"/admin/revops/{model}/" not in client.get("/admin/").content.decode()
    client.force_login(world.users["admin"])
    assert client.get(f"/admin/revops/{model}/").status_code == 200


def test_team_managers_are_configuration_as_code(world):
    exported = {team["name"]: team for team in config_export()["teams"]}
    assert exported["Enterprise"]["managers"] == ["bea"]
    exported["Enterprise"]["managers"] = ["bea", "max"]
    config_import({"teams": list(exported.values())})
    assert set(Team.objects.get(name="Enterprise").managers.values_list("username", flat=True)) == {"bea", "max"}
    assert leads_visible_to(world.a.manager).filter(pk=world.b.lead.pk).exists()
    with pytest.raises(ConfigError, match="teams\\[.*\\]\\.managers: unknown user 'nobody'"):
        config_import({"teams": [{**exported["Enterprise"], "managers": ["nobody"]}]})


def test_a_manager_changes_a_reps_capacity_and_hours_in_the_admin(client, world):
    rep = world.a.rep
    client.force_login(world.a.manager)
    page = client.get(f"/admin/routing/rep/{rep.pk}/change/")
    form = page.context["adminform"].form
    for shown in ("team", "capacity", "working_hours_start", "time_zone", "territories", "notify_via"):
        assert shown in form.fields, shown
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        data[name] = [str(v) for v in value] if isinstance(value, list | tuple) else str(value)
    data.update(capacity="7", working_hours_start="08:00", team=str(world.a.team.pk))
    saved = client.post(f"/admin/routing/rep/{rep.pk}/change/", data)
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    rep.refresh_from_db()
    assert rep.capacity == 7 and rep.working_hours_start.hour == 8 and rep.user_id == world.a.rep.user_id
    assert rep.history.first().history_user == world.a.manager
