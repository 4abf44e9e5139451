"""Scoring triggers on owned leads become tasks: hot and high intent → call now; cold → re-engage."""

import pytest

from leads.services import event_record, lead_ingest
from routing.choices import TaskKind
from routing.models import Task

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_hot_lead_gets_a_call_now_task_and_a_message_once(configured, slack, inline_jobs):
    lead = lead_ingest(data={"email": "hot@x.example", "first_name": "Hattie", "country": "US"}).lead
    assert Task.objects.filter(lead=lead, kind=TaskKind.FOLLOW_UP).count() == 1
    event_record(lead_id=lead.pk, type="demo_request", idempotency_key="d1")
    hot = Task.objects.filter(lead=lead, kind=TaskKind.HOT_LEAD)
    assert hot.count() == 1
    assert hot.get().title.startswith("Hot lead") and hot.get().assignee_id == lead.__class__.objects.get(
        pk=lead.pk).owner_id
    assert any("Hot lead" in m["text"] for m in slack.messages)
    event_record(lead_id=lead.pk, type="demo_request", idempotency_key="d1")  # redelivered: nothing new
    assert hot.count() == 1


def test_an_opted_out_lead_gets_no_outreach_task(configured, inline_jobs):
    lead = lead_ingest(data={"email": "out@x.example", "country": "US"}).lead
    event_record(lead_id=lead.pk, type="unsubscribe")
    event_record(lead_id=lead.pk, type="demo_request")
    assert not Task.objects.filter(lead=lead, kind=TaskKind.HOT_LEAD).exists()
