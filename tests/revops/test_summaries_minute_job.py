"""One minute job keeps every dashboard summary (revops/top/dashboard_facts.py ``lead_facts_refresh_job``): the
funnel summary and the first assignments first, then the lead facts; behind the "Dashboard summaries" kill switch;
an idle minute writes no log line."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Lead
from leads.stage_models import StageReach
from revops.base.choices import AutomationOutcome, Workflow
from revops.base.models import AutomationLog
from revops.base.switches import workflow_switch_set
from revops.top.dashboard_facts import lead_facts_refresh_job
from revops.top.models import LeadFacts
from routing.models import FirstAssignment, RoutingDecision

pytestmark = pytest.mark.django_db


def an_hour_old(lead: Lead, owner) -> None:
    """The lead's history and its decision an hour old: settled, so one refresh reads them for good."""
    RoutingDecision.objects.create(lead=lead, owner=owner, summary="t", explanation={})
    hour_ago = timezone.now() - timedelta(hours=1)
    Lead.history.filter(id=lead.pk).update(history_date=hour_ago)
    RoutingDecision.objects.filter(lead=lead).update(created_at=hour_ago)


def test_the_minute_job_keeps_every_summary_and_obeys_its_kill_switch(reps):
    lead = Lead.objects.create(email="k@x.example", stage="engaged")
    an_hour_old(lead, reps[0].user)
    workflow_switch_set(workflow=Workflow.STAGE_SUMMARY, enabled=False, note="testing")
    assert lead_facts_refresh_job() == "skipped"
    assert not StageReach.objects.exists() and not FirstAssignment.objects.exists() and not LeadFacts.objects.exists()

    workflow_switch_set(workflow=Workflow.STAGE_SUMMARY, enabled=True)
    assert lead_facts_refresh_job().startswith("1 leads' facts rebuilt")
    assert StageReach.objects.get(lead=lead).engaged_at is not None
    assert FirstAssignment.objects.get(lead=lead).at == RoutingDecision.objects.get(lead=lead).created_at
    assert LeadFacts.objects.get(id=lead.pk).first_assigned_at == FirstAssignment.objects.get(lead=lead).at
    assert AutomationLog.objects.filter(workflow=Workflow.STAGE_SUMMARY, outcome=AutomationOutcome.DONE).exists()


def test_an_idle_minute_writes_no_log_line(reps):
    an_hour_old(Lead.objects.create(email="idle@x.example"), reps[0].user)
    assert lead_facts_refresh_job().startswith("1 leads' facts rebuilt")
    logged = AutomationLog.objects.filter(action="lead_facts_refresh").count()
    assert logged == 1
    assert lead_facts_refresh_job().startswith("0 leads' facts rebuilt")
    assert AutomationLog.objects.filter(action="lead_facts_refresh").count() == logged
