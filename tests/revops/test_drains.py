"""Micro-batches: pipeline steps run through drains (one RQ job claims many waiting steps of one function).

A real burst worker on the session's Valkey, the API over Django's test client and the Slack stand-in over HTTP.
"""

import re
import uuid
from datetime import timedelta

import django_rq
import pytest
from django.utils import timezone
from rq.job import Job

from leads.models import CompanyProfile, Lead
from revops.base.jobs import PIPELINE_QUEUES, jobs_inline, pending_jobs_sweep_job
from revops.base.models import Notification, PendingJob
from revops.base.pending import pending_claim, pending_drain_job
from routing.models import Task
from scoring import jobs as scoring_jobs
from tests.queues import queued, steps_in_a_fixed_order, work

pytestmark = pytest.mark.django_db(transaction=True)

TITLES = ["VP Sales", "Engineer", "Chief Revenue Officer", "Marketing Manager", "Director of IT"]
INDUSTRIES = ["SaaS", "Retail", "Software", "Banking"]


def form(n: int, tag: str) -> dict:
    """A website form: the scoring and routing inputs depend on n only; the person is new for each tag."""
    unique = uuid.uuid4().hex[:10]
    return {"first_name": f"P{unique[:4]}", "last_name": f"Q{unique[4:]}", "email": f"{unique}@{unique}.example",
            "company": f"C{unique}", "title": TITLES[n % len(TITLES)], "industry": INDUSTRIES[n % len(INDUSTRIES)],
            "employees": str(20 + 90 * n), "country": "United States" if n % 4 else "Canada", "source": "webform"}


def post_forms(api_client, tag: str, count: int) -> list[int]:
    ids = []
    for n in range(count):
        response = api_client.post("/api/leads/", form(n, tag), format="json")
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
        if n % 2 == 0:  # every other form is a demo request (the hot path)
            assert api_client.post("/api/events/", {"lead": ids[-1], "type": "demo_request"},
                                   format="json").status_code == 201
    return ids


def outcome(ids: list[int]) -> list[tuple]:
    """What a person sees per form: owner, score, band, stage, tasks and the messages about them."""
    rows = []
    for lead_id in ids:
        lead = Lead.objects.select_related("owner").get(pk=lead_id)
        tasks = list(Task.objects.filter(lead=lead).select_related("assignee").order_by("kind"))
        texts = sorted(
            (n.recipient, re.sub(r"\d{1,2}:\d{2}|#\d+|/\d+/|\d{4}-\d{2}-\d{2}|P\w+ Q\w+|C[0-9a-f]{10}", "…", n.text))
            for n in Notification.objects.filter(object_type="task", object_id__in=[t.pk for t in tasks]))
        rows.append((lead.owner.username if lead.owner else None, lead.score, lead.band, lead.stage,
                     [(t.kind, t.assignee.username if t.assignee else None) for t in tasks], texts))
    return rows


def test_micro_batches_give_the_same_owners_scores_tasks_and_messages_as_one_by_one(
        api_client, configured, slack, settings):
    count = 12  # a multiple of the pool's size: the round-robin pointer ends where it started
    steps_in_a_fixed_order(settings)
    settings.LEADFLOW_DRAIN_BATCH = 1  # one step per claim: the one-by-one path
    one_by_one = post_forms(api_client, "a", count)
    steps = len(queued())
    assert steps == count + count // 2  # each form waits as enrichment, every other one also as a hot rescore
    work()
    assert max(drain_batch_sizes()) == 1
    assert not PendingJob.objects.exists()

    django_rq.get_connection("default").flushdb()  # forget the first run's finished drains
    settings.LEADFLOW_DRAIN_BATCH = 200
    batched = post_forms(api_client, "b", count)
    work()

    assert not PendingJob.objects.exists()
    assert outcome(batched) == outcome(one_by_one)
    assert Lead.objects.filter(pk__in=batched, owner__isnull=False).count() == count
    assert len(slack.messages) == 2 * count  # each lead announced once, on both paths
    assert max(drain_batch_sizes()) > 1  # the same steps, claimed many at a time


def drain_batch_sizes() -> list[float]:
    """Steps per claim of every finished drain ("12 steps in 1 batches")."""
    sizes = []
    for name in PIPELINE_QUEUES:
        queue = django_rq.get_queue(name)
        for job in Job.fetch_many(queue.finished_job_registry.get_job_ids(), connection=queue.connection):
            match = job and re.match(r"(\d+) steps in (\d+) batches", str(job.return_value() or ""))
            if match and int(match[2]):
                sizes.append(int(match[1]) / int(match[2]))
    return sizes


def test_a_burst_of_events_of_one_lead_is_rescored_once(api_client, configured, monkeypatch):
    with jobs_inline():
        lead_id = api_client.post("/api/leads/", form(1, "c"), format="json").json()["id"]
    for n in range(25):
        response = api_client.post("/api/events/", {"lead": lead_id, "type": "email_open",
                                                    "properties": {"n": n}}, format="json")
        assert response.status_code == 201
    assert PendingJob.objects.filter(function="scoring.jobs.lead_score_job", queue="bulk").count() == 25
    runs = []
    real = scoring_jobs.lead_score
    monkeypatch.setattr(scoring_jobs, "lead_score", lambda **kw: runs.append(kw) or real(**kw))
    work()
    assert len(runs) == 1  # 25 waiting rescoring steps of one lead, coalesced
    assert not PendingJob.objects.exists()
    reasons = {r["code"]: r["points"] for r in Lead.objects.get(pk=lead_id).score_reasons}
    assert reasons["email_open"] == 10  # every open counted (capped at 10), though scored once


def test_a_demo_request_is_not_queued_behind_a_burst_of_email_opens(api_client, configured):
    with jobs_inline():
        ids = [api_client.post("/api/leads/", form(n, "d"), format="json").json()["id"] for n in range(8)]
    for lead_id in ids[:-1]:
        for _ in range(3):
            api_client.post("/api/events/", {"lead": lead_id, "type": "email_open"}, format="json")
    hot = ids[-1]
    before = Lead.objects.get(pk=hot).score
    api_client.post("/api/events/", {"lead": hot, "type": "demo_request"}, format="json")

    work(max_jobs=1)  # one job: the worker takes the hot queue first

    assert Lead.objects.get(pk=hot).score == before + 30
    assert PendingJob.objects.filter(queue="bulk").count() == 21  # the opens still wait
    work()
    assert not PendingJob.objects.exists()


@pytest.mark.parametrize("directory_knows_the_city", [False, True], ids=["nothing-to-add", "fills-the-city"])
def test_a_lead_scored_by_its_demo_request_first_is_rescored_after_enrichment_only_if_it_added_something(
        api_client, configured, monkeypatch, directory_knows_the_city):
    data = form(1, "f")
    if directory_knows_the_city:
        CompanyProfile.objects.create(domain=data["email"].split("@")[1], city="Boston")
    lead_id = api_client.post("/api/leads/", data, format="json").json()["id"]
    api_client.post("/api/events/", {"lead": lead_id, "type": "demo_request"}, format="json")
    runs = []
    real = scoring_jobs.lead_score
    monkeypatch.setattr(scoring_jobs, "lead_score", lambda **kw: runs.append(kw["cause"]) or real(**kw))

    work()  # the hot queue first: the demo request scores the lead before its enrichment has run

    lead = Lead.objects.get(pk=lead_id)
    assert lead.enrichment_status == ("done" if directory_knows_the_city else "not_found")
    assert runs == (["events", "ingest"] if directory_knows_the_city else ["events"])
    assert lead.score is not None and lead.owner_id is not None
    assert not PendingJob.objects.exists()


@pytest.mark.parametrize("old_sqlite", [False, True], ids=["one-statement", "sqlite-before-3.35"])
def test_two_drains_never_claim_the_same_step(api_client, configured, monkeypatch, old_sqlite):
    if old_sqlite:  # SQLite without RETURNING: the claim in three statements
        monkeypatch.setattr("revops.base.pending.sqlite3.sqlite_version_info", (3, 34, 0))
    for n in range(6):
        api_client.post("/api/leads/", form(n, "e"), format="json")
    function = "leads.jobs.lead_enrich_job"
    first = pending_claim(function=function, queue="default", token="one", limit=4)
    second = pending_claim(function=function, queue="default", token="two", limit=4)
    assert len(first) == 4 and len(second) == 2
    assert not {row.pk for row in first} & {row.pk for row in second}
    assert [row.pk for row in first] == sorted(row.pk for row in first) < [row.pk for row in second]  # oldest first
    assert {row.claimed_by for row in first} == {"one"} and first[0].args and first[0].function == function
    assert pending_claim(function=function, queue="default", token="three", limit=4) == []


def test_steps_claimed_by_a_drain_that_died_run_after_the_sweep(api_client, configured, slack):
    lead_id = api_client.post("/api/leads/", form(3, "f"), format="json").json()["id"]
    django_rq.get_connection("default").flushdb()  # the drain job is gone with its worker
    claimed = pending_claim(function="leads.jobs.lead_enrich_job", queue="default", token="dead", limit=10)
    assert len(claimed) == 1
    PendingJob.objects.update(claimed_at=timezone.now() - timedelta(minutes=5),
                              due_at=timezone.now() - timedelta(seconds=1))
    work()  # nothing in Redis: the claimed step waits
    assert Lead.objects.get(pk=lead_id).score is None

    assert "1 drains queued" in pending_jobs_sweep_job()
    work()
    lead = Lead.objects.get(pk=lead_id)
    assert lead.score is not None and lead.owner_id is not None
    assert len(slack.messages) == 1
    assert not PendingJob.objects.exists()


def test_a_bulk_drain_hands_its_worker_back_when_hot_work_waits(api_client, configured, settings):
    settings.LEADFLOW_DRAIN_SECONDS = 120  # only hot work may end the drain here, not a slow machine
    with jobs_inline():
        ids = [api_client.post("/api/leads/", form(n, "g"), format="json").json()["id"] for n in range(31)]
    for lead_id in ids[:30]:
        api_client.post("/api/events/", {"lead": lead_id, "type": "email_open"}, format="json")
    assert pending_drain_job("scoring.jobs.lead_score_job", "bulk") == "30 steps in 2 batches"  # nothing hotter

    for lead_id in ids[:30]:
        api_client.post("/api/events/", {"lead": lead_id, "type": "page_view"}, format="json")
    api_client.post("/api/events/", {"lead": ids[30], "type": "demo_request"}, format="json")  # hot work waits
    assert pending_drain_job("scoring.jobs.lead_score_job", "bulk") == "25 steps in 1 batches"
    assert PendingJob.objects.filter(queue="bulk").count() == 5
    work()
    assert not PendingJob.objects.exists()


def test_a_drain_whose_claim_came_back_short_does_not_claim_again(api_client, configured, monkeypatch):
    """A claim with fewer rows than the batch means the queue was empty: the drain ends there, and what commits later
    queues its own drain (the flag was cleared first), so nothing waits."""
    from revops.base import pending

    with jobs_inline():
        lead_id = api_client.post("/api/leads/", form(2, "d"), format="json").json()["id"]
    for n in range(3):
        assert api_client.post("/api/events/", {"lead": lead_id, "type": "email_open", "properties": {"n": n}},
                               format="json").status_code == 201
    claims = []
    real = pending.pending_claim
    monkeypatch.setattr(pending, "pending_claim", lambda **kw: claims.append(kw) or real(**kw))
    pending_drain_job("scoring.jobs.lead_score_job", "bulk")
    assert len(claims) == 1
    assert not PendingJob.objects.filter(function="scoring.jobs.lead_score_job").exists()
    api_client.post("/api/events/", {"lead": lead_id, "type": "email_open", "properties": {"n": 9}}, format="json")
    assert queued("bulk")  # the later event queued the next drain itself
    work()
    assert not PendingJob.objects.exists()


def test_a_new_lead_goes_through_its_whole_pipeline_in_one_worker_job(api_client, configured, slack, settings):
    """The drain of the lead's enrichment runs the steps that follow it (scoring, routing, the task, the message),
    from their committed pending rows, without a worker job per step."""
    settings.LEADFLOW_DRAIN_SECONDS = 120  # within its time, however slow the machine
    lead_id = api_client.post("/api/leads/", form(1, "f"), format="json").json()["id"]
    assert [step for step, _ in queued()] == ["leads.jobs.lead_enrich_job"]

    assert work() == 1

    lead = Lead.objects.get(pk=lead_id)
    assert lead.score is not None and lead.owner_id is not None
    assert Task.objects.filter(lead_id=lead_id).count() == 1
    assert len(slack.messages) == 1
    assert not PendingJob.objects.exists()


def test_a_drain_jobs_follow_ups_are_claimed_for_it_when_written(api_client, configured, slack, monkeypatch,
                                                                 settings):
    """The rows its steps write are claimed by the job at once: one claim statement for a lead's whole pipeline (its
    enrichment, scored, routed, its task and message), and no other drain can take them meanwhile."""
    settings.LEADFLOW_DRAIN_SECONDS = 120  # within its time, however slow the machine
    from revops.base import pending

    lead_id = api_client.post("/api/leads/", form(1, "k"), format="json").json()["id"]
    claims, claimed_when_written = [], []
    real_claim, real_run = pending.pending_claim, pending._drain_claimed
    monkeypatch.setattr(pending, "pending_claim", lambda **kw: claims.append(kw["function"]) or real_claim(**kw))

    def run(rows, *rest):
        claimed_when_written.extend(PendingJob.objects.filter(pk__in=[r.pk for r in rows])
                                    .values_list("function", "claimed_by"))
        assert pending_claim(function=rows[0].function, queue=rows[0].queue, token="other", limit=10) == []
        return real_run(rows, *rest)

    monkeypatch.setattr(pending, "_drain_claimed", run)
    assert pending_drain_job("leads.jobs.lead_enrich_job", "default") == "5 steps in 5 batches"

    assert claims[0] == "leads.jobs.lead_enrich_job"
    assert {function for function, token in claimed_when_written} == {
        "scoring.jobs.lead_score_job", "routing.jobs.lead_route_job", "routing.jobs.task_create_job",
        "revops.base.notifications.notification_send_job"}
    tokens = {token for function, token in claimed_when_written}
    assert len(tokens) == 1 and "" not in tokens
    assert Lead.objects.get(pk=lead_id).owner_id is not None and len(slack.messages) == 1
    assert not PendingJob.objects.exists()


def test_follow_ups_wait_for_their_own_drain_when_hotter_work_waits(api_client, configured, slack, monkeypatch):
    """A drain on the default queue does not run its follow-ups while hot work waits: they get their own drain, queued
    behind the hot work, and nothing is left behind."""
    from revops.base import pending

    lead_id = api_client.post("/api/leads/", form(1, "h"), format="json").json()["id"]
    ran = []
    real = pending._drain
    monkeypatch.setattr(pending, "_drain",
                        lambda function, queue, *a: ran.append(function) or real(function, queue, *a))
    monkeypatch.setattr(pending, "_hotter_work_waits", lambda connection, queues: "hot" in queues)

    assert pending_drain_job("leads.jobs.lead_enrich_job", "default") == "1 steps in 1 batches"

    assert ran == ["leads.jobs.lead_enrich_job"]  # scoring (default queue) waits: hot work is said to wait
    assert ("scoring.jobs.lead_score_job", (lead_id, "ingest")) in queued("default")
    assert PendingJob.objects.get(function="scoring.jobs.lead_score_job").claimed_by == ""  # released for its drain
    monkeypatch.undo()
    work()
    assert Lead.objects.get(pk=lead_id).owner_id is not None
    assert len(slack.messages) == 1
    assert not PendingJob.objects.exists()


def test_a_drain_that_fails_part_way_leaves_its_follow_ups_to_their_own_drains(api_client, configured, slack,
                                                                               monkeypatch):
    from revops.base import pending

    lead_id = api_client.post("/api/leads/", form(1, "x"), format="json").json()["id"]
    calls = []

    def failing_on_the_follow_up(rows, *rest):
        calls.append([row.function for row in rows])
        raise RuntimeError("the worker lost its database")

    monkeypatch.setattr(pending, "_drain_claimed", failing_on_the_follow_up)
    with pytest.raises(RuntimeError):
        pending_drain_job("leads.jobs.lead_enrich_job", "default")
    assert calls == [["scoring.jobs.lead_score_job"]]
    assert PendingJob.objects.get(function="scoring.jobs.lead_score_job").claimed_by == ""  # released
    assert ("scoring.jobs.lead_score_job", (lead_id, "ingest")) in queued("default")  # its drain is queued again
    monkeypatch.undo()
    work()
    assert Lead.objects.get(pk=lead_id).owner_id is not None and len(slack.messages) == 1
    assert not PendingJob.objects.exists()


def test_a_backlog_is_swept_in_a_few_statements_each_row_with_its_own_backoff(settings):
    """A queue working through a burst leaves thousands of rows past their due time: the sweep signals their drain
    and sets each row's attempts and next due time (doubling per attempt) with one UPDATE per attempt count and 500
    rows, not one CASE per row (that held SQLite's one writer for over a second every minute)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from revops.base.pending import _sweep_after, pending_jobs_sweep

    django_rq.get_connection("default").flushdb()
    past = timezone.now() - timedelta(minutes=5)
    rows = [PendingJob(function="leads.jobs.lead_enrich_job", args=[n], queue="default", due_at=past,
                       attempts=n % 3, claimed_by="busy" if n % 7 == 0 else "",
                       claimed_at=timezone.now() if n % 7 == 0 else None) for n in range(1_200)]
    PendingJob.objects.bulk_create(rows)
    before = {row.pk: (row.attempts, row.claimed_by) for row in PendingJob.objects.all()}
    now = timezone.now()
    with CaptureQueriesContext(connection) as captured:
        assert "1 drains queued" in pending_jobs_sweep(now=now)
    updates = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert len(updates) <= 1 + 4 * 3, len(updates)  # the claims' expiry, then per attempt count ≤ 3 chunks of 500
    assert not any("CASE" in sql for sql in updates)
    for pk, attempts, due_at in PendingJob.objects.values_list("pk", "attempts", "due_at"):
        old, claimed = before[pk]
        expected = old if claimed else old + 1
        assert attempts == expected and due_at == now + _sweep_after(expected), (pk, old, claimed, attempts)


def test_a_drain_takes_each_claimed_batch_through_its_follow_ups_before_claiming_the_next(
        api_client, configured, monkeypatch, settings):
    settings.LEADFLOW_DRAIN_BATCH = 2  # claims of two new leads' enrichments
    settings.LEADFLOW_DRAIN_SECONDS = 120  # within its time, however slow the machine
    ids = [api_client.post("/api/leads/", form(n, "d"), format="json").json()["id"] for n in range(4)]
    calls = []
    import leads.jobs as lead_jobs
    real_enrich, real_score = lead_jobs.leads_enrich, scoring_jobs.leads_score_each
    monkeypatch.setattr(lead_jobs, "leads_enrich", lambda **kw: calls.append(("enrich", sorted(kw["lead_ids"])))
                        or real_enrich(**kw))
    monkeypatch.setattr(scoring_jobs, "leads_score_each", lambda **kw: calls.extend(
        ("score", lead_id) for lead_id, _ in kw["steps"]) or real_score(**kw))

    pending_drain_job("leads.jobs.lead_enrich_job", "default")

    assert [c for c in calls if c[0] == "enrich"] == [("enrich", ids[:2]), ("enrich", ids[2:])]
    second_claim = calls.index(("enrich", ids[2:]))
    assert {c[1] for c in calls[:second_claim] if c[0] == "score"} == set(ids[:2])  # the first two scored first
    assert Lead.objects.filter(pk__in=ids, score__isnull=False).count() == 4
