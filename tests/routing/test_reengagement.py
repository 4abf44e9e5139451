"""Re-engagement: new activity on a quiet (or nurture) lead moves it to "re-engaged" with the reason in its history,
alerts its rep on the rep's own channels or routes it when it has no owner, once per re-engagement, behind its kill
switch."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.choices import Queue, Stage
from leads.models import Lead
from leads.services import events_record
from revops.base.choices import Channel, Workflow
from revops.base.models import AutomationLog, Notification, PendingJob
from revops.base.switches import workflow_switch_set
from routing.choices import TaskKind
from routing.jobs import lead_reengage_job
from routing.models import RoutingDecision, Task
from routing.services import lead_reengage
from tests.routing.factories import make_lead

pytestmark = pytest.mark.django_db
QUIET = timedelta(days=45)


def quiet_lead(**fields) -> Lead:
    """A lead created, assigned and last in touch 45 days ago."""
    lead = make_lead(**fields)
    then = timezone.now() - QUIET
    Lead.objects.filter(pk=lead.pk).update(created_at=then, assigned_at=then if lead.owner_id else None,
                                           last_interaction_at=then)
    return Lead.objects.get(pk=lead.pk)


def new_events(lead: Lead, *types: str, source: str = "web") -> list[int]:
    _, created = events_record(lead_id=lead.pk, items=[{"type": t, "source": source} for t in types])
    return [e.pk for e in created]


def test_activity_on_a_quiet_lead_moves_it_to_re_engaged_and_gives_its_rep_a_task(reps):
    lead = quiet_lead(owner=reps[0].user, stage=Stage.ENGAGED)

    result = lead_reengage(lead_id=lead.pk, event_ids=new_events(lead, "page_view", "email_click"))

    lead.refresh_from_db()
    assert lead.stage == Stage.RE_ENGAGED and result.old_stage == Stage.ENGAGED
    reason = lead.history.first().history_change_reason
    assert "re_engagement new activity after 45 quiet days (email_click, page_view)" in reason
    assert "Engaged → re-engaged" in reason
    task = result.task
    assert task.kind == TaskKind.RE_ENGAGE and task.assignee_id == reps[0].user_id
    assert task.due_at <= timezone.now() + timedelta(hours=4, seconds=5)
    message = Notification.objects.get(object_type="task", object_id=task.pk)
    assert message.recipient == reps[0].slack_user_id and "is active again" in message.text
    assert AutomationLog.objects.filter(workflow=Workflow.RE_ENGAGEMENT, object_id=lead.pk).count() == 1


def test_the_alert_goes_by_e_mail_to_a_rep_who_chose_e_mail(reps):
    reps[1].notify_via = "email"
    reps[1].save()
    lead = quiet_lead(owner=reps[1].user, stage=Stage.MQL)

    result = lead_reengage(lead_id=lead.pk, event_ids=new_events(lead, "page_view"))

    message = Notification.objects.get(object_type="task", object_id=result.task.pk)
    assert message.channel == Channel.EMAIL and message.recipient == reps[1].user.email
    assert message.subject.startswith("Re-engaged:")


def test_it_happens_once_per_re_engagement(reps):
    lead = quiet_lead(owner=reps[0].user, stage=Stage.ENGAGED)
    assert lead_reengage(lead_id=lead.pk, event_ids=new_events(lead, "page_view")) is not None

    assert lead_reengage(lead_id=lead.pk, event_ids=new_events(lead, "page_view")) is None  # not quiet any more

    assert Task.objects.filter(lead=lead, kind=TaskKind.RE_ENGAGE).count() == 1
    assert Notification.objects.filter(object_type="task").count() == 1


def test_a_retried_job_changes_nothing_the_second_time(reps):
    lead = quiet_lead(owner=reps[0].user, stage=Stage.ENGAGED)
    ids = new_events(lead, "page_view")
    lead_reengage(lead_id=lead.pk, event_ids=ids)
    history = lead.history.count()

    assert lead_reengage(lead_id=lead.pk, event_ids=ids) is None  # its re-engage task is activity since
    assert lead.history.count() == history and Task.objects.filter(lead=lead).count() == 1
    assert Notification.objects.count() == 1


def test_a_nurture_lead_re_engages_without_a_quiet_spell(reps):
    lead = make_lead(owner=reps[0].user, stage=Stage.NURTURE, assigned_at=timezone.now())

    result = lead_reengage(lead_id=lead.pk, event_ids=new_events(lead, "email_click"))

    lead.refresh_from_db()
    assert lead.stage == Stage.RE_ENGAGED and result.task is not None
    assert "new activity while in nurture" in lead.history.first().history_change_reason


def test_recent_activity_or_a_rep_logged_call_does_not_re_engage(reps):
    busy = make_lead(owner=reps[0].user, stage=Stage.ENGAGED, assigned_at=timezone.now())
    assert lead_reengage(lead_id=busy.pk, event_ids=new_events(busy, "page_view")) is None
    quiet = quiet_lead(owner=reps[0].user, stage=Stage.ENGAGED)
    assert lead_reengage(lead_id=quiet.pk, event_ids=new_events(quiet, "call_logged", source="rep")) is None
    quiet.refresh_from_db()
    assert quiet.stage == Stage.ENGAGED and not Task.objects.exists()


def test_a_lead_sales_works_keeps_its_stage_but_its_rep_hears(reps):
    lead = quiet_lead(owner=reps[0].user, stage=Stage.SQL)

    result = lead_reengage(lead_id=lead.pk, event_ids=new_events(lead, "page_view"))

    lead.refresh_from_db()
    assert lead.stage == Stage.SQL and result.old_stage == "" and result.task is not None


def test_a_closed_or_opted_out_lead_is_left_alone(reps):
    lead = quiet_lead(owner=reps[0].user, stage=Stage.DISQUALIFIED)
    assert lead_reengage(lead_id=lead.pk, event_ids=new_events(lead, "page_view")) is None
    opted_out = quiet_lead(owner=reps[0].user, stage=Stage.OPPORTUNITY, consent="opt_out")
    assert lead_reengage(lead_id=opted_out.pk, event_ids=new_events(opted_out, "page_view")) is None
    assert not Task.objects.exists()


def test_a_lead_with_no_owner_is_routed_with_the_reason_recorded(configured, reps):
    lead = quiet_lead(stage=Stage.NURTURE, queue=Queue.NURTURE, owner=None)

    result = lead_reengage(lead_id=lead.pk, event_ids=new_events(lead, "page_view"))

    lead.refresh_from_db()
    assert result.routed == "assigned" and lead.owner_id in {r.user_id for r in reps}
    decision = RoutingDecision.objects.get(lead=lead)
    assert decision.cause.startswith("re-engaged: new activity after 45 quiet days")
    assert lead.stage == Stage.RE_ENGAGED


def test_the_job_does_nothing_with_its_kill_switch_off(reps, revops_admin):
    lead = quiet_lead(owner=reps[0].user, stage=Stage.ENGAGED)
    ids = new_events(lead, "page_view")
    workflow_switch_set(workflow=Workflow.RE_ENGAGEMENT, enabled=False, user=revops_admin, note="test")

    assert lead_reengage_job(lead.pk, ids) == "skipped"
    lead.refresh_from_db()
    assert lead.stage == Stage.ENGAGED and not Task.objects.exists()

    workflow_switch_set(workflow=Workflow.RE_ENGAGEMENT, enabled=True, user=revops_admin, note="test")
    assert "re-engaged from engaged" in lead_reengage_job(lead.pk, ids)


def test_an_event_through_the_pipeline_re_engages_a_quiet_lead(configured, reps, inline_jobs,
                                                                 django_capture_on_commit_callbacks):
    lead = quiet_lead(owner=reps[0].user, stage=Stage.ENGAGED, score=None, band="")

    with django_capture_on_commit_callbacks(execute=True):
        new_events(lead, "page_view")

    lead.refresh_from_db()
    assert lead.stage == Stage.RE_ENGAGED  # the rescore that followed kept it there
    assert Task.objects.filter(lead=lead, kind=TaskKind.RE_ENGAGE).count() == 1


def test_an_event_on_a_recently_active_lead_skips_the_re_engagement_lookup(reps, monkeypatch):
    """The events service passes the lead's last known activity: a lead active within the quiet period is not
    looked up again on the event's request; a quiet one still is, and is re-engaged."""
    from routing import jobs

    lookups = []
    real = jobs.lead_reengage_candidate
    monkeypatch.setattr(jobs, "lead_reengage_candidate", lambda **kw: lookups.append(kw) or real(**kw))
    fresh = make_lead(owner=reps[0].user)
    events_record(lead_id=fresh.pk, items=[{"type": "page_view"}])
    assert lookups == []
    quiet = quiet_lead(owner=reps[0].user, stage=Stage.ENGAGED)
    events_record(lead_id=quiet.pk, items=[{"type": "page_view"}])
    assert len(lookups) == 1
    assert PendingJob.objects.filter(function="routing.jobs.lead_reengage_job", args__0=quiet.pk).exists()
