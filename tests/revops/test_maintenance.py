"""The nightly statistics job gives SQLite's query planner the statistics it chooses indexes by."""

import pytest
from django.db import connection

from leads.models import Lead
from revops.base.choices import AutomationOutcome, Workflow
from revops.base.maintenance import database_statistics_job
from revops.base.models import AutomationLog, WorkflowSwitch

pytestmark = pytest.mark.django_db


def test_the_job_writes_the_planner_statistics_on_sqlite_and_leaves_postgresql_to_itself():
    Lead.objects.bulk_create([Lead(email=f"p{n}@example.com") for n in range(50)])
    result = database_statistics_job()
    log = AutomationLog.objects.get(workflow=Workflow.DB_STATISTICS)
    assert log.outcome == AutomationOutcome.DONE and log.detail == result
    if connection.vendor != "sqlite":
        assert result == "nothing to do: postgresql keeps its own statistics"
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'leads_lead'")
        stats = dict(cursor.fetchall())
    assert stats["lead_email"].startswith("50 ")  # 50 rows, about 1 per e-mail
    assert "refreshed" in result


def test_the_kill_switch_stops_the_job():
    WorkflowSwitch.objects.update_or_create(workflow=Workflow.DB_STATISTICS, defaults={"enabled": False})
    assert database_statistics_job() == "skipped"
    assert AutomationLog.objects.get(workflow=Workflow.DB_STATISTICS).outcome == AutomationOutcome.SKIPPED
