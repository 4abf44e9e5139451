"""One minute job keeps every dashboard summary (revops/top/dashboard_facts.py ``lead_facts_refresh_job``): the
funnel summary and the first assignments first, then the lead facts; behind the "Dashboard summaries" kill switch;
an idle minute writes no log line."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import Lead
from leads.stage_models import StageReach
from revops.base.choices import AutomationOutcome, Workflow
from revops.base.db.summary import summary_refresh
from revops.base.models import AutomationLog, SummaryMark
from revops.base.switches import workflow_switch_set
from revops.top import dashboard_facts
from revops.top.dashboard_facts import lead_facts_refresh, lead_facts_refresh_job
from revops.top.models import DurationDay, LeadDay, LeadFacts, TaskDay
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


def _day_rows(day) -> tuple[int, int, int]:
    return (sum(LeadDay.objects.filter(day=day).values_list("n", flat=True)),
            DurationDay.objects.filter(day=day).count(), TaskDay.objects.filter(day=day).count())


def test_the_days_roll_ups_are_rebuilt_after_the_facts_transaction_and_the_waiting_days_forgotten(reps):
    for n in range(3):
        an_hour_old(Lead.objects.create(email=f"d{n}@x.example"), reps[0].user)
    with CaptureQueriesContext(connection) as queries:
        lead_facts_refresh()
    today = timezone.localdate()
    assert _day_rows(today)[0] == 3 and _day_rows(today)[1] > 0  # three leads, their assignment durations
    assert not SummaryMark.objects.filter(name__startswith=dashboard_facts.PENDING_DAY).exists()
    # The roll-up's rows were selected outside the write transactions and written with plain VALUES.
    leadday = connection.ops.quote_name(LeadDay._meta.db_table)
    inserts = [q["sql"] for q in queries.captured_queries if f"INSERT INTO {leadday}" in q["sql"]]
    assert inserts and all("VALUES" in sql and "SELECT" not in sql for sql in inserts)


def test_a_day_written_again_while_its_roll_up_was_read_is_rebuilt_from_the_facts_as_they_now_are(reps):
    an_hour_old(Lead.objects.create(email="r1@x.example"), reps[0].user)
    lead_facts_refresh()
    today = timezone.localdate()
    assert _day_rows(today)[0] == 1
    an_hour_old(Lead.objects.create(email="r2@x.example"), reps[0].user)
    with transaction.atomic():
        dashboard_facts.days_pending_add({today})
    read = dashboard_facts._days_read()  # today's rows as they are: one lead
    summary_refresh(dashboard_facts.LEAD_FACTS)  # meanwhile another refresh: the second lead's facts, today again
    dashboard_facts._days_write(*read)
    assert _day_rows(today)[0] == 2  # not the one-lead rows read before the second lead's facts were written
    assert not SummaryMark.objects.filter(name__startswith=dashboard_facts.PENDING_DAY).exists()
