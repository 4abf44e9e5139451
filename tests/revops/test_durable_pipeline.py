"""A pipeline that never strands a lead: every scheduled job is a pending row until it has finished, and the sweeper
enqueues again what Redis never received or lost. Real Redis (the session's Valkey), a real worker, real HTTP to the
Slack stand-in; "Redis down" is the queue pointed at a loopback port nothing listens on."""

import socket
from datetime import timedelta

import django_rq
import pytest
import redis.exceptions
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from leads.jobs import lead_enrich_job
from leads.models import Lead, LeadImport
from revops.base.choices import NotificationStatus, Workflow
from revops.base.jobs import enqueue_after_commit, pending_jobs_sweep_job, pipeline_job
from revops.base.models import Notification, PendingJob
from revops.base.switches import workflow_switch_set
from routing.models import Task
from scoring.choices import PredictiveStatus
from scoring.models import PredictiveModel
from tests.queues import work
from tests.synthetic.scoring import closed_leads

pytestmark = pytest.mark.django_db(transaction=True)

LEAD = {"first_name": "Jane", "last_name": "Doe", "email": "jane.doe@acme.example", "company": "Acme",
        "title": "VP Sales", "country": "United States", "industry": "SaaS", "employees": "250", "source": "webform"}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: connections are refused


@pytest.fixture
def redis_down(settings):
    """Point the queue at a port nothing listens on; yields a function that brings Redis back."""
    real = settings.RQ_QUEUES

    url = f"redis://127.0.0.1:{closed_port()}/0"
    settings.RQ_QUEUES = {name: {"URL": url, "DEFAULT_TIMEOUT": 60} for name in real}

    def back() -> None:
        settings.RQ_QUEUES = real

    yield back
    settings.RQ_QUEUES = real


def run_worker() -> None:
    work()


def drain() -> None:
    """What the workers and the cron do once Redis is back: sweep, work, until nothing is pending."""
    for _ in range(10):
        if not PendingJob.objects.exists():
            return
        PendingJob.objects.update(due_at=timezone.now() - timedelta(seconds=1))  # as if the threshold had passed
        pending_jobs_sweep_job()
        run_worker()
    raise AssertionError(f"still pending: {list(PendingJob.objects.values_list('function', flat=True))}")


def test_with_redis_down_the_api_answers_201_and_the_leads_flow_once_redis_is_back(
        api_client, configured, slack, redis_down):
    ids = []
    for n, name in enumerate(["Jane", "Olga", "Pedro"]):
        lead = {**LEAD, "first_name": name, "last_name": f"Tester{n}", "email": f"{name.lower()}@acme{n}.example",
                "company": f"Acme {n}"}
        response = api_client.post("/api/leads/", lead, format="json")
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    assert PendingJob.objects.filter(function="leads.jobs.lead_enrich_job").count() == 3
    assert not Lead.objects.filter(pk__in=ids, score__isnull=False).exists()

    redis_down()  # Redis is back, empty: nothing of the three leads ever reached it
    drain()

    for lead in Lead.objects.filter(pk__in=ids):
        assert lead.score is not None and lead.owner_id is not None
        assert Task.objects.filter(lead=lead).count() == 1
    assert Notification.objects.filter(status=NotificationStatus.SENT).count() == 3
    assert len(slack.messages) == 3  # each announced exactly once
    assert not PendingJob.objects.exists()


def test_a_job_lost_by_redis_runs_again_and_a_finished_one_leaves_no_row(api_client, configured, slack):
    response = api_client.post("/api/leads/", LEAD, format="json")
    assert response.status_code == 201
    django_rq.get_connection("default").flushdb()  # Redis lost its data before a worker took the job
    assert PendingJob.objects.count() == 1
    drain()
    lead = Lead.objects.get(pk=response.json()["id"])
    assert lead.owner_id is not None and len(slack.messages) == 1


def test_the_sweeper_leaves_a_job_that_is_still_queued_alone(api_client, configured):
    api_client.post("/api/leads/", LEAD, format="json")
    PendingJob.objects.update(due_at=timezone.now() - timedelta(seconds=1))
    # The lead's enrichment waits for the drain its commit queued: the sweeper queues no second one.
    assert pending_jobs_sweep_job() == ("0 pending jobs enqueued again, 0 still queued or running, "
                                        "0 drains queued (1 already queued)")
    assert django_rq.get_queue("default").count == 1


def test_a_rolled_back_write_leaves_no_pending_job(configured):
    with pytest.raises(RuntimeError), transaction.atomic():
        lead = Lead.objects.create(email="gone@acme.example")
        enqueue_after_commit(lead_enrich_job, lead.pk)
        raise RuntimeError("roll back")
    assert not PendingJob.objects.exists()


def test_the_sweeper_has_its_kill_switch(configured):
    workflow_switch_set(workflow=Workflow.PENDING_SWEEP, enabled=False)
    assert pending_jobs_sweep_job() == "skipped"


def test_a_job_that_is_not_a_leadflow_job_cannot_be_scheduled(db):
    def plain(pk):
        return pk

    with pytest.raises(TypeError, match="not a Leadflow job"):
        enqueue_after_commit(plain, 1)


def flaky_body(pk):
    """Fails with a transient error the first time, succeeds the second (module level: RQ imports it)."""
    flaky_body.calls += 1
    if flaky_body.calls == 1:
        raise redis.exceptions.TimeoutError("Redis busy")
    return "done"


flaky_body.calls = 0
flaky_job = pipeline_job(workflow=Workflow.SCORING, object_type="lead")(flaky_body)
flaky_job.__qualname__ = flaky_job.__name__ = "flaky_job"


def test_a_transient_failure_keeps_the_row_until_the_retry_finishes(db, settings):
    settings.LEADFLOW_JOB_RETRY_INTERVALS = [0]
    flaky_body.calls = 0
    enqueue_after_commit(flaky_job, 7)
    work(max_jobs=1)
    assert flaky_body.calls == 1 and PendingJob.objects.count() == 1  # RQ retries it: the row stays
    run_worker()
    assert flaky_body.calls == 2 and not PendingJob.objects.exists()


def test_import_config_finishes_without_a_traceback_when_redis_is_down(configured, redis_down, tmp_path, capsys):
    path = tmp_path / "config.yaml"
    call_command("export_config", str(path))
    text = path.read_text()
    assert text.count("  version: 1\n") == 1
    path.write_text(text.replace("  version: 1\n", "  version: 2\n"))  # a new active version: segment rescored
    call_command("import_config", str(path))
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "+ Default v2 (created)" in out
    assert list(PendingJob.objects.values_list("function", flat=True)) == ["scoring.jobs.scoring_model_rescore_job"]
    assert "Redis was unreachable: 1 follow-up job left pending" in out


def test_train_scoring_model_activate_finishes_without_a_traceback_when_redis_is_down(
        scoring_model, redis_down, capsys):
    closed_leads(600, seed=2)
    call_command("train_scoring_model", "--activate")
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert PredictiveModel.objects.get().status == PredictiveStatus.ACTIVE
    assert list(PendingJob.objects.values_list("function", flat=True)) == ["scoring.jobs.predictive_rescore_job"]
    assert "Redis was unreachable: 1 follow-up job left pending" in out


def test_an_admin_import_confirmed_while_redis_is_down_runs_once_redis_is_back(admin_client, configured, redis_down):
    csv_text = "email,first_name,last_name,country\nann@north.example,Ann,North,US\nbob@south.example,Bob,South,US\n"
    admin_client.post(reverse("admin:leads_leadimport_upload"),
                      {"file": SimpleUploadedFile("fair.csv", csv_text.encode(), content_type="text/csv"),
                       "source": "fair"})
    lead_import = LeadImport.objects.get()
    response = admin_client.post(reverse("admin:leads_leadimport_preview", args=[lead_import.pk]))
    assert response.status_code in (200, 302)
    lead_import.refresh_from_db()
    assert lead_import.status == "queued"
    assert PendingJob.objects.filter(function="leads.jobs.lead_import_run_job").count() == 1

    redis_down()
    drain()

    lead_import.refresh_from_db()
    assert lead_import.status == "done" and lead_import.counts.get("created") == 2
    assert Lead.objects.filter(source="fair", owner__isnull=False).count() == 2
