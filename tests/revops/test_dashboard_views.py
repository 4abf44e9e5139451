"""The /dashboard/ page: filters in the query string (period, dates, source, campaign, team, rep), a CSV per
table matching the page, bad filters refused."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from leads.models import Lead
from revops.top.dashboards_bands import band_table
from routing.models import Team

pytestmark = pytest.mark.django_db


def lead(band, outcome, owner=None, source="web", days_ago=5, deal=None, campaign="") -> Lead:
    made = Lead.objects.create(email=f"v{Lead.objects.count()}@x.example", band=band, outcome=outcome,
                               owner=owner, source=source, deal_value=deal, campaign=campaign)
    now = timezone.now()
    Lead.objects.filter(pk=made.pk).update(created_at=now - timedelta(days=days_ago),
                                           closed_at=None if outcome == "open" else now)
    return made


@pytest.fixture
def page_data(reps):
    rita, ravi = reps[0].user, reps[1].user
    lead("A", "won", rita, deal=Decimal(100))
    lead("A", "lost", ravi)
    lead("B", "won", rita, source="event", deal=Decimal(50))
    lead("B", "won", None, source="event", deal=Decimal(70), campaign="spring")
    lead("C", "lost", None, days_ago=200)
    return reps


def rows_of(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_band_csv_matches_the_table_under_the_same_filters(client, revops_admin, page_data):
    client.force_login(revops_admin)
    header, *body = rows_of(client.get("/dashboard/?period=90&format=csv&table=bands"))
    assert header[:3] == ["Band", "Leads", "Won"]
    expected = band_table(Lead.objects.live().filter(created_at__gte=timezone.now() - timedelta(days=90)))
    assert [row[0] for row in body] == ["A", "B"]  # the 200-day-old C lead is outside the period
    assert body == [["" if r[k] is None else str(r[k]) for k in (
        "band", "leads", "won", "lost", "open", "closed", "conversion", "ci_low", "ci_high", "avg_deal",
        "total_deal", "median_days_to_close")] for r in expected]
    assert body[0][1:7] == ["2", "1", "1", "0", "2", "50.0"] and body[1][10] == "120.00"


def test_source_team_and_rep_filters_narrow_the_tables(client, revops_admin, page_data):
    client.force_login(revops_admin)
    by_source = rows_of(client.get("/dashboard/?period=all&source=event&format=csv&table=bands"))
    assert [row[:3] for row in by_source[1:]] == [["B", "2", "2"]]
    team = page_data[0].team
    by_team = rows_of(client.get(f"/dashboard/?period=all&team={team.pk}&format=csv&table=bands"))
    assert [row[:3] for row in by_team[1:]] == [["A", "2", "1"], ["B", "1", "1"]]
    by_rep = rows_of(client.get(f"/dashboard/?period=all&rep={page_data[1].pk}&format=csv&table=bands"))
    assert [row[:4] for row in by_rep[1:]] == [["A", "1", "0", "1"]]
    by_campaign = rows_of(client.get("/dashboard/?period=all&campaign=spring&format=csv&table=bands"))
    assert [row[:3] for row in by_campaign[1:]] == [["B", "1", "1"]]
    other = Team.objects.create(name="Enterprise")
    assert rows_of(client.get(f"/dashboard/?period=all&team={other.pk}&format=csv&table=bands"))[1:] == []
    funnel = rows_of(client.get("/dashboard/?created_from=2000-01-01&source=web&format=csv&table=funnel"))
    assert funnel[1][:2] == ["New", "3"]


def test_the_page_keeps_the_filters_in_its_links_and_shows_the_band_warning(client, revops_admin, page_data):
    client.force_login(revops_admin)
    body = client.get("/dashboard/?period=all&source=event").content.decode()
    assert 'href="?period=all&amp;source=event&amp;format=csv&amp;table=bands"' in body
    assert 'id="bands-chart"' in body and "vendor/chart.js/chart.umd.min.js" in body
    page = client.get("/dashboard/?period=all").content.decode()
    assert "Band A converts no better than band B" in page and "1/2 = 50.0 %" in page


@pytest.mark.parametrize("query, field", [
    ("created_from=yesterday", "created_from"), ("period=7", "period"), ("team=abc", "team"), ("rep=999999", "rep"),
    ("created_from=2026-02-01&created_to=2026-01-01", "created_to"), ("format=csv&table=nope", "table"),
])
def test_bad_filters_are_refused_with_the_field_named(client, sales_manager, query, field):
    client.force_login(sales_manager)
    response = client.get(f"/dashboard/?{query}")
    assert response.status_code == 400 and field in response.content.decode()
