"""End to end: the API, a real RQ worker on a real Redis-compatible server, and the Slack stand-in over HTTP."""

import pytest

from leads.models import Lead, LeadEvent
from revops.base.choices import AutomationOutcome, NotificationStatus, Workflow
from revops.base.models import AutomationLog, Notification
from revops.base.switches import workflow_switch_set
from routing.models import RoutingDecision, Task
from tests.queues import work

pytestmark = pytest.mark.django_db(transaction=True)

LEAD = {
    "first_name": "  Jane ", "last_name": "Doe", "email": "Jane.Doe@Acme.example", "phone": "(415) 555-2671",
    "company": "Acme", "title": "VP Sales", "country": "United States", "industry": "SaaS", "employees": "250",
    "source": "webform",
}


def run_worker() -> int:
    """Work the queues with a real worker in burst mode; returns how many jobs (drains included) it ran."""
    return work()


def test_it_scores_routes_tasks_and_announces_a_posted_lead_once(api_client, configured, slack, settings):
    settings.LEADFLOW_DRAIN_SECONDS = 120  # one drain job within its time, however slow the machine
    response = api_client.post("/api/leads/", LEAD, format="json")
    assert response.status_code == 201, response.content
    lead_id = response.json()["id"]

    assert run_worker() == 1  # one drain job: enrich, then score, route, task and notify as its follow-ups

    lead = Lead.objects.get(pk=lead_id)
    assert lead.email == "jane.doe@acme.example"
    assert lead.phone == "+14155552671"
    assert lead.score == 35 and lead.band == "C"
    assert lead.owner is not None and lead.owner.rep in configured["reps"]
    assert Task.objects.filter(lead=lead).count() == 1
    assert len(slack.messages) == 1
    message = slack.messages[0]
    assert message["channel"] == lead.owner.rep.slack_user_id
    assert "Jane Doe" in message["text"] and "Score 35" in message["text"]
    reasons = [h.history_change_reason for h in lead.history.all()]
    assert any(r and r.startswith("automation:scoring") for r in reasons)
    assert any(r and r.startswith("automation:routing") for r in reasons)

    detail = api_client.get(f"/api/leads/{lead_id}/").json()
    assert detail["score"] == 35 and detail["owner"]["id"] == lead.owner_id
    assert detail["routing"]["rule"] == "NA to Mid-Market"
    assert {r["code"] for r in detail["reasons"]} >= {"vp_or_above", "target_industry", "size_50_1000"}

    event = {"lead": lead_id, "type": "page_view", "properties": {"url": "https://acme.example/pricing"}}
    first = api_client.post("/api/events/", event, format="json", HTTP_IDEMPOTENCY_KEY="evt-1")
    assert first.status_code == 201
    run_worker()
    lead.refresh_from_db()
    assert lead.score == 45 and lead.stage == "mql"
    history_rows = lead.history.count()

    again = api_client.post("/api/events/", event, format="json", HTTP_IDEMPOTENCY_KEY="evt-1")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert run_worker() == 0
    lead.refresh_from_db()
    assert lead.score == 45
    assert LeadEvent.objects.filter(lead=lead).count() == 1
    assert lead.history.count() == history_rows
    assert Task.objects.filter(lead=lead).count() == 1
    assert len(slack.messages) == 1


def test_routing_kill_switch_skips_and_records_then_routes_when_back_on(api_client, configured, slack):
    workflow_switch_set(workflow=Workflow.ROUTING, enabled=False, note="testing")
    lead_id = api_client.post("/api/leads/", {**LEAD, "email": "k@acme.example"}, format="json").json()["id"]
    run_worker()

    lead = Lead.objects.get(pk=lead_id)
    assert lead.score is not None
    assert lead.owner is None and lead.queue == ""
    skipped = AutomationLog.objects.filter(object_type="lead", object_id=lead_id, workflow=Workflow.ROUTING)
    assert skipped.filter(outcome=AutomationOutcome.SKIPPED).count() == 1
    assert not RoutingDecision.objects.filter(lead_id=lead_id).exists()

    workflow_switch_set(workflow=Workflow.ROUTING, enabled=True)
    run_worker()
    lead.refresh_from_db()
    assert lead.owner is not None
    assert Task.objects.filter(lead=lead).count() == 1
    assert Notification.objects.filter(status=NotificationStatus.SENT).count() == 1
    assert len(slack.messages) == 1
