"""One lead lifecycle: every path that closes a lead (admin, import with outcome, workspace, a disposition, a
merge into a closed lead) moves its stage and closes its open tasks with the reason, in the history."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from leads.choices import Outcome, Stage, Transition
from leads.models import Lead, SourceRecord
from leads.services import lead_ingest, lead_transition, lead_update
from routing.choices import TaskStatus
from routing.models import RoutingDecision, Task
from routing.services import lead_tasks_follow_merge, task_create_for_decision
from tests.admin_forms import change_form_data
from tests.routing.factories import make_lead

pytestmark = pytest.mark.django_db


def _open_task(lead: Lead, user, key: str = "t") -> Task:
    return Task.objects.create(lead=lead, assignee=user, title="Follow up", due_at=timezone.now() + timedelta(hours=1),
                               dedup_key=f"{key}:{lead.pk}")


def test_won_makes_a_customer_and_cancels_the_open_tasks_with_the_reason(reps):
    rita = reps[0].user
    lead = make_lead(owner=rita)
    task = _open_task(lead, rita)
    lead_transition(lead_id=lead.pk, to=Transition.WON, reason="signed", user=rita, deal_value=Decimal("42000"))
    lead.refresh_from_db()
    task.refresh_from_db()
    assert (lead.outcome, lead.stage, lead.deal_value) == (Outcome.WON, Stage.CUSTOMER, Decimal("42000"))
    assert lead.closed_at is not None
    assert task.status == TaskStatus.CANCELLED and "signed" in task.outcome_note
    assert task.history.first().history_change_reason == "lead closed: signed"
    assert task.history.first().history_user == rita
    assert lead.history.first().history_change_reason == "Won (customer): signed"


@pytest.mark.parametrize("to, stage", [(Transition.LOST, Stage.MQL), (Transition.DISQUALIFIED, Stage.DISQUALIFIED),
                                       (Transition.SUPPRESSED, Stage.SUPPRESSED)])
def test_every_close_cancels_the_open_tasks(reps, to, stage):
    lead = make_lead(owner=reps[0].user)
    _open_task(lead, reps[0].user)
    lead_transition(lead_id=lead.pk, to=to, reason="why not")
    lead.refresh_from_db()
    assert lead.stage == stage
    assert not Task.objects.filter(lead=lead, status=TaskStatus.OPEN).exists()
    assert "automation:lifecycle" in Task.objects.get(lead=lead).history.first().history_change_reason


def test_converting_to_an_opportunity_keeps_the_lead_open_and_its_tasks(reps):
    lead = make_lead(owner=reps[0].user)
    task = _open_task(lead, reps[0].user)
    lead_transition(lead_id=lead.pk, to=Transition.OPPORTUNITY, reason="demo done", deal_value=Decimal("9000"))
    lead.refresh_from_db()
    task.refresh_from_db()
    assert (lead.stage, lead.outcome, task.status) == (Stage.OPPORTUNITY, Outcome.OPEN, TaskStatus.OPEN)


def test_lost_set_in_the_admin_closes_the_task(reps, revops_admin):
    lead = make_lead(owner=reps[0].user)
    _open_task(lead, reps[0].user)
    lead.outcome = Outcome.LOST
    lead_update(lead=lead, changed=["outcome"], user=revops_admin)
    lead.refresh_from_db()
    assert lead.closed_at is not None
    assert Task.objects.get(lead=lead).status == TaskStatus.CANCELLED


def test_the_admin_change_form_goes_through_the_lifecycle(client, reps, revops_admin):
    lead = make_lead(owner=reps[0].user, first_name="Ann")
    _open_task(lead, reps[0].user)
    client.force_login(revops_admin)
    data = change_form_data(client, f"/admin/leads/lead/{lead.pk}/change/")
    data.update({"outcome": "won", "deal_value": "1000"})
    response = client.post(f"/admin/leads/lead/{lead.pk}/change/", data)
    assert response.status_code == 302, getattr(response, "context", None) and response.context["errors"]
    lead.refresh_from_db()
    assert lead.stage == Stage.CUSTOMER
    assert Task.objects.get(lead=lead).status == TaskStatus.CANCELLED


def test_an_import_row_with_an_outcome_closes_the_existing_lead(reps):
    first = lead_ingest(data={"email": "imp@x.example", "external_id": "c-1"}, source="crm")
    lead = Lead.objects.get(pk=first.lead.pk)
    Lead.objects.filter(pk=lead.pk).update(owner=reps[0].user)
    _open_task(lead, reps[0].user)
    lead_ingest(data={"email": "imp@x.example", "external_id": "c-1", "outcome": "won", "deal_value": "5000"},
                source="crm")
    lead.refresh_from_db()
    assert (lead.outcome, lead.stage) == (Outcome.WON, Stage.CUSTOMER)
    assert Task.objects.get(lead=lead).status == TaskStatus.CANCELLED


def test_a_new_lead_imported_as_won_is_a_customer():
    result = lead_ingest(data={"email": "old@x.example", "outcome": "won"}, source="crm")
    lead = Lead.objects.get(pk=result.lead.pk)
    assert (lead.outcome, lead.stage) == (Outcome.WON, Stage.CUSTOMER) and lead.closed_at


def test_a_closed_lead_gets_no_follow_up_task(reps):
    lead = make_lead(owner=reps[0].user, outcome=Outcome.LOST)
    decision = RoutingDecision.objects.create(lead=lead, rep=reps[0], owner=reps[0].user, summary="to rita")
    assert task_create_for_decision(decision_id=decision.pk) is None
    assert not Task.objects.filter(lead=lead).exists()


def test_tasks_merged_into_a_closed_lead_are_cancelled(reps):
    survivor = make_lead(owner=reps[0].user, outcome=Outcome.WON, stage=Stage.CUSTOMER)
    merged = make_lead(owner=reps[1].user)
    _open_task(merged, reps[1].user)
    merged.merged_into = survivor
    merged.save()
    lead_tasks_follow_merge(survivor_id=survivor.pk, merged_id=merged.pk)
    task = Task.objects.get(merged_from=merged)
    assert task.lead_id == survivor.pk and task.status == TaskStatus.CANCELLED


def test_a_merged_away_lead_is_not_closed_itself(reps):
    survivor = make_lead()
    merged = make_lead(merged_into=survivor)
    with pytest.raises(ValidationError, match="merged into"):
        lead_transition(lead_id=merged.pk, to=Transition.WON, reason="x")


def test_a_record_withdrawing_consent_suppresses_the_lead_and_cancels_its_tasks(reps):
    """A CRM sync saying opt-out is an unsubscribe: suppressed at once, the open tasks cancelled with the reason,
    whether the record updates the lead (same source id) or is merged into it (same e-mail)."""
    lead = make_lead(owner=reps[0].user, email="optout@x.example", consent="opt_in")
    task = _open_task(lead, reps[0].user)
    result = lead_ingest(data={"email": "optout@x.example", "consent": "opt_out"}, source="crm")
    assert result.action == "merged"
    lead.refresh_from_db()
    task.refresh_from_db()
    assert (lead.consent, lead.stage) == ("opt_out", Stage.SUPPRESSED)
    assert task.status == TaskStatus.CANCELLED

    synced = make_lead(owner=reps[0].user, email="crm@x.example", consent="opt_in")
    SourceRecord.objects.create(lead=synced, source="crm", external_id="c-9")
    task = _open_task(synced, reps[0].user, key="s")
    result = lead_ingest(data={"email": "crm@x.example", "external_id": "c-9", "consent": "opt_out"}, source="crm")
    assert result.action == "updated"
    synced.refresh_from_db()
    task.refresh_from_db()
    assert (synced.consent, synced.stage) == ("opt_out", Stage.SUPPRESSED)
    assert task.status == TaskStatus.CANCELLED and "consent withdrawn" in task.outcome_note


def test_undoing_the_merge_that_withdrew_consent_restores_the_stage(reps):
    from leads.models import MergeLog
    from leads.services import lead_merge_undo

    lead = make_lead(owner=reps[0].user, email="undo@x.example", consent="opt_in")
    lead_ingest(data={"email": "undo@x.example", "consent": "opt_out"}, source="crm")
    lead.refresh_from_db()
    assert lead.stage == Stage.SUPPRESSED
    lead_merge_undo(merge_id=MergeLog.objects.get(survivor=lead).pk)
    lead.refresh_from_db()
    assert (lead.consent, lead.stage) == ("opt_in", Stage.MQL)


def test_consent_set_to_opt_out_by_hand_suppresses_the_lead_and_cancels_its_tasks(reps):
    lead = make_lead(owner=reps[0].user, consent="opt_in")
    task = _open_task(lead, reps[0].user)
    lead.consent = "opt_out"
    lead_update(lead=lead, changed=["consent"], user=reps[0].user, reason="asked by phone")
    lead.refresh_from_db()
    task.refresh_from_db()
    assert lead.stage == Stage.SUPPRESSED
    assert task.status == TaskStatus.CANCELLED and "asked by phone" in task.outcome_note


def test_an_opportunity_withdrawing_consent_keeps_its_stage_and_tasks(reps):
    lead = make_lead(owner=reps[0].user, email="deal@x.example", consent="opt_in", stage=Stage.OPPORTUNITY)
    task = _open_task(lead, reps[0].user)
    assert lead_ingest(data={"email": "deal@x.example", "consent": "opt_out"}, source="crm").action == "merged"
    lead.refresh_from_db()
    task.refresh_from_db()
    assert (lead.consent, lead.stage, task.status) == ("opt_out", Stage.OPPORTUNITY, TaskStatus.OPEN)
