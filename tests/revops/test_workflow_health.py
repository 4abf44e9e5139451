"""Workflow health: the hourly counter written by the job runner, the usual rate (median of the same hour on the same
weekday over the last weeks), the rate-based alert firing once per incident and recovering once (Slack stand-in and
the locmem mailbox), and the page with its CSV."""

import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from revops.base.choices import IncidentKind, Workflow
from revops.base.jobs import periodic_job
from revops.base.models import WorkflowHourlyStat, WorkflowIncident
from revops.base.roles import ROLE_SALES_REP
from revops.base.switches import workflow_switch_set
from revops.base.workflow_stats import workflow_run_count
from revops.top.health_alerts import workflow_health_check
from revops.top.health_demo import health_history_demo
from revops.top.health_rates import STATUS_FAILURES, STATUS_LOW, usual_rates, workflow_rates

pytestmark = pytest.mark.django_db

H = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # a Friday, 14:00 UTC


def stat(workflow: str, hour: datetime, runs: int, failures: int = 0) -> None:
    WorkflowHourlyStat.objects.create(workflow=workflow, hour=hour, runs=runs, failures=failures)


def usual_history(workflow: str, hours: list[datetime], runs: int, weeks: int = 4) -> None:
    for hour in hours:
        for week in range(1, weeks + 1):
            stat(workflow, hour - timedelta(days=7 * week), runs)


@pytest.fixture
def locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_the_counter_adds_up_runs_and_failures_of_the_same_hour_in_one_row():
    at = datetime(2026, 11, 27, 14, 35, tzinfo=UTC)
    workflow_run_count(workflow=Workflow.SCORING, at=at)
    workflow_run_count(workflow=Workflow.SCORING, failures=1, at=at + timedelta(minutes=20))
    workflow_run_count(workflow=Workflow.SCORING, at=at + timedelta(hours=1))
    rows = list(WorkflowHourlyStat.objects.filter(workflow=Workflow.SCORING).order_by("hour")
                .values_list("hour", "runs", "failures"))
    assert rows == [(H, 2, 1), (H + timedelta(hours=1), 1, 0)]


def test_every_job_run_is_counted_a_failure_as_a_failure_and_a_skipped_run_not_at_all():
    @periodic_job(workflow=Workflow.DECAY)
    def works_job():
        return "done"

    @periodic_job(workflow=Workflow.DECAY)
    def breaks_job():
        raise RuntimeError("boom")

    works_job()
    with pytest.raises(RuntimeError):
        breaks_job()
    workflow_switch_set(workflow=Workflow.DECAY, enabled=False)
    works_job()
    row = WorkflowHourlyStat.objects.get(workflow=Workflow.DECAY)
    assert (row.runs, row.failures) == (2, 1)


def test_the_usual_rate_is_the_median_of_the_same_hour_over_the_weeks_with_data():
    # Scoring ran 200, 190 and 210 times in the same hour one, two and three weeks ago; four weeks ago only routing
    # ran (so scoring's 0 counts); five weeks ago scoring ran 5000 times, outside the window.
    for week, runs in ((1, 200), (2, 190), (3, 210)):
        stat(Workflow.SCORING, H - timedelta(days=7 * week), runs, failures=runs // 10)
    stat(Workflow.ROUTING, H - timedelta(days=28), 50)
    stat(Workflow.SCORING, H - timedelta(days=35), 5000)
    stat(Workflow.SCORING, H - timedelta(days=7, hours=1), 999)  # another hour of the same day: not the same hour
    usual = usual_rates(hour=H)
    assert usual[Workflow.SCORING] == (195.0, pytest.approx(0.1, abs=0.001), 4)  # median of 0, 190, 200, 210
    assert usual[Workflow.ROUTING] == (0.0, 0.0, 4)


def test_without_enough_weeks_of_history_there_is_no_usual_rate_and_no_rate_alert(settings):
    stat(Workflow.SCORING, H - timedelta(days=7), 200)
    stat(Workflow.SCORING, H, 0)
    [scoring] = [r for r in workflow_rates(hour=H) if r.workflow == Workflow.SCORING]
    assert scoring.usual_runs is None and scoring.weeks == 1 and scoring.off_rate == {}


def test_the_alert_fires_once_per_incident_and_recovers_once(slack, locmem, inline_jobs, revops_admin,
                                                            django_capture_on_commit_callbacks):
    hours = [H, H + timedelta(hours=1), H + timedelta(hours=2)]
    usual_history(Workflow.SCORING, hours, runs=200)
    stat(Workflow.SCORING, hours[0], 3)
    stat(Workflow.SCORING, hours[1], 5)
    stat(Workflow.SCORING, hours[2], 195)

    with django_capture_on_commit_callbacks(execute=True):
        first = workflow_health_check(hour=hours[0])
    with django_capture_on_commit_callbacks(execute=True):
        again = workflow_health_check(hour=hours[0])
        still_low = workflow_health_check(hour=hours[1])
    assert first == {"opened": 1, "recovered": 0, "messages": 2}
    assert again == still_low == {"opened": 0, "recovered": 0, "messages": 0}
    incident = WorkflowIncident.objects.get()
    assert (incident.workflow, incident.kind, incident.resolved_at) == (Workflow.SCORING, IncidentKind.LOW, None)
    assert incident.last_hour == hours[1]
    [alert] = slack.messages
    assert alert["channel"] == "#leadflow"
    assert "Scoring runs far below its usual rate" in alert["text"] and "3 runs, usual 200" in alert["text"]
    [email] = mail.outbox
    assert email.to == [revops_admin.email] and email.subject == "Leadflow alert: Scoring runs far below its usual rate"

    with django_capture_on_commit_callbacks(execute=True):
        back = workflow_health_check(hour=hours[2])
        back_again = workflow_health_check(hour=hours[2])
    assert back == {"opened": 0, "recovered": 1, "messages": 2}
    assert back_again == {"opened": 0, "recovered": 0, "messages": 0}
    incident.refresh_from_db()
    assert incident.resolved_at is not None
    assert len(slack.messages) == 2 and "Scoring recovered" in slack.messages[1]["text"]
    assert "195 runs" in slack.messages[1]["text"]
    assert len(mail.outbox) == 2 and mail.outbox[1].subject == "Leadflow recovered: Scoring"


def test_a_jump_in_the_failure_rate_opens_a_failures_incident():
    usual_history(Workflow.ROUTING, [H], runs=100)
    stat(Workflow.ROUTING, H, 100, failures=40)
    [routing] = [r for r in workflow_rates(hour=H) if r.workflow == Workflow.ROUTING]
    assert routing.status == STATUS_FAILURES and "40 of 100 runs failed (40 %), usually 0 %" in routing.off_rate[
        STATUS_FAILURES]
    workflow_health_check(hour=H)
    assert WorkflowIncident.objects.get().kind == IncidentKind.FAILURES


def test_a_workflow_far_above_its_usual_rate_opens_a_high_incident():
    usual_history(Workflow.ENRICHMENT, [H], runs=20)
    stat(Workflow.ENRICHMENT, H, 500)
    workflow_health_check(hour=H)
    assert WorkflowIncident.objects.get().kind == IncidentKind.HIGH


def test_a_workflow_switched_off_on_purpose_raises_no_low_rate_alert():
    usual_history(Workflow.SCORING, [H], runs=200)
    stat(Workflow.SCORING, H, 0)
    [scoring] = [r for r in workflow_rates(hour=H) if r.workflow == Workflow.SCORING]
    assert scoring.status == STATUS_LOW
    workflow_switch_set(workflow=Workflow.SCORING, enabled=False, note="maintenance")
    assert workflow_health_check(hour=H)["opened"] == 0


def test_the_page_shows_each_workflow_against_its_usual_rate_with_csv(client, sales_manager):
    usual_history(Workflow.SCORING, [H], runs=200)
    stat(Workflow.SCORING, H, 3, failures=1)
    client.force_login(sales_manager)
    response = client.get("/health/workflows/", {"hour": "2026-11-27T14:00"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="runs-chart"' in body and "far below usual" in body and "vendor/chart.js/chart.umd.min.js" in body
    assert not re.search(r'(src|href)="(https?:)?//', body)  # every script, style and link is served here
    csv_response = client.get("/health/workflows/", {"hour": "2026-11-27T14:00", "format": "csv", "table": "status"})
    lines = csv_response.content.decode().splitlines()
    assert csv_response["Content-Disposition"] == 'attachment; filename="leadflow-health-status.csv"'
    assert lines[0].startswith("Workflow,Name,Hour (UTC),Runs,Failures")
    scoring = next(line for line in lines if line.startswith("scoring,"))
    assert scoring == "scoring,Scoring,2026-11-27T14:00:00+00:00,3,1,33.3,200.0,0.0,4,on,far below usual"
    hourly = client.get("/health/workflows/", {"hour": "2026-11-27T14:00", "format": "csv", "table": "hourly"})
    assert hourly.content.decode().splitlines()[1:] == ["2026-11-27T14:00:00+00:00,scoring,3,1"]


def test_the_page_refuses_a_bad_hour_naming_it_and_is_closed_to_reps(client, sales_manager, django_user_model):
    client.force_login(sales_manager)
    response = client.get("/health/workflows/", {"hour": "yesterday"})
    assert response.status_code == 400 and b"hour" in response.content
    assert client.get("/health/workflows/", {"format": "csv", "table": "nope"}).status_code == 400
    rep = django_user_model.objects.create_user("rory", password="pw")
    rep.groups.add(Group.objects.get(name=ROLE_SALES_REP))
    client.force_login(rep)
    assert client.get("/health/workflows/").status_code == 403


def test_the_demo_history_gives_every_hour_a_usual_rate_and_flags_enrichment():
    now = datetime(2026, 11, 27, 3, 20, tzinfo=UTC)  # a quiet hour: the flag must not depend on working hours
    health_history_demo(random.Random(42), now)
    rates = {r.workflow: r for r in workflow_rates(hour=now - timedelta(hours=1))}
    assert rates[Workflow.ENRICHMENT].status == STATUS_LOW and rates[Workflow.ENRICHMENT].weeks == 4
    assert rates[Workflow.SCORING].status == "ok" and rates[Workflow.SCORING].usual_runs >= 10
