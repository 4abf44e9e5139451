"""Re-routing: a deactivated rep's open leads, a territory change, and workload rebalancing."""

import pytest
from django.urls import reverse

from leads.models import Lead
from revops.base.choices import Workflow
from revops.base.switches import workflow_switch_set
from routing.choices import RepRole, TaskStatus
from routing.models import RoutingDecision, Task, Team, Territory
from routing.services import (
    lead_route,
    rep_leads_reroute,
    routing_rebalance,
    task_create_for_decision,
    territory_leads_reroute,
)

from .factories import make_lead, make_reps, team_rule

pytestmark = pytest.mark.django_db


def _route_all(leads):
    for lead in leads:
        decision = lead_route(lead_id=lead.pk).decision
        if decision and decision.rep:
            task_create_for_decision(decision_id=decision.pk)
        lead.refresh_from_db()
    return leads


@pytest.fixture
def pool():
    team = Team.objects.create(name="Pool")
    reps = make_reps(team, 3)
    team_rule("All to pool", team)
    return team, reps


# --- A deactivated rep --------------------------------------------------------------------------------------------


def test_deactivating_a_rep_reroutes_their_open_leads_to_the_others(pool, inline_jobs,
                                                                    django_capture_on_commit_callbacks):
    _, reps = pool
    leads = _route_all([make_lead() for _ in range(6)])
    leaving = reps[0]
    theirs = [lead for lead in leads if lead.owner == leaving.user]
    closed = make_lead(owner=leaving.user, outcome="won")
    assert len(theirs) == 2
    leaving.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        leaving.save()
    for lead in theirs:
        lead.refresh_from_db()
        assert lead.owner.rep in reps[1:]
        decision = lead.routing_decisions.first()
        assert decision.cause == "rep deactivated" and decision.previous_owner == leaving.user
        assert Task.objects.get(lead=lead, assignee=leaving.user).status == TaskStatus.CANCELLED
        assert Task.objects.get(lead=lead, assignee=lead.owner).status == TaskStatus.OPEN
        assert lead.history.first().history_change_reason.startswith("automation:routing (rep deactivated)")
    assert Lead.objects.get(pk=closed.pk).owner == leaving.user  # closed leads stay where they are
    assert rep_leads_reroute(rep_id=leaving.pk).considered == 0  # a second run finds nothing to do


def test_deactivating_the_user_of_a_rep_reroutes_their_open_leads_too(pool, inline_jobs,
                                                                      django_capture_on_commit_callbacks):
    _, reps = pool
    leads = _route_all([make_lead() for _ in range(6)])
    leaving = reps[1]
    theirs = [lead for lead in leads if lead.owner == leaving.user]
    assert theirs
    leaving.user.is_active = False  # the person left: their login is switched off, the rep row left as it was
    with django_capture_on_commit_callbacks(execute=True):
        leaving.user.save()
    for lead in theirs:
        lead.refresh_from_db()
        assert lead.owner.rep in (reps[0], reps[2])
        assert lead.routing_decisions.first().cause == "rep deactivated"


def test_saving_an_active_rep_schedules_nothing(pool, django_capture_on_commit_callbacks):
    _, reps = pool
    _route_all([make_lead() for _ in range(3)])
    with django_capture_on_commit_callbacks() as callbacks:
        reps[0].capacity = 10
        reps[0].save()
    assert callbacks == []


def test_a_deactivated_reps_leads_go_to_review_when_nobody_else_is_available(pool):
    _, reps = pool
    leads = _route_all([make_lead() for _ in range(3)])
    for rep in reps:
        rep.is_active = False
        rep.save()
    result = rep_leads_reroute(rep_id=reps[0].pk)
    assert result.moved == 1
    lead = next(lead for lead in leads if lead.owner == reps[0].user)
    lead.refresh_from_db()
    assert lead.owner is None and lead.queue == "review"


# --- A territory change -------------------------------------------------------------------------------------------


@pytest.fixture
def regions():
    na = Territory.objects.create(name="NA", countries="US, CA")
    emea = Territory.objects.create(name="EMEA", countries="GB, DE")
    na_team, emea_team = Team.objects.create(name="NA team"), Team.objects.create(name="EMEA team")
    na_reps, emea_reps = make_reps(na_team, 2, prefix="na"), make_reps(emea_team, 2, prefix="emea")
    team_rule("NA", na_team, order=10, territory=na)
    team_rule("EMEA", emea_team, order=20, territory=emea)
    return {"na": na, "emea": emea, "na_reps": na_reps, "emea_reps": emea_reps}


def test_a_territory_change_moves_only_the_leads_whose_owner_no_longer_fits(regions):
    us = _route_all([make_lead(country="US") for _ in range(3)])
    canada = _route_all([make_lead(country="CA") for _ in range(2)])
    assert all(lead.owner.rep in regions["na_reps"] for lead in us + canada)
    regions["na"].countries = "US"
    regions["na"].save()
    regions["emea"].countries = "GB, DE, CA"
    regions["emea"].save()

    moved = territory_leads_reroute(territory_id=regions["emea"].pk)
    assert moved.considered == 2 and moved.moved == 2
    for lead in canada:
        lead.refresh_from_db()
        assert lead.owner.rep in regions["emea_reps"]
        assert lead.routing_decisions.first().cause == "territory change: EMEA"
    kept = territory_leads_reroute(territory_id=regions["na"].pk)
    # The US leads (in NA) and the Canadian ones (routed by an NA rule before) are looked at; all owners fit.
    assert kept.considered == 5 and kept.moved == 0 and kept.unchanged == 5
    assert RoutingDecision.objects.filter(lead__in=us).count() == 3


def test_the_territory_admin_action_schedules_the_reroute(regions, admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(reverse("admin:routing_territory_changelist"),
                                     {"action": "reroute_leads", "_selected_action": [str(regions["na"].pk)]},
                                     follow=True)
    assert "Re-routing scheduled for 1 territories" in response.content.decode()
    assert len(callbacks) == 1


# --- Rebalancing --------------------------------------------------------------------------------------------------


def test_rebalance_moves_leads_from_the_overloaded_rep_until_the_team_is_even(pool, sales_manager):
    team, reps = pool
    for rep, count in zip(reps, (9, 1, 2), strict=True):
        for _ in range(count):
            lead = make_lead(owner=rep.user)
            Task.objects.create(lead=lead, assignee=rep.user, title="call", due_at=lead.created_at,
                                dedup_key=f"t{lead.pk}")
    result = routing_rebalance(team_id=team.pk, user=sales_manager)
    assert result.before == {str(reps[0]): 9, str(reps[1]): 1, str(reps[2]): 2}
    assert result.after == {str(reps[0]): 4, str(reps[1]): 4, str(reps[2]): 4}
    assert len(result.moves) == 5 and all(m["from"] == str(reps[0]) for m in result.moves)
    decisions = RoutingDecision.objects.filter(cause="rebalance")
    assert decisions.count() == 5
    assert all("above the team average" in d.summary and d.user == sales_manager for d in decisions)
    for decision in decisions:
        assert Task.objects.get(lead=decision.lead).assignee == decision.owner  # the open task moved too
    assert routing_rebalance(team_id=team.pk).moves == []  # already even


def test_rebalance_relieves_a_rep_over_capacity_and_respects_the_others_capacity(pool):
    team, reps = pool
    reps[0].capacity = 2
    reps[0].save()
    reps[1].capacity = 3
    reps[1].save()
    reps[2].is_active = False
    reps[2].save()
    for _ in range(5):
        make_lead(owner=reps[0].user)
    result = routing_rebalance(team_id=team.pk)
    assert result.after == {str(reps[0]): 2, str(reps[1]): 3}
    assert "over capacity" in result.moves[0]["reason"]


def test_rebalance_dry_run_writes_nothing(pool):
    team, reps = pool
    for _ in range(4):
        make_lead(owner=reps[0].user)
    result = routing_rebalance(team_id=team.pk, dry_run=True)
    assert len(result.moves) == 2
    assert not RoutingDecision.objects.exists()
    assert set(Lead.objects.values_list("owner", flat=True)) == {reps[0].user_id}


def test_team_admin_rebalance_action(pool, admin_client):
    team, reps = pool
    for _ in range(4):
        make_lead(owner=reps[0].user)
    response = admin_client.post(reverse("admin:routing_team_changelist"),
                                 {"action": "rebalance", "_selected_action": [str(team.pk)]}, follow=True)
    assert "Pool: moved 2 leads" in response.content.decode()


def test_switching_routing_back_on_catches_up_on_deactivations_and_handoffs(pool, inline_jobs,
                                                                            django_capture_on_commit_callbacks):
    team, reps = pool
    _route_all([make_lead() for _ in range(3)])
    sdr_team = Team.objects.create(name="SDRs")
    sdr = make_reps(sdr_team, 1, role=RepRole.SDR)[0]
    team_rule("SQL first", team, order=1, stages="sql")
    sql_lead = make_lead(stage="sql", owner=sdr.user)
    workflow_switch_set(workflow=Workflow.ROUTING, enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        reps[0].is_active = False
        reps[0].save()  # the re-route job is skipped: the switch is off
    assert Lead.objects.filter(owner=reps[0].user).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        workflow_switch_set(workflow=Workflow.ROUTING, enabled=True)
    assert not Lead.objects.filter(owner=reps[0].user).exists()
    sql_lead.refresh_from_db()
    assert sql_lead.owner.rep in reps[1:] and sql_lead.routing_decisions.first().cause == "stage handoff"
