"""Set-based micro-batches give what one-by-one gives: a varied input run once with drains of one step, once batched.

A real burst worker on the session's Valkey, the API over Django's test client and the Slack stand-in over HTTP.
"""

import re
import uuid

import django_rq
import pytest

from leads.models import Lead
from revops.base.choices import AutomationOutcome, Workflow
from revops.base.models import AutomationLog, Notification, PendingJob
from revops.base.switches import workflow_switch_set
from routing import jobs as routing_jobs
from routing.models import RoutingDecision, Task
from scoring.models import ScoreTrigger
from tests.queues import steps_in_a_fixed_order, work
from tests.revops.test_drains import drain_batch_sizes

pytestmark = pytest.mark.django_db(transaction=True)

COUNT = 30
TITLES = ["VP Sales", "Engineer", "Chief Executive Officer", "Marketing Manager", "Director of IT", "Intern"]
INDUSTRIES = ["SaaS", "Retail", "Software", "Banking", "", "Healthcare", "saas"]
# 6 of 30 leads outside the routed territory (the review queue); the 24 others split evenly between the two reps,
# so the round-robin pointer ends each run where it started.
COUNTRIES = ["United States", "Canada", "US", "Germany", "United States"]
# Events posted with the forms: (event type, properties), by lead number.
FIRST_EVENTS = {
    0: [("demo_request", {})],
    1: [("email_open", {})] * 3,
    2: [("page_view", {"url": "/pricing"}), ("page_view", {"url": "/pricing/enterprise"})],
    3: [("demo_request", {}), ("email_open", {})],
    4: [("unsubscribe", {})],
    5: [],
}
# Events posted once the first wave is placed: rescoring of owned leads, crossings and hot leads.
SECOND_EVENTS = {
    0: [("page_view", {"url": "/pricing"})] * 3,
    2: [("demo_request", {})],
    3: [],
    5: [("email_open", {})] * 12,
}


def form(n: int) -> dict:
    """A website form: scoring and routing inputs depend on n only; the person and company are new on each call."""
    unique = uuid.uuid4().hex[:10]
    return {"first_name": f"P{unique[:4]}", "last_name": f"Q{unique[4:]}", "email": f"{unique}@{unique}.example",
            "company": f"C{unique}", "title": TITLES[n % len(TITLES)], "industry": INDUSTRIES[n % len(INDUSTRIES)],
            "employees": str(15 + 70 * (n % 9)), "country": COUNTRIES[n % len(COUNTRIES)],
            "source": "webform" if n % 3 else "paid_search"}


def post_events(api_client, lead_id: int, events: list[tuple[str, dict]]) -> None:
    for event_type, properties in events:
        response = api_client.post("/api/events/", {"lead": lead_id, "type": event_type, "properties": properties},
                                   format="json")
        assert response.status_code == 201, response.content


def run_waves(api_client, forms: list[dict], first: list[list[tuple[str, dict]]],
              second: list[list[tuple[str, dict]]]) -> list[int]:
    """Post the forms, each with its first events, and let the workers place them; then each lead's second wave
    of events."""
    ids = []
    for data, events in zip(forms, first, strict=True):
        response = api_client.post("/api/leads/", data, format="json")
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
        post_events(api_client, ids[-1], events)
    work()
    for lead_id, events in zip(ids, second, strict=True):
        post_events(api_client, lead_id, events)
    work()
    assert not PendingJob.objects.exists()
    return ids


def run_input(api_client) -> list[int]:
    return run_waves(api_client, [form(n) for n in range(COUNT)],
                     [FIRST_EVENTS[n % len(FIRST_EVENTS)] for n in range(COUNT)],
                     [SECOND_EVENTS.get(n % 6, []) for n in range(COUNT)])


def plain(text: str, lead: Lead) -> str:
    """A message without what differs between two runs: the person, ids, links and clock times."""
    for value in (lead.first_name, lead.last_name, lead.company, lead.email, lead.email.split("@")[0]):
        text = text.replace(value, "…")
    return re.sub(r"\d{1,2}:\d{2}|#\d+|/\d+/|\d{4}-\d{2}-\d{2}|\b\d+ \w{3} ", "…", text)


def outcome(ids: list[int]) -> list[tuple]:
    """Per lead: owner, score, band, stage, reasons, queue, routing decisions, triggers, tasks and their messages."""
    rows = []
    for lead_id in ids:
        lead = Lead.objects.select_related("owner").get(pk=lead_id)
        tasks = list(Task.objects.filter(lead=lead).select_related("assignee").order_by("kind", "title"))
        messages = sorted(
            (n.channel, n.recipient, plain(n.text, lead))
            for n in Notification.objects.filter(object_type="task", object_id__in=[t.pk for t in tasks]))
        decisions = [(d.owner.username if d.owner else None, d.queue, d.summary, d.cause)
                     for d in RoutingDecision.objects.filter(lead=lead).select_related("owner").order_by("pk")]
        triggers = sorted(ScoreTrigger.objects.filter(lead=lead).values_list("kind", flat=True))
        rows.append((
            lead.owner.username if lead.owner else None, lead.score, lead.fit_score, lead.engagement_score,
            lead.band, lead.stage, lead.score_reasons, lead.queue, lead.queue_reason, lead.enrichment_status,
            decisions, triggers,
            [(t.kind, t.assignee.username if t.assignee else None, plain(t.title, lead), t.status) for t in tasks],
            messages,
        ))
    return rows


def test_micro_batches_give_the_same_results_as_one_by_one(api_client, configured, slack, settings):
    steps_in_a_fixed_order(settings)
    settings.LEADFLOW_DRAIN_BATCH = 1  # one step per claim: the one-by-one bodies
    one_by_one = run_input(api_client)
    assert max(drain_batch_sizes()) == 1
    messages_one_by_one = len(slack.messages)

    django_rq.get_connection("default").flushdb()  # forget the first run's finished drains
    settings.LEADFLOW_DRAIN_BATCH = 200
    batched = run_input(api_client)

    assert max(drain_batch_sizes()) > 1  # the same steps, claimed many at a time
    expected = outcome(one_by_one)
    assert outcome(batched) == expected
    assert len(slack.messages) == 2 * messages_one_by_one  # per-lead messages on both paths, no digest
    assert not any("new leads for you" in n.text for n in Notification.objects.all())
    owned = [row for row in expected if row[0] is not None]
    assert len(owned) == 24 and {row[0] for row in owned} == {"rita", "ravi"}
    assert any(row[11] for row in expected)  # some leads fired triggers
    assert {row[7] for row in expected} >= {"review"}  # and some went to the review queue


def test_a_failing_micro_batch_falls_back_to_one_by_one(api_client, configured, slack, settings, monkeypatch):
    settings.LEADFLOW_DRAIN_BATCH = 200

    def broken(**kwargs):
        raise RuntimeError("set-based routing is broken")

    monkeypatch.setattr(routing_jobs, "leads_route_many", broken)
    ids = [api_client.post("/api/leads/", form(n), format="json").json()["id"] for n in range(6)]
    work()

    assert not PendingJob.objects.exists()
    leads = Lead.objects.filter(pk__in=ids)
    assert leads.filter(owner__isnull=False).count() == 5  # every routable lead routed, one by one
    assert leads.filter(queue="review").count() == 1
    assert Task.objects.filter(lead__in=ids).count() == 5
    assert len(slack.messages) == 5
    fallback = AutomationLog.objects.get(workflow=Workflow.ROUTING, outcome=AutomationOutcome.RETRY)
    assert "run one by one" in fallback.detail and "set-based routing is broken" in fallback.detail
    assert not AutomationLog.objects.filter(workflow=Workflow.ROUTING, outcome=AutomationOutcome.FAILED).exists()


def test_a_micro_batch_under_a_kill_switch_is_skipped_step_by_step(api_client, configured, settings):
    settings.LEADFLOW_DRAIN_BATCH = 200
    workflow_switch_set(workflow=Workflow.ROUTING, enabled=False)
    ids = [api_client.post("/api/leads/", form(n), format="json").json()["id"] for n in range(4)]
    work()

    assert not Lead.objects.filter(pk__in=ids, owner__isnull=False).exists()
    skipped = AutomationLog.objects.filter(workflow=Workflow.ROUTING, outcome=AutomationOutcome.SKIPPED)
    assert set(skipped.values_list("object_id", flat=True)) == set(ids)
    assert not PendingJob.objects.exists()
