"""The dashboard: funnel, conversion by band, queues, SLA and workload, for managers only."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Lead
from revops.top import dashboards
from routing.models import Task

pytestmark = pytest.mark.django_db


def test_band_conversion_counts_win_rate_of_closed_leads():
    for outcome in ("won", "won", "lost", "open"):
        Lead.objects.create(email=f"{outcome}{Lead.objects.count()}@x.example", band="A", outcome=outcome)
    Lead.objects.create(email="d@x.example", band="D", outcome="lost")
    rows = {r["band"]: r for r in dashboards.band_conversion(Lead.objects.live())}
    assert rows["A"]["leads"] == 4 and rows["A"]["closed"] == 3 and rows["A"]["win_rate"] == 66.7
    assert rows["D"]["win_rate"] == 0.0


def test_funnel_counts_leads_that_reached_each_stage():
    for stage in ("new", "engaged", "mql", "sql", "sql"):
        Lead.objects.create(email=f"{stage}{Lead.objects.count()}@x.example", stage=stage)
    rows = {r["stage"]: r for r in dashboards.funnel(Lead.objects.live())}
    assert rows["New"]["reached_pct"] == 100.0 and rows["MQL"]["reached_pct"] == 60.0
    assert rows["SQL"]["count"] == 2


def test_sla_on_time_share(configured):
    lead = Lead.objects.create(email="s@x.example")
    user = configured["reps"][0].user
    now = timezone.now()
    Task.objects.create(lead=lead, assignee=user, title="a", due_at=now + timedelta(hours=1), status="done",
                        completed_at=now, dedup_key="a")
    Task.objects.create(lead=lead, assignee=user, title="b", due_at=now - timedelta(hours=1), dedup_key="b")
    figures = dashboards.sla()
    assert figures["done_on_time"] == 1 and figures["open_overdue"] == 1 and figures["on_time_pct"] == 50.0


def test_dashboard_page_for_a_manager_and_not_for_a_rep(client, sales_manager, configured):
    client.force_login(sales_manager)
    page = client.get("/dashboard/?period=all")
    assert page.status_code == 200 and "Conversion by score band" in page.content.decode()
    client.force_login(configured["reps"][0].user)
    assert client.get("/dashboard/").status_code == 403
