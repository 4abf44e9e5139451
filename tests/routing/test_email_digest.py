"""The rep's daily e-mail digest at 08:00 in their own time zone: new leads, due today, overdue; once a day; behind
its kill switch."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from leads.choices import Stage
from revops.base.choices import Workflow
from revops.base.models import Notification
from revops.base.switches import workflow_switch_set
from routing.jobs import reps_digest_job
from routing.models import Task
from routing.services.digest import reps_digest_due
from tests.routing.factories import make_lead

pytestmark = pytest.mark.django_db(transaction=True)
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def rita_in_tokyo(reps, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    rita = reps[0]
    rita.time_zone = "Asia/Tokyo"
    rita.save()
    return rita


def task_for(rep, *, due_at, name):
    lead = make_lead(owner=rep.user, stage=Stage.MQL, first_name=name)
    return Task.objects.create(lead=lead, assignee=rep.user, title=f"Call {name}", dedup_key=f"fu:{lead.pk}",
                               due_at=due_at)


def test_at_eight_in_the_reps_zone_the_digest_lists_new_due_today_and_overdue(rita_in_tokyo, inline_jobs):
    now = datetime(2026, 12, 3, 8, 5, tzinfo=TOKYO)
    overdue = task_for(rita_in_tokyo, due_at=now - timedelta(hours=3), name="Olga")
    Task.objects.filter(pk=overdue.pk).update(created_at=now - timedelta(days=3))
    task_for(rita_in_tokyo, due_at=now + timedelta(hours=5), name="Dora")
    task_for(rita_in_tokyo, due_at=now + timedelta(days=2), name="Nina")  # new, due later
    assert reps_digest_due(now=now) == 1
    [message] = mail.outbox
    assert message.to == ["rita@example.com"]
    assert message.subject == "Your leads for Thursday 03 December: 2 new, 1 due today, 1 overdue"
    body = message.body
    assert body.index("New leads (2)") < body.index("Dora") and "Olga" in body.split("Overdue (1)")[1]
    assert "Dora" in body.split("Due today (1)")[1].split("Overdue")[0]
    assert f"/workspace/leads/{overdue.lead_id}/" in message.alternatives[0][0]


def test_not_at_another_hour_and_only_once_a_day(rita_in_tokyo, inline_jobs):
    task_for(rita_in_tokyo, due_at=timezone.now() - timedelta(hours=1), name="Olga")
    assert reps_digest_due(now=datetime(2026, 12, 3, 9, 5, tzinfo=TOKYO)) == 0
    eight = datetime(2026, 12, 3, 8, 5, tzinfo=TOKYO)
    assert reps_digest_due(now=eight) == 1
    assert reps_digest_due(now=eight + timedelta(minutes=30)) == 0
    assert len(mail.outbox) == 1


def test_a_rep_with_nothing_to_do_gets_no_digest(rita_in_tokyo, inline_jobs):
    assert reps_digest_due(now=datetime(2026, 12, 3, 8, 5, tzinfo=TOKYO)) == 0
    assert mail.outbox == []


def test_the_kill_switch_stops_the_digest_job(rita_in_tokyo, inline_jobs, settings):
    settings.LEADFLOW_DIGEST_HOUR = timezone.now().astimezone(TOKYO).hour  # the digest hour is now
    task_for(rita_in_tokyo, due_at=timezone.now() - timedelta(hours=1), name="Olga")
    workflow_switch_set(workflow=Workflow.EMAIL_DIGEST, enabled=False)
    reps_digest_job()
    assert not Notification.objects.filter(dedup_key__startswith="digest:").exists()
    workflow_switch_set(workflow=Workflow.EMAIL_DIGEST, enabled=True)
    reps_digest_job()
    assert Notification.objects.filter(dedup_key__startswith="digest:").count() == 1


def test_the_manager_gets_the_teams_breaches_at_eight_once_a_day(rita_in_tokyo, sales_manager, inline_jobs):
    now = datetime(2026, 12, 3, 8, 5, tzinfo=ZoneInfo("UTC"))
    late = task_for(rita_in_tokyo, due_at=now - timedelta(hours=5), name="Olga")
    task_for(rita_in_tokyo, due_at=now + timedelta(hours=5), name="Dora")  # not a breach
    assert reps_digest_due(now=now) == 1  # the manager has no rep: UTC; Rita's 08:00 is another hour
    assert reps_digest_due(now=now + timedelta(minutes=20)) == 0
    [summary] = mail.outbox
    assert summary.to == [sales_manager.email] and summary.subject == "Mid-Market: 1 follow-ups past their SLA"
    assert "Rita: Olga" in summary.body and "(5 h ago)" in summary.body and "Dora" not in summary.body
    assert f"/workspace/leads/{late.lead_id}/" in summary.alternatives[0][0]
