"""Under a steady stream of forms a drain waits a moment before it claims, so the steps committed meanwhile join
its micro-batch; an idle queue's step runs at once (``revops.base.pending.drain_linger``)."""

import re
import time
from collections import deque

import django_rq
import pytest
from django.utils import timezone
from rq.job import Job

from leads.jobs import lead_enrich_job
from leads.models import Lead
from revops.base import pending
from revops.base.models import Notification, PendingJob
from tests.queues import queued, work

from .test_drains import form

pytestmark = pytest.mark.django_db(transaction=True)

ENRICH = (pending.function_path(lead_enrich_job), "default")


@pytest.fixture
def lately(monkeypatch, settings):
    """The process's record of recent drains, empty, with a linger of 100 ms after 10 steps in a second."""
    settings.LEADFLOW_DRAIN_LINGER_MS = 100
    settings.LEADFLOW_DRAIN_LINGER_STEPS = 10
    record: dict = {}
    monkeypatch.setattr(pending, "_drained_lately", record)
    return record


def test_a_drain_waits_only_when_its_steps_keep_coming(lately, settings):
    assert pending.drain_linger(*ENRICH) == 0  # nothing drained lately: at once
    now = time.monotonic()
    lately[ENRICH] = deque([(now - 0.6, 6), (now - 0.3, 3)])
    assert pending.drain_linger(*ENRICH) == 0  # 9 steps in the last second
    lately[ENRICH].append((now, 1))
    assert pending.drain_linger(*ENRICH) == pytest.approx(0.1)  # 10
    assert pending.drain_linger("scoring.jobs.lead_score_job", "hot") == 0  # counted per function and queue
    assert pending.drain_linger(ENRICH[0], "bulk") == 0
    settings.LEADFLOW_DRAIN_LINGER_MS = 0
    assert pending.drain_linger(*ENRICH) == 0  # switched off
    settings.LEADFLOW_DRAIN_LINGER_MS = 100
    lately[ENRICH] = deque([(now - 1.5, 50), (now - 0.1, 2)])
    assert pending.drain_linger(*ENRICH) == 0  # the 50 are older than a second: forgotten
    assert list(lately[ENRICH]) == [(now - 0.1, 2)]


def test_a_backlog_s_drain_claims_at_once(lately):
    lately[ENRICH] = deque([(time.monotonic(), 30)])
    limit = pending.YIELD_EVERY  # a default-queue drain's claim (the hot queue is hotter)
    rows = [PendingJob(function=ENRICH[0], args=[n], queue="default", due_at=timezone.now()) for n in range(limit)]
    PendingJob.objects.bulk_create(rows[:-1])
    assert pending.drain_linger(*ENRICH) == pytest.approx(0.1)  # one short of a claim: worth waiting for more
    PendingJob.objects.create(function=ENRICH[0], args=[limit], queue="default", due_at=timezone.now(),
                              claimed_by="another drain")
    assert pending.drain_linger(*ENRICH) == pytest.approx(0.1)  # claimed rows do not count
    PendingJob.objects.bulk_create(rows[-1:])
    assert pending.drain_linger(*ENRICH) == 0  # a whole claim waits: no reason to wait


def test_forms_committed_while_a_drain_waits_join_its_batch_and_queue_no_other_drain(
        api_client, configured, slack, lately, monkeypatch, settings):
    # Each form signals its drain (not paced: a signal held back would queue a drain after the wait, finding nothing).
    settings.LEADFLOW_DRAIN_SIGNAL_EVERY_MS = 0
    real_sleep = time.sleep
    posted: list[int] = []
    queue = django_rq.get_queue("default")

    def sleep(seconds: float) -> None:
        if seconds == pytest.approx(0.1) and not posted:  # the drain's wait: two more forms arrive
            for n in (1, 2):
                response = api_client.post("/api/leads/", form(n, "linger"), format="json")
                assert response.status_code == 201
                posted.append(response.json()["id"])
            assert queue.count == 0  # the flag of the drain waiting (taken off the queue) is still set: none queued
            return
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    first = api_client.post("/api/leads/", form(0, "linger"), format="json").json()["id"]
    assert [step[0] for step in queued("default")] == [ENRICH[0]]
    lately[ENRICH] = deque([(time.monotonic(), 25)])  # a steady stream of forms was drained a moment ago

    work()

    assert len(posted) == 2
    results = [str(job.return_value()) for job in Job.fetch_many(queue.finished_job_registry.get_job_ids(),
                                                                   connection=queue.connection) if job]
    enrich_drains = [r for r in results if "after waiting" in r]
    assert len(enrich_drains) == 1 and re.match(r"\d+ steps in \d+ batches after waiting 100 ms", enrich_drains[0])
    assert lately[ENRICH][-1][1] == 3  # the three forms' enrichments, claimed by the one drain
    assert not PendingJob.objects.exists()
    for lead_id in [first, *posted]:  # each went the whole way: scored, routed, its message sent
        lead = Lead.objects.get(pk=lead_id)
        assert lead.score is not None and lead.owner_id is not None
        assert Notification.objects.filter(object_type="task", text__contains=f"/leads/{lead_id}/",
                                           status="sent").exists()


def test_an_idle_queue_s_step_runs_at_once(api_client, configured, slack, lately, monkeypatch):
    waits: list[float] = []
    real_sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda seconds: (waits.append(seconds), real_sleep(seconds)))
    lead_id = api_client.post("/api/leads/", form(0, "idle"), format="json").json()["id"]
    work()
    assert pytest.approx(0.1) not in waits
    assert Lead.objects.get(pk=lead_id).owner_id is not None
    assert lately[ENRICH][-1][1] == 1  # recorded for the next drain's decision
