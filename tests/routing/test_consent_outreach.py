"""Consent on every outreach path (``leads/consent.py`` ``outreach_allowed``): an opted-out lead, still open and owned
(so only the consent check stands in the way), gets no follow-up task (one by one or in a batch), no trigger task,
no re-engagement task, no no-answer retry, no stage-SLA alert, no digest line, no task message and no nurture step
(not even one due after consent was withdrawn, nor an enrollment); each skip that
leaves an owned lead without a task says "no outreach: consent" on the lead. Each test runs the same path for a
lead with unknown consent too, so it fails if that path's check is removed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.choices import Consent, Queue, Stage
from leads.models import Lead
from leads.services import events_record
from revops.base.models import AutomationLog, Notification
from routing.choices import Disposition, NurtureStatus, NurtureStopReason, TaskStatus
from routing.models import NurtureEnrollment, NurtureProgram, NurtureStep, RoutingDecision, StageSla, Task
from routing.services import lead_nurture_enroll, lead_reengage, nurture_steps_send, stage_slas_check, task_complete
from routing.services.digest import rep_digest, team_breaches_summary
from routing.services.messages import (
    task_escalation_notify,
    task_moved_notify,
    task_notify,
    tasks_digest_notify,
    trigger_task_notify,
)
from routing.services.sla import tasks_escalate_overdue
from routing.services.tasks import task_create_for_decision, tasks_create_for_decisions
from routing.services.triggers import lead_trigger_task
from tests.routing.factories import make_lead

pytestmark = pytest.mark.django_db
CONSENTS = [(Consent.UNKNOWN, True), (Consent.OPT_OUT, False)]


def _owned(rep, consent, **fields):
    return make_lead(owner=rep.user, consent=consent, first_name="Consuela", **fields)


def _decision(lead, rep):
    return RoutingDecision.objects.create(lead=lead, rep=rep, owner=rep.user, summary="assigned")


def _said_on_the_lead(lead) -> bool:
    return AutomationLog.objects.filter(object_type="lead", object_id=lead.pk, action="no_outreach_consent",
                                        detail__startswith="no outreach: consent").exists()


def _task(lead, rep, **fields):
    fields.setdefault("due_at", timezone.now() + timedelta(hours=1))
    return Task.objects.create(lead=lead, assignee=rep.user, title="Call Consuela", dedup_key=f"t:{lead.pk}",
                               **fields)


@pytest.mark.parametrize(("consent", "allowed"), CONSENTS)
def test_a_follow_up_task_only_for_a_lead_outreach_may_go_to(consent, allowed, reps):
    lead = _owned(reps[0], consent)
    task = task_create_for_decision(decision_id=_decision(lead, reps[0]).pk)
    assert (task is not None) is allowed
    assert Notification.objects.filter(object_type="task").exists() is allowed
    assert _said_on_the_lead(lead) is not allowed
    lead.refresh_from_db()
    assert lead.owner_id == reps[0].user_id  # routing still assigned it


def test_a_batch_of_follow_ups_skips_the_opted_out_lead_and_says_so(reps):
    allowed = _owned(reps[0], Consent.UNKNOWN)
    opted_out = _owned(reps[0], Consent.OPT_OUT)
    created = tasks_create_for_decisions(decision_ids=[_decision(allowed, reps[0]).pk,
                                                       _decision(opted_out, reps[0]).pk])
    assert [t.lead_id for t in created] == [allowed.pk]
    assert _said_on_the_lead(opted_out) and not _said_on_the_lead(allowed)


@pytest.mark.parametrize(("consent", "allowed"), CONSENTS)
def test_a_trigger_task_only_for_a_lead_outreach_may_go_to(consent, allowed, reps):
    lead = _owned(reps[0], consent)
    assert (lead_trigger_task(lead_id=lead.pk, kind="hot", trigger_id=lead.pk) is not None) is allowed
    assert _said_on_the_lead(lead) is not allowed


@pytest.mark.parametrize(("consent", "allowed"), CONSENTS)
def test_a_re_engagement_task_only_for_a_lead_outreach_may_go_to(consent, allowed, reps):
    lead = _owned(reps[0], consent, stage=Stage.NURTURE)
    _, events = events_record(lead_id=lead.pk, items=[{"type": "page_view", "source": "web"}])
    assert (lead_reengage(lead_id=lead.pk, event_ids=[e.pk for e in events]) is not None) is allowed
    assert _said_on_the_lead(lead) is not allowed


@pytest.mark.parametrize(("consent", "allowed"), CONSENTS)
def test_a_no_answer_retry_only_for_a_lead_outreach_may_go_to(consent, allowed, reps):
    lead = _owned(reps[0], consent)
    result = task_complete(task_id=_task(lead, reps[0]).pk, actor=reps[0].user, disposition=Disposition.NO_ANSWER)
    assert (result.retry is not None) is allowed
    assert _said_on_the_lead(lead) is not allowed


@pytest.mark.parametrize(("consent", "allowed"), CONSENTS)
def test_a_stage_sla_alert_only_for_a_lead_outreach_may_go_to(consent, allowed, reps):
    StageSla.objects.create(stage=Stage.MQL, days=7)
    lead = _owned(reps[0], consent, stage=Stage.MQL, last_interaction_at=timezone.now() - timedelta(days=16))
    stage_slas_check()
    assert Notification.objects.filter(object_type="lead", object_id=lead.pk).exists() is allowed
    details = list(AutomationLog.objects.filter(object_id=lead.pk).values_list("detail", flat=True))
    assert any("no outreach: consent" in d for d in details) is not allowed


@pytest.mark.parametrize(("consent", "allowed"), CONSENTS)
def test_the_rep_digest_and_the_breaches_summary_list_only_leads_outreach_may_go_to(consent, allowed, reps,
                                                                                     sales_manager):
    lead = _owned(reps[0], consent)
    _task(lead, reps[0], due_at=timezone.now() - timedelta(hours=2))
    now = timezone.now()
    assert (rep_digest(reps[0], now=now) is not None) is allowed
    assert (team_breaches_summary(reps[0].team, now=now, zone=timezone.get_current_timezone()) is not None) is allowed


@pytest.mark.parametrize(("consent", "allowed"), CONSENTS)
def test_task_messages_only_for_a_lead_outreach_may_go_to(consent, allowed, reps):
    lead = _owned(reps[0], consent)
    task = _task(lead, reps[0])
    assert (task_notify(task, lead, reps[0]) is not None) is allowed
    task_moved_notify(task, lead, _decision(lead, reps[0]), recipient="U1")
    trigger_task_notify(task, lead, title="Hot lead")
    keys = set(Notification.objects.values_list("dedup_key", flat=True))
    assert any(":moved:" in k for k in keys) is allowed
    assert (f"task:{task.pk}:assigned" in keys) is allowed


@pytest.mark.parametrize(("consent", "allowed"), CONSENTS)
def test_a_batch_digest_message_lists_only_leads_outreach_may_go_to(consent, allowed, reps):
    leads = [_owned(reps[0], consent), _owned(reps[0], consent)]
    tasks = [Task.objects.create(lead=lead, assignee=reps[0].user, title="x", dedup_key=f"b:{lead.pk}",
                                 due_at=timezone.now()) for lead in leads]
    rows = {lead.pk: {"first_name": "C", "last_name": "", "email": lead.email, "company": "", "score": 1,
                      "band": "B", "consent": consent, "stage": Stage.MQL} for lead in leads}
    assert (tasks_digest_notify(tasks, reps[0], rows) is not None) is allowed


@pytest.mark.parametrize(("consent", "allowed"), CONSENTS)
def test_an_overdue_task_is_escalated_only_for_a_lead_outreach_may_go_to(consent, allowed, reps):
    lead = _owned(reps[0], consent)
    task = _task(lead, reps[0], due_at=timezone.now() - timedelta(days=2))
    tasks_escalate_overdue()
    assert Notification.objects.filter(dedup_key=f"task:{task.pk}:escalated").exists() is allowed
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    task_escalation_notify(Task.objects.select_related("lead", "assignee").get(pk=task.pk), now=timezone.now())
    assert Notification.objects.filter(dedup_key=f"task:{task.pk}:escalated").exists() is allowed


def _nurture_program() -> NurtureProgram:
    program = NurtureProgram.objects.create(name="Not ready yet")
    NurtureStep.objects.create(program=program, position=1, delay_days=0, email_subject="Hi {first_name}",
                               email_body="A guide for {company}.")
    return program


@pytest.mark.parametrize(("consent", "allowed"), CONSENTS)
def test_a_nurture_step_only_for_a_lead_outreach_may_go_to_even_when_consent_is_withdrawn_after_enrollment(
        consent, allowed, db):
    _nurture_program()
    lead = make_lead(stage=Stage.NEW, queue=Queue.NURTURE, first_name="Consuela")
    enrollment = lead_nurture_enroll(lead_id=lead.pk)
    assert enrollment is not None
    # Withdrawn by a write that sends no signal (a bulk update, another system's sync): the sender's own check holds.
    Lead.objects.filter(pk=lead.pk).update(consent=consent)

    result = nurture_steps_send()

    assert (result.sent == 1) is allowed
    assert Notification.objects.filter(dedup_key__startswith=f"nurture:{enrollment.pk}:").exists() is allowed
    enrollment.refresh_from_db()
    assert (enrollment.status == NurtureStatus.STOPPED) is not allowed
    assert (enrollment.stop_reason == NurtureStopReason.CONSENT) is not allowed


@pytest.mark.parametrize(("consent", "allowed"), CONSENTS)
def test_a_lead_outreach_may_not_go_to_is_not_enrolled_and_its_log_says_so(consent, allowed, db):
    _nurture_program()
    lead = make_lead(stage=Stage.NEW, queue=Queue.NURTURE, consent=consent)
    assert (lead_nurture_enroll(lead_id=lead.pk) is not None) is allowed
    assert NurtureEnrollment.objects.filter(lead=lead).exists() is allowed
    assert _said_on_the_lead(lead) is not allowed
