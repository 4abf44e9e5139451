"""Governance: route_leads, previewing rules with drafts on recent leads, bulk reassignment and undo."""

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from leads.models import Lead
from revops.base.choices import Workflow
from revops.base.switches import workflow_switch_set
from routing.choices import RuleAction, TaskStatus
from routing.models import RoutingDecision, RoutingPointer, RoutingRule, Task, Team
from routing.services import (
    lead_route,
    leads_reassign,
    routing_decisions_undo,
    routing_preview,
    routing_rules_activate,
    task_create_for_decision,
)

from .factories import make_lead, make_reps, team_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_teams():
    smb, mid = Team.objects.create(name="SMB"), Team.objects.create(name="Mid")
    smb_reps, mid_reps = make_reps(smb, 2, prefix="smb"), make_reps(mid, 2, prefix="mid")
    small = team_rule("Small to SMB", smb, order=10, max_employees=199)
    mid_rule = team_rule("Mid to Mid", mid, order=20, min_employees=200)
    return {"smb": smb_reps, "mid": mid_reps, "small_rule": small, "mid_rule": mid_rule, "mid_team": mid,
            "smb_team": smb}


def _routed(count: int, **fields) -> list[Lead]:
    leads = [make_lead(**fields) for _ in range(count)]
    for lead in leads:
        decision = lead_route(lead_id=lead.pk).decision
        if decision.rep:
            task_create_for_decision(decision_id=decision.pk)
        lead.refresh_from_db()
    return leads


# --- route_leads --------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # commits for real, so the tasks run inline right after each decision
def test_route_leads_routes_only_the_leads_waiting_for_routing(two_teams):
    waiting = [make_lead(employees=50), make_lead(employees=500), make_lead(employees=None)]
    owned = make_lead(owner=two_teams["smb"][0].user)
    in_review = make_lead(queue="review")
    out = StringIO()
    call_command("route_leads", stdout=out)
    assert "Routed 3 waiting leads" in out.getvalue() and "2 assigned, 1 holding" in out.getvalue()
    owners = {lead.pk: Lead.objects.get(pk=lead.pk).owner for lead in waiting}
    assert owners[waiting[0].pk].rep in two_teams["smb"] and owners[waiting[1].pk].rep in two_teams["mid"]
    assert Lead.objects.get(pk=waiting[2].pk).queue == "holding"
    assert not RoutingDecision.objects.filter(lead__in=[owned, in_review]).exists()
    assert Task.objects.filter(lead__in=waiting[:2]).count() == 2  # tasks made in the process, no worker


def test_route_leads_refuses_while_the_routing_kill_switch_is_off(two_teams):
    make_lead()
    workflow_switch_set(workflow=Workflow.ROUTING, enabled=False)
    with pytest.raises(CommandError, match="kill switch is off"):
        call_command("route_leads")
    assert not RoutingDecision.objects.exists()


def test_route_leads_dry_run_prints_who_would_get_what_and_writes_nothing(two_teams):
    _routed(4, employees=500)  # mid reps own them
    two_teams["mid_rule"].min_employees = 1000  # 500-employee leads now fall to... nothing but SMB if widened
    two_teams["mid_rule"].save()
    two_teams["small_rule"].max_employees = 999
    two_teams["small_rule"].save()
    decisions, pointers = RoutingDecision.objects.count(), list(RoutingPointer.objects.values_list("turns"))
    history = sum(lead.history.count() for lead in Lead.objects.all())
    out = StringIO()
    call_command("route_leads", "--dry-run", "--last", "10", "--show-leads", stdout=out)
    text = out.getvalue()
    assert "4 of 4 leads would be assigned differently" in text
    mid_names = [r.user.username for r in two_teams["mid"]]
    smb_names = [r.user.username for r in two_teams["smb"]]
    table = {tuple(line.split()[:2]): int(line.split()[2]) for line in text.splitlines()
             if line.split()[:1] and line.split()[0] in mid_names}
    assert sum(table.values()) == 4 and all(to in smb_names for _, to in table)
    assert RoutingDecision.objects.count() == decisions
    assert list(RoutingPointer.objects.values_list("turns")) == pointers
    assert sum(lead.history.count() for lead in Lead.objects.all()) == history
    assert all(lead.owner.rep in two_teams["mid"] for lead in Lead.objects.all())


# --- Drafts and preview -------------------------------------------------------------------------------------------


def test_a_draft_is_never_used_live_but_the_preview_tries_it_in_place_of_the_rule_it_replaces(two_teams):
    leads = _routed(3, employees=500)
    draft = RoutingRule.objects.create(name="Mid to SMB (draft)", order=20, min_employees=200, active=False,
                                       draft=True, replaces=two_teams["mid_rule"], action=RuleAction.ASSIGN_TEAM,
                                       team=two_teams["smb_team"])
    live = lead_route(lead_id=make_lead(employees=600).pk).decision
    assert live.rule == two_teams["mid_rule"]

    without = routing_preview(last=10, include_drafts=False)
    with_drafts = routing_preview(last=10, include_drafts=True)
    assert without.changed == [] and len(without.rows) == 4
    assert with_drafts.drafts == [draft.name]
    assert len(with_drafts.changed) == 4 and {row.rule for row in with_drafts.changed} == {draft.name}
    assert all(to in {r.user.username for r in two_teams["smb"]} for _, to, _ in with_drafts.transitions())
    assert "4 of 4 leads would be assigned differently" in with_drafts.as_text()
    assert all(Lead.objects.get(pk=lead.pk).owner.rep in two_teams["mid"] for lead in leads)


def test_activating_a_draft_makes_it_live_and_retires_the_rule_it_replaces(two_teams, revops_admin):
    draft = RoutingRule.objects.create(name="Mid v2", order=20, min_employees=200, active=False, draft=True,
                                       replaces=two_teams["mid_rule"], action=RuleAction.ASSIGN_TEAM,
                                       team=two_teams["smb_team"])
    assert routing_rules_activate(rule_ids=[draft.pk], user=revops_admin) == ["Mid v2"]
    draft.refresh_from_db()
    two_teams["mid_rule"].refresh_from_db()
    assert draft.active and not draft.draft and draft.replaces is None
    assert not two_teams["mid_rule"].active
    assert two_teams["mid_rule"].history.first().history_change_reason == "replaced by draft 'Mid v2'"
    assert lead_route(lead_id=make_lead(employees=600).pk).decision.rule == draft


def test_a_draft_must_stay_inactive_and_only_drafts_replace_rules(two_teams):
    rule = RoutingRule(name="x", active=True, draft=True, action=RuleAction.QUEUE, queue="nurture")
    with pytest.raises(ValidationError, match="draft rule stays inactive"):
        rule.full_clean()
    rule = RoutingRule(name="y", replaces=two_teams["mid_rule"], action=RuleAction.QUEUE, queue="nurture")
    with pytest.raises(ValidationError, match="Only a draft"):
        rule.full_clean()


def test_the_admin_preview_page_shows_the_from_to_table(two_teams, admin_client):
    _routed(2, employees=500)
    RoutingRule.objects.create(name="Mid to SMB (draft)", order=5, min_employees=200, active=False, draft=True,
                               action=RuleAction.ASSIGN_TEAM, team=two_teams["smb_team"])
    changelist = admin_client.get(reverse("admin:routing_routingrule_changelist"))
    assert "Preview rules on recent leads" in changelist.content.decode()
    page = admin_client.get(reverse("admin:routing_routingrule_preview"), {"last": 50, "drafts": "1", "run": "1"})
    assert page.status_code == 200
    assert "2 of 2 leads would be assigned differently" in page.content.decode()
    no_drafts = admin_client.get(reverse("admin:routing_routingrule_preview"), {"last": 50, "run": "1"})
    assert "0 of 2 leads would be assigned differently" in no_drafts.content.decode()


# --- Bulk reassignment and undo -----------------------------------------------------------------------------------


def test_bulk_reassign_writes_a_decision_per_lead_and_moves_open_tasks(two_teams, sales_manager):
    leads = _routed(3, employees=500)
    target = two_teams["smb"][0]
    result = leads_reassign(lead_ids=[lead.pk for lead in leads], rep_id=target.pk, reason="key account",
                            user=sales_manager)
    assert result.reassigned == 3 and result.skipped == []
    for lead in leads:
        lead.refresh_from_db()
        assert lead.owner == target.user
        decision = lead.routing_decisions.first()
        assert decision.cause == "manual reassign" and decision.user == sales_manager
        assert "key account" in decision.summary
        task = Task.objects.get(lead=lead)
        assert task.assignee == target.user and task.status == TaskStatus.OPEN
        assert lead.history.first().history_user == sales_manager
    again = leads_reassign(lead_ids=[leads[0].pk], rep_id=target.pk, reason="again", user=sales_manager)
    assert again.reassigned == 0 and "already owned" in again.skipped[0]


def test_bulk_reassign_needs_a_reason_and_an_active_rep_and_warns_over_capacity(two_teams, sales_manager):
    leads = _routed(2, employees=500)
    target = two_teams["smb"][1]
    with pytest.raises(ValidationError, match="reason"):
        leads_reassign(lead_ids=[leads[0].pk], rep_id=target.pk, reason=" ", user=sales_manager)
    target.capacity = 1
    target.save()
    result = leads_reassign(lead_ids=[lead.pk for lead in leads], rep_id=target.pk, reason="cover",
                            user=sales_manager)
    assert result.reassigned == 2 and "over their capacity of 1" in result.warnings[0]
    target.is_active = False
    target.save()
    with pytest.raises(ValidationError, match="inactive"):
        leads_reassign(lead_ids=[leads[0].pk], rep_id=target.pk, reason="x", user=sales_manager)


def test_undo_restores_previous_owners_and_queues_and_cancels_the_tasks_the_change_created(two_teams, sales_manager):
    owned = _routed(1, employees=500)[0]
    before_owner = owned.owner
    queued = make_lead(queue="review", queue_reason="needs a look")
    target = two_teams["smb"][0]
    result = leads_reassign(lead_ids=[owned.pk, queued.pk], rep_id=target.pk, reason="cover", user=sales_manager)
    new_task = task_create_for_decision(decision_id=RoutingDecision.objects.get(lead=queued).pk)
    assert new_task is not None

    undo = routing_decisions_undo(decision_ids=result.decisions, user=sales_manager)
    assert sorted(undo.undone) == sorted(result.decisions) and undo.skipped == []
    owned.refresh_from_db()
    queued.refresh_from_db()
    assert owned.owner == before_owner and owned.queue == ""
    assert queued.owner is None and queued.queue == "review" and queued.queue_reason == "needs a look"
    assert Task.objects.get(lead=owned).assignee == before_owner  # the moved task went back
    new_task.refresh_from_db()
    assert new_task.status == TaskStatus.CANCELLED
    assert all(d.undone_at and d.undone_by == sales_manager for d in RoutingDecision.objects.filter(
        pk__in=result.decisions))
    assert queued.history.first().history_change_reason.startswith("undo of routing decision")
    assert routing_decisions_undo(decision_ids=result.decisions, user=sales_manager).skipped[0].endswith(
        "already undone")


def test_undo_unwinds_a_chain_newest_first_and_reopens_cancelled_tasks(two_teams, sales_manager):
    lead = _routed(1, employees=500)[0]
    first_owner, first_task = lead.owner, Task.objects.get(lead=lead)
    rerouted = lead_route(lead_id=lead.pk, force=True, cause="re-route from admin").decision
    first_task.refresh_from_db()
    assert first_task.status == TaskStatus.CANCELLED
    reassigned = leads_reassign(lead_ids=[lead.pk], rep_id=two_teams["smb"][1].pk, reason="x",
                                user=sales_manager).decisions[0]
    only_older = routing_decisions_undo(decision_ids=[rerouted.pk], user=sales_manager)
    assert only_older.undone == [] and "later routing change" in only_older.skipped[0]
    both = routing_decisions_undo(decision_ids=[rerouted.pk, reassigned], user=sales_manager)
    assert both.undone == [reassigned, rerouted.pk]
    lead.refresh_from_db()
    first_task.refresh_from_db()
    assert lead.owner == first_owner and first_task.status == TaskStatus.OPEN


def test_undo_leaves_a_lead_that_changed_since_alone(two_teams, sales_manager):
    lead = _routed(1, employees=500)[0]
    decision = lead.routing_decisions.first()
    Lead.objects.filter(pk=lead.pk).update(owner=two_teams["smb"][0].user)  # someone changed it by hand
    result = routing_decisions_undo(decision_ids=[decision.pk], user=sales_manager)
    assert result.undone == [] and "changed since" in result.skipped[0]


def test_admin_reassign_and_undo_actions(two_teams, admin_client):
    leads = _routed(2, employees=500)
    target = two_teams["smb"][0]
    changelist = reverse("admin:leads_lead_changelist")
    ids = [str(lead.pk) for lead in leads]
    form = admin_client.post(changelist, {"action": "reassign", "_selected_action": ids})
    assert form.status_code == 200 and "Reassign <strong>2</strong> leads" in form.content.decode()
    done = admin_client.post(changelist, {"action": "reassign", "_selected_action": ids, "apply": "1",
                                          "rep": target.pk, "reason": "holiday cover"}, follow=True)
    assert "Reassigned 2 leads" in done.content.decode()
    assert set(Lead.objects.values_list("owner", flat=True)) == {target.user_id}
    decisions = RoutingDecision.objects.filter(cause="manual reassign")
    admin_client.post(reverse("admin:routing_routingdecision_changelist"),
                      {"action": "undo", "_selected_action": [str(d.pk) for d in decisions]})
    assert {lead.owner for lead in Lead.objects.all()} == {lead.owner for lead in leads}
