"""The first-assignment summary (routing/services/first_assignment.py): the first decision that gave a lead an owner,
kept from the decisions; a later reassignment or a queue decision does not move it; the minute job obeys its switch."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Lead
from revops.base.choices import Workflow
from revops.base.switches import workflow_switch_set
from routing.jobs import first_assignments_refresh_job
from routing.models import FirstAssignment, RoutingDecision
from routing.services import first_assignments_rebuild, first_assignments_refresh

pytestmark = pytest.mark.django_db


def decide(lead, owner, minutes_ago):
    made = RoutingDecision.objects.create(lead=lead, owner=owner, summary="t", explanation={},
                                          queue="" if owner else "review")
    RoutingDecision.objects.filter(pk=made.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))


def test_the_first_decision_with_an_owner_is_kept_and_later_ones_do_not_move_it(reps):
    rita, ravi = reps[0].user, reps[1].user
    queued_then_assigned, never = Lead.objects.create(email="a@x.example"), Lead.objects.create(email="b@x.example")
    decide(queued_then_assigned, None, 90)
    decide(queued_then_assigned, ravi, 60)
    decide(never, None, 30)
    assert first_assignments_refresh().keys == 1
    first = FirstAssignment.objects.get(lead=queued_then_assigned).at
    assert abs((timezone.now() - first) - timedelta(minutes=60)) < timedelta(seconds=5)
    decide(queued_then_assigned, rita, 10)  # a reassignment: the clock stays at the first owner
    first_assignments_refresh()
    assert FirstAssignment.objects.get(lead=queued_then_assigned).at == first
    assert not FirstAssignment.objects.filter(lead=never).exists()
    FirstAssignment.objects.all().delete()
    assert first_assignments_rebuild().keys == 1 and FirstAssignment.objects.get(lead=queued_then_assigned).at == first


def test_the_minute_job_obeys_the_dashboard_summaries_switch(reps):
    lead = Lead.objects.create(email="c@x.example")
    decide(lead, reps[0].user, 5)
    workflow_switch_set(workflow=Workflow.STAGE_SUMMARY, enabled=False, note="testing")
    assert first_assignments_refresh_job() == "skipped" and not FirstAssignment.objects.exists()
    workflow_switch_set(workflow=Workflow.STAGE_SUMMARY, enabled=True)
    assert first_assignments_refresh_job().startswith("1 leads summarised")


def test_an_idle_minute_writes_no_log_line(reps):
    """Nothing new: the job returns (and counts for workflow health) without an automation-log line every minute."""
    from revops.base.models import AutomationLog

    lead = Lead.objects.create(email="idle@x.example")
    decide(lead, reps[0].user, 5)  # five minutes old: settled by the first run
    assert first_assignments_refresh_job().startswith("1 leads summarised")
    logged = AutomationLog.objects.filter(action="first_assignments_refresh").count()
    assert logged == 1
    assert first_assignments_refresh_job().startswith("0 leads summarised")
    assert AutomationLog.objects.filter(action="first_assignments_refresh").count() == logged
