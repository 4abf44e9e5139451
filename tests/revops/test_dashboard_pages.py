"""The dashboard pages: each renders for a manager under the filters with a chart per table, each table downloads
as CSV under the same filters, bad input is refused, reps are kept out, and the pages are linked."""

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from leads.models import Lead
from revops.top.dashboards_views import PAGES
from routing.models import RoutingDecision, Task
from scoring.models import ScoreChange

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(configured):
    rita, ravi = configured["reps"]
    now = timezone.now()
    for index, (owner, band, score, outcome, source) in enumerate([
            (rita, "A", 90, "won", "web"), (rita, "B", 60, "lost", "web"), (ravi, "A", 85, "open", "event"),
            (None, "C", 20, "open", "web")]):
        lead = Lead.objects.create(email=f"p{index}@x.example", owner=owner.user if owner else None, band=band,
                                   score=score, outcome=outcome, source=source, predicted_probability=score / 100,
                                   deal_value=Decimal(500) if outcome == "won" else None,
                                   queue="" if owner else "review")
        Lead.objects.filter(pk=lead.pk).update(created_at=now - timedelta(days=10),
                                               closed_at=now if outcome != "open" else None)
        RoutingDecision.objects.create(lead=lead, rep=owner, owner=owner.user if owner else None,
                                       rule=configured["rules"][0] if owner else None, summary="t", explanation={},
                                       strategy="round_robin" if owner else "", queue="" if owner else "review")
        if owner:
            Task.objects.create(lead=lead, assignee=owner.user, title="call", dedup_key=f"p{index}",
                                due_at=now - timedelta(days=1))
    return configured


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize("slug", list(PAGES))
def test_each_page_renders_its_tables_with_charts_and_csv_links_under_the_filters(client, sales_manager, data, slug):
    client.force_login(sales_manager)
    body = client.get(f"/dashboard/{slug}/?period=90&source=web").content.decode()
    assert '<canvas id="chart-' in body and "vendor/chart.js/chart.umd.min.js" in body
    assert not re.search(r'(src|href)="(https?:)?//', body)  # every script, style and link is served here
    assert "period=90&amp;source=web&amp;format=csv&amp;table=" in body
    for other in PAGES:
        assert f'href="/dashboard/{other}/?period=90&amp;source=web"' in body


def test_the_speed_csv_matches_the_table_under_the_same_filters(client, revops_admin, data):
    client.force_login(revops_admin)  # every lead, the unowned one too (a manager sees their teams' leads only)
    header, *body = csv_rows(client.get("/dashboard/speed/?period=90&source=web&format=csv&table=speed-rep"))
    assert header[:3] == ["Rep", "Leads", "Assigned"]
    assert sorted(row[:3] for row in body) == [["(none)", "1", "0"], ["rita", "2", "2"]]
    response = client.get("/dashboard/speed/?period=90&source=web&format=csv&table=speed-rep")
    assert response["Content-Disposition"] == 'attachment; filename="leadflow-speed-speed-rep.csv"'


def test_every_table_of_every_page_downloads(client, sales_manager, data):
    client.force_login(sales_manager)
    for slug in PAGES:
        page = client.get(f"/dashboard/{slug}/?period=all")
        for section in page.context["sections"]:
            rows = csv_rows(client.get(f"/dashboard/{slug}/?period=all&format=csv&table={section.key}"))
            assert rows[0] == [label for _, label in section.columns]
            assert len(rows) - 1 == len(section.rows), (slug, section.key)


def test_the_segment_filter_keeps_the_leads_last_scored_by_that_segments_model(client, sales_manager, data):
    first = Lead.objects.get(email="p0@x.example")
    ScoreChange.objects.create(lead=first, model=data["model"], at=timezone.now(), cause="t")
    client.force_login(sales_manager)
    rows = csv_rows(client.get("/dashboard/scores/?period=all&segment=default&format=csv&table=bands"))
    assert [row[:2] for row in rows[1:]] == [["A", "1"]]
    assert csv_rows(client.get("/dashboard/scores/?period=all&segment=enterprise&format=csv&table=bands"))[1:] == []


@pytest.mark.parametrize("query, text", [("period=7", "period"), ("rep=abc", "rep"),
                                         ("format=csv&table=nope", "table")])
def test_bad_input_is_refused_with_the_field_named(client, sales_manager, query, text):
    client.force_login(sales_manager)
    response = client.get(f"/dashboard/routing/?{query}")
    assert response.status_code == 400 and text in response.content.decode()


def test_a_rep_cannot_open_the_pages(client, reps):
    client.force_login(reps[0].user)
    assert client.get("/dashboard/speed/").status_code == 403


def test_the_pages_are_linked_from_the_overview_and_the_admin_index(client, revops_admin):
    client.force_login(revops_admin)
    overview = client.get("/dashboard/").content.decode()
    admin = client.get("/admin/").content.decode()
    for slug in PAGES:
        assert f'href="/dashboard/{slug}/' in overview and f'href="/dashboard/{slug}/"' in admin
    assert 'href="/dashboard/"' in client.get("/workspace/").content.decode()
