"""Nurture programs: a lead routing puts in the nurture queue is enrolled in the first matching program (or stays in
the queue, said in its log), each due step is e-mailed once through the outbox, the enrollment advances and
completes, the job does nothing with its kill switch off, and every exit (owner, re-engaged, closed, merged,
suppressed) stops the enrollment with its reason in the history. Consent withdrawn after enrollment:
tests/routing/test_consent_outreach.py."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from leads.choices import Queue, Stage, Transition
from leads.models import Lead
from leads.services import events_record, lead_merge, lead_transition
from revops.base.choices import AutomationOutcome, Channel, Workflow
from revops.base.models import AutomationLog, Notification
from revops.base.switches import workflow_switch_set
from routing.choices import NurtureStatus, NurtureStopReason, RuleAction
from routing.jobs import nurture_steps_send_job
from routing.models import NurtureEnrollment, NurtureProgram, NurtureStep, RoutingRule
from routing.services import (
    lead_nurture_enroll,
    lead_reengage,
    lead_route,
    leads_reassign,
    leads_route_many,
    nurture_steps_send,
)
from tests.routing.factories import make_lead

pytestmark = pytest.mark.django_db


def make_program(name: str = "Not ready yet", *, order: int = 100, delays=(0, 3, 7), **conditions) -> NurtureProgram:
    program = NurtureProgram.objects.create(name=name, order=order, **conditions)
    for position, delay in enumerate(delays, start=1):
        NurtureStep.objects.create(program=program, position=position, delay_days=delay,
                                   email_subject=f"Step {position} for {{first_name}} at {{company}}",
                                   email_body=f"Hi {{first_name}},\nstep {position} <b>not bold</b>.")
    return program


@pytest.fixture
def nurture_rule(db) -> RoutingRule:
    return RoutingRule.objects.create(name="Below MQL to nurture", order=90, stages="new, engaged",
                                      action=RuleAction.QUEUE, queue=Queue.NURTURE)


def nurture_lead(**fields) -> Lead:
    fields = {"stage": Stage.NEW, "band": "D", "first_name": "Nell", "company": "Acme", **fields}
    return make_lead(**fields)


def routed(lead: Lead, capture) -> Lead:
    """Route the lead with its after-commit jobs run (the enrollment job among them)."""
    with capture(execute=True):
        lead_route(lead_id=lead.pk)
    lead.refresh_from_db()
    return lead


def enrolled(lead: Lead) -> NurtureEnrollment:
    """A lead enrolled as routing does it: in the nurture queue, then the enrollment service."""
    Lead.objects.filter(pk=lead.pk).update(queue=Queue.NURTURE, owner=None)
    enrollment = lead_nurture_enroll(lead_id=lead.pk)
    assert enrollment is not None
    return enrollment


# --- enrollment ----------------------------------------------------------------------------------------------------


def test_a_lead_routed_to_the_nurture_queue_is_enrolled_in_the_first_matching_program(
        nurture_rule, inline_jobs, django_capture_on_commit_callbacks):
    make_program("Webinar only", order=10, sources="webinar")
    chosen = make_program("Not ready yet", order=20, bands="C, D")
    make_program("Later catch-all", order=30)
    lead = routed(nurture_lead(source="paid_search"), django_capture_on_commit_callbacks)

    assert lead.queue == Queue.NURTURE and lead.owner_id is None
    enrollment = NurtureEnrollment.objects.get(lead=lead)
    assert enrollment.program == chosen and enrollment.status == NurtureStatus.ACTIVE
    assert enrollment.next_position == 1 and enrollment.next_at <= timezone.now()
    assert "enrolled in 'Not ready yet'" in enrollment.history.first().history_change_reason
    assert AutomationLog.objects.filter(workflow=Workflow.NURTURE, object_id=lead.pk, action="nurture_enroll",
                                        outcome=AutomationOutcome.DONE).exists()


def test_a_bulk_import_s_nurture_leads_are_enrolled_too(nurture_rule, inline_jobs, django_capture_on_commit_callbacks):
    make_program()
    leads = [nurture_lead() for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        leads_route_many(lead_ids=[lead.pk for lead in leads])
    assert NurtureEnrollment.objects.filter(status=NurtureStatus.ACTIVE).count() == 3


def test_a_lead_no_program_matches_stays_in_the_queue_and_its_log_says_so(
        nurture_rule, inline_jobs, django_capture_on_commit_callbacks):
    make_program("Webinar only", sources="webinar")
    make_program("Inactive", active=False)
    lead = routed(nurture_lead(source="paid_search"), django_capture_on_commit_callbacks)

    assert lead.queue == Queue.NURTURE and not NurtureEnrollment.objects.exists()
    line = AutomationLog.objects.get(workflow=Workflow.NURTURE, object_id=lead.pk, action="nurture_enroll")
    assert line.outcome == AutomationOutcome.NOOP and "no active nurture program matches" in line.detail


def test_a_lead_is_not_enrolled_twice_nor_in_a_program_it_went_through(db):
    program = make_program()
    lead = nurture_lead()
    first = enrolled(lead)
    assert enrolled(lead) == first  # the active one is kept
    NurtureEnrollment.objects.filter(pk=first.pk).update(status=NurtureStatus.COMPLETED)
    assert lead_nurture_enroll(lead_id=lead.pk) is None  # back in nurture: not the same e-mails again
    second = make_program("Second round", order=200)
    again = lead_nurture_enroll(lead_id=lead.pk)
    assert again is not None and again.program == second and program.enrollments.count() == 1


# --- sending -------------------------------------------------------------------------------------------------------


def test_a_due_step_is_e_mailed_once_and_the_enrollment_moves_on(db):
    make_program(delays=(0, 3, 7))
    lead = nurture_lead()
    enrollment = enrolled(lead)
    now = timezone.now()

    first = nurture_steps_send(now=now)
    second = nurture_steps_send(now=now)  # the job run twice

    assert (first.sent, second.sent) == (1, 0)
    mail = Notification.objects.get()
    assert mail.channel == Channel.EMAIL and mail.recipient == lead.email
    assert mail.subject == "Step 1 for Nell at Acme" and mail.text.startswith("Hi Nell,")
    assert "&lt;b&gt;not bold&lt;/b&gt;" in mail.html and "<br>" in mail.html  # the lead's text is escaped
    assert mail.dedup_key == f"nurture:{enrollment.pk}:step:{enrollment.program.steps.get(position=1).pk}"
    enrollment.refresh_from_db()
    assert enrollment.next_position == 2 and enrollment.steps_sent == 1
    assert enrollment.next_at == now + timedelta(days=3)


def test_the_same_step_due_again_is_not_sent_again(db):
    make_program(delays=(0, 3))
    enrollment = enrolled(nurture_lead())
    nurture_steps_send()
    NurtureEnrollment.objects.filter(pk=enrollment.pk).update(next_position=1, next_at=timezone.now())  # a replay

    assert nurture_steps_send().sent == 0
    assert Notification.objects.count() == 1


def test_after_the_last_step_the_enrollment_completes(db):
    make_program(delays=(0, 3, 7))
    lead = nurture_lead()
    enrollment = enrolled(lead)
    now = timezone.now()
    for days in (0, 3, 10):
        nurture_steps_send(now=now + timedelta(days=days))

    enrollment.refresh_from_db()
    assert enrollment.status == NurtureStatus.COMPLETED and enrollment.steps_sent == 3
    assert enrollment.next_at is None and enrollment.finished_at is not None
    assert sorted(Notification.objects.values_list("subject", flat=True)) == [
        "Step 1 for Nell at Acme", "Step 2 for Nell at Acme", "Step 3 for Nell at Acme"]
    assert nurture_steps_send(now=now + timedelta(days=30)).sent == 0


def test_a_step_not_yet_due_waits(db):
    make_program(delays=(2,))
    enrolled(nurture_lead())
    assert nurture_steps_send().sent == 0
    assert nurture_steps_send(now=timezone.now() + timedelta(days=2, minutes=1)).sent == 1


def test_the_job_sends_nothing_with_its_kill_switch_off_and_logs_the_skip(revops_admin):
    make_program()
    enrollment = enrolled(nurture_lead())
    workflow_switch_set(workflow=Workflow.NURTURE, enabled=False, user=revops_admin, note="test")

    assert nurture_steps_send_job() == "skipped"
    assert not Notification.objects.exists()
    enrollment.refresh_from_db()
    assert enrollment.next_position == 1 and enrollment.status == NurtureStatus.ACTIVE
    assert AutomationLog.objects.filter(workflow=Workflow.NURTURE, action="nurture_steps_send",
                                        outcome=AutomationOutcome.SKIPPED).exists()
    workflow_switch_set(workflow=Workflow.NURTURE, enabled=True, user=revops_admin, note="test")
    assert nurture_steps_send_job().startswith("1 steps sent")
    assert Notification.objects.count() == 1


def test_leads_that_landed_while_the_switch_was_off_are_enrolled_when_it_comes_back(
        nurture_rule, revops_admin, inline_jobs, django_capture_on_commit_callbacks):
    make_program()
    workflow_switch_set(workflow=Workflow.NURTURE, enabled=False, user=revops_admin, note="test")
    lead = routed(nurture_lead(), django_capture_on_commit_callbacks)
    assert not NurtureEnrollment.objects.exists()
    assert AutomationLog.objects.filter(workflow=Workflow.NURTURE, object_id=lead.pk,
                                        outcome=AutomationOutcome.SKIPPED).exists()

    with django_capture_on_commit_callbacks(execute=True):
        workflow_switch_set(workflow=Workflow.NURTURE, enabled=True, user=revops_admin, note="test")
    assert NurtureEnrollment.objects.filter(lead=lead, status=NurtureStatus.ACTIVE).exists()


# --- exits ---------------------------------------------------------------------------------------------------------


def _stopped(enrollment: NurtureEnrollment, reason: str) -> NurtureEnrollment:
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.stop_reason) == (NurtureStatus.STOPPED, reason)
    assert enrollment.next_at is None
    assert NurtureStopReason(reason).label in enrollment.history.first().history_change_reason
    assert nurture_steps_send(now=timezone.now() + timedelta(days=60)).sent == 0
    return enrollment


def test_it_stops_when_routing_gives_the_lead_an_owner(reps, revops_admin, django_capture_on_commit_callbacks):
    make_program()
    lead = nurture_lead(country="US")
    enrollment = enrolled(lead)
    with django_capture_on_commit_callbacks(execute=True):
        leads_reassign(lead_ids=[lead.pk], rep_id=reps[0].pk, reason="knows them", user=revops_admin)
    _stopped(enrollment, NurtureStopReason.OWNER)


def test_it_stops_when_routing_moves_the_lead_to_another_queue(db):
    make_program()
    lead = nurture_lead()
    enrollment = enrolled(lead)
    RoutingRule.objects.create(name="All to review", order=1, action=RuleAction.QUEUE, queue=Queue.REVIEW)
    lead_route(lead_id=lead.pk, force=True)
    _stopped(enrollment, NurtureStopReason.LEFT_QUEUE)


def test_it_stops_when_the_lead_re_engages(db):
    make_program()
    lead = nurture_lead(stage=Stage.NURTURE)
    enrollment = enrolled(lead)
    _, events = events_record(lead_id=lead.pk, items=[{"type": "email_click", "source": "web"}])
    lead_reengage(lead_id=lead.pk, event_ids=[e.pk for e in events])
    stopped = _stopped(enrollment, NurtureStopReason.REENGAGED)
    assert "new activity while in nurture" in stopped.stop_detail


@pytest.mark.parametrize("transition", [Transition.WON, Transition.LOST, Transition.DISQUALIFIED])
def test_it_stops_when_the_lead_is_closed(transition, db):
    make_program()
    lead = nurture_lead()
    enrollment = enrolled(lead)
    lead_transition(lead_id=lead.pk, to=transition, reason="test")
    assert transition in _stopped(enrollment, NurtureStopReason.CLOSED).stop_detail


def test_it_stops_when_the_lead_is_suppressed(db):
    make_program()
    lead = nurture_lead()
    enrollment = enrolled(lead)
    lead_transition(lead_id=lead.pk, to=Transition.SUPPRESSED, reason="asked us to")
    _stopped(enrollment, NurtureStopReason.CONSENT)


def test_it_stops_when_the_lead_is_merged_away(db):
    make_program()
    survivor, lead = nurture_lead(), nurture_lead()
    enrollment = enrolled(lead)
    lead_merge(survivor_id=survivor.pk, merged_id=lead.pk, rule="manual")
    assert str(survivor.pk) in _stopped(enrollment, NurtureStopReason.MERGED).stop_detail


def test_an_owner_set_outside_routing_stops_it_at_the_next_step(reps):
    make_program()
    lead = nurture_lead()
    enrollment = enrolled(lead)
    Lead.objects.filter(pk=lead.pk).update(owner=reps[0].user)  # an edit that sends no signal
    result = nurture_steps_send()
    assert (result.sent, result.stopped) == (0, 1)
    _stopped(enrollment, NurtureStopReason.OWNER)


def test_a_deactivated_program_stops_its_enrollments_at_their_next_step(db):
    program = make_program()
    enrollment = enrolled(nurture_lead())
    NurtureProgram.objects.filter(pk=program.pk).update(active=False)
    assert nurture_steps_send().stopped == 1
    _stopped(enrollment, NurtureStopReason.PROGRAM_OFF)


# --- validation ----------------------------------------------------------------------------------------------------


def test_a_program_s_conditions_use_the_routing_vocabulary(db):
    program = NurtureProgram(name="Typo", bands="Z", stages="sqll", countries="USA")
    with pytest.raises(ValidationError) as caught:
        program.full_clean()
    errors = caught.value.message_dict
    assert "unknown bands: Z" in errors["bands"][0] and "unknown stages: sqll" in errors["stages"][0]
    assert "USA" in errors["countries"][0]


def test_a_step_s_unknown_placeholder_is_refused_under_its_field(db):
    program = make_program(delays=())
    step = NurtureStep(program=program, position=1, delay_days=0, email_subject="Hi {first_name}",
                       email_body="About {compnay}")
    with pytest.raises(ValidationError) as caught:
        step.full_clean()
    assert "unknown placeholders: compnay" in caught.value.message_dict["email_body"][0]
