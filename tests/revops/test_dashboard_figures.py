"""Dashboard figures against a hand-computed small data set: score bands (conversion, Wilson interval, deal value,
median days to close, the non-separating-band warning), the cohort and activity funnels from the lead history and
the days between stages."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from leads.models import Lead
from revops.top.dashboards_bands import band_table, non_separating, wilson_interval
from revops.top.dashboards_funnel import activity_funnel, cohort_funnel, stage_times

from .digest_checks import assert_stage_times_within_digest_error

pytestmark = pytest.mark.django_db


def make_lead(band="", outcome="open", deal=None, days_to_close=None, created_days_ago=5, **extra) -> Lead:
    now = timezone.now()
    created = now - timedelta(days=created_days_ago)
    lead = Lead.objects.create(email=f"l{Lead.objects.count()}@x.example", band=band, outcome=outcome,
                               deal_value=deal, **extra)
    closed = created + timedelta(days=days_to_close) if days_to_close is not None else None
    Lead.objects.filter(pk=lead.pk).update(created_at=created, closed_at=closed)
    lead.refresh_from_db()
    return lead


@pytest.fixture
def banded():
    """A: 3 won of 3 (10, 20, 40 days; 100, 200, 300). B: 1 won of 4 closed, 1 open (1000, 12 days).
    C: 2 won of 3 closed (500 in 4 days, 1500 in 6 days). B converts worse than C: the warning."""
    for deal, days in ((100, 40), (200, 10), (300, 20)):
        make_lead("A", "won", Decimal(deal), days, created_days_ago=60)
    make_lead("B", "won", Decimal(1000), 12, created_days_ago=60)
    for _ in range(3):
        make_lead("B", "lost", days_to_close=3)
    make_lead("B")
    make_lead("C", "won", Decimal(500), 4, created_days_ago=60)
    make_lead("C", "won", Decimal(1500), 6, created_days_ago=60)
    make_lead("C", "lost", days_to_close=30, created_days_ago=60)
    make_lead("")  # unscored: in no band


def test_wilson_interval_matches_the_published_formula():
    assert wilson_interval(1, 4) == (4.6, 69.9)
    assert wilson_interval(2, 3) == (20.8, 93.9)
    assert wilson_interval(0, 0) is None


def test_band_table_counts_conversion_deal_value_and_median_days(banded):
    rows = {row["band"]: row for row in band_table(Lead.objects.live())}
    assert [row["band"] for row in band_table(Lead.objects.live())] == ["A", "B", "C"]
    a, b, c = rows["A"], rows["B"], rows["C"]
    assert (a["leads"], a["won"], a["lost"], a["open"], a["conversion"]) == (3, 3, 0, 0, 100.0)
    assert (a["avg_deal"], a["total_deal"], a["median_days_to_close"]) == (Decimal("200.00"), Decimal("600.00"), 20.0)
    assert (b["leads"], b["won"], b["lost"], b["open"], b["closed"], b["conversion"]) == (5, 1, 3, 1, 4, 25.0)
    assert (b["ci_low"], b["ci_high"]) == (4.6, 69.9)
    assert (b["avg_deal"], b["total_deal"], b["median_days_to_close"]) == (Decimal("1000.00"), Decimal("1000.00"), 12.0)
    assert (c["conversion"], c["ci_low"], c["ci_high"]) == (66.7, 20.8, 93.9)
    assert (c["avg_deal"], c["total_deal"], c["median_days_to_close"]) == (Decimal("1000.00"), Decimal("2000.00"), 5.0)


def test_a_higher_band_converting_worse_than_a_lower_one_raises_the_warning_with_counts_and_intervals(banded):
    warnings = non_separating(band_table(Lead.objects.live()))
    assert [(w["higher"], w["lower"], w["overlap"]) for w in warnings] == [("B", "C", True)]
    assert "1/4 = 25.0 %" in warnings[0]["text"] and "2/3 = 66.7 %" in warnings[0]["text"]
    assert "4.6–69.9" in warnings[0]["text"] and "too few closed leads" in warnings[0]["text"]


def test_bands_that_separate_raise_no_warning():
    make_lead("A", "won", Decimal(10), 3)
    make_lead("B", "lost", days_to_close=3)
    assert non_separating(band_table(Lead.objects.live())) == []


def move(lead: Lead, *stages: str) -> None:
    for stage in stages:
        lead.stage = stage
        lead._change_reason = f"test: {stage}"
        lead.save()


def test_funnel_counts_every_stage_a_lead_ever_reached_including_one_that_decayed_out_of_mql():
    decayed, promoted, fresh, dropped = (make_lead() for _ in range(4))
    move(decayed, "engaged", "mql", "engaged")
    move(promoted, "engaged", "mql", "sql")
    move(dropped, "engaged", "disqualified")
    old = make_lead(created_days_ago=200)
    move(old, "engaged", "mql")
    cohort = Lead.objects.live().filter(created_at__gte=timezone.now() - timedelta(days=90))
    rows = {row["stage"]: row for row in cohort_funnel(cohort)}
    assert [rows[s]["reached"] for s in ("New", "Engaged", "MQL", "SQL", "Opportunity", "Customer")] == [
        4, 3, 2, 1, 0, 0]
    assert decayed.stage == "engaged" and fresh.stage == "new"
    assert (rows["Engaged"]["from_previous_pct"], rows["MQL"]["from_previous_pct"]) == (75.0, 66.7)
    assert (rows["SQL"]["from_previous_pct"], rows["Opportunity"]["from_previous_pct"]) == (50.0, 0.0)
    assert rows["Customer"]["from_previous_pct"] is None and rows["MQL"]["reached_pct"] == 50.0


def backdate_history(lead: Lead, *days_ago: float) -> None:
    """Give the lead's history rows (oldest first) the dates ``days_ago`` before now."""
    rows = list(Lead.history.filter(id=lead.pk).order_by("history_date", "history_id"))
    assert len(rows) == len(days_ago)
    for row, days in zip(rows, days_ago, strict=True):
        Lead.history.filter(history_id=row.history_id).update(history_date=timezone.now() - timedelta(days=days))


def test_activity_funnel_counts_the_leads_that_crossed_into_each_stage_in_the_period():
    # An old lead (created 200 days ago) qualified 10 days ago: it counts in the period's activity, not its cohort.
    old = make_lead(created_days_ago=200)
    move(old, "engaged", "mql")
    backdate_history(old, 200, 150, 10)
    # A lead that decayed and re-qualified in the period counts once at MQL.
    bouncing = make_lead(created_days_ago=20)
    move(bouncing, "engaged", "mql", "engaged", "mql")
    backdate_history(bouncing, 20, 15, 12, 8, 5)
    # A lead created straight into MQL crosses Engaged and MQL at once; one moved before the period counts nowhere.
    straight = make_lead(created_days_ago=3, stage="mql")
    backdate_history(straight, 3)
    before = make_lead(created_days_ago=300)
    move(before, "engaged")
    backdate_history(before, 300, 299)
    start = timezone.now() - timedelta(days=30)
    rows = {row["stage"]: row for row in activity_funnel(Lead.objects.live(), start, None)}
    assert [rows[s]["entered"] for s in ("New", "Engaged", "MQL", "SQL")] == [2, 2, 3, 0]
    assert rows["MQL"]["from_previous_pct"] == 150.0 and rows["SQL"]["from_previous_pct"] == 0.0


def test_stage_times_give_the_median_days_between_consecutive_stages():
    # New → Engaged after 2, 4 and 10 days (median 4); Engaged → MQL after 1 and 3 days (median 2, p90 3).
    for days_to_engage, days_to_mql in ((2, 1), (4, 3), (10, None)):
        lead = make_lead(created_days_ago=30)
        if days_to_mql is None:
            move(lead, "engaged")
            backdate_history(lead, 30, 30 - days_to_engage)
        else:
            move(lead, "engaged", "mql")
            backdate_history(lead, 30, 30 - days_to_engage, 30 - days_to_engage - days_to_mql)
    rows = {row["step"]: row for row in stage_times(Lead.objects.live())}
    assert rows["New → Engaged"] == {"step": "New → Engaged", "leads": 3, "median_days": 4.0, "p90_days": 10.0}
    assert (rows["Engaged → MQL"]["leads"], rows["Engaged → MQL"]["median_days"]) == (2, 2.0)
    assert rows["Engaged → MQL"]["p90_days"] == 3.0
    assert rows["MQL → SQL"]["leads"] == 0 and rows["MQL → SQL"]["median_days"] is None
    # The page reads the same from the durations' digest: the counts exact, each figure within 2.5 %.
    from revops.top.dashboard_facts import lead_facts_rebuild, live_facts
    from revops.top.dashboards_filters import parse_filters

    lead_facts_rebuild()  # the histories were moved by SQL
    filters = parse_filters({"period": "90"})
    read = {row["step"]: row for row in stage_times(filters.apply(live_facts()), filters)}
    assert (read["New → Engaged"]["leads"], read["Engaged → MQL"]["leads"], read["MQL → SQL"]["leads"]) == (3, 2, 0)
    # A duration reads as its bucket's value, 2 · 1.05^k / 2.05 ms for the k with 1.05^(k-1) ≤ d < 1.05^k:
    # 4 days (k = 403) → 3.909, 10 days (422) → 9.877, 1 day (375) → 0.997, 3 days (398) → 3.063.
    assert (read["New → Engaged"]["median_days"], read["New → Engaged"]["p90_days"]) == (3.9, 9.9)
    assert (read["Engaged → MQL"]["median_days"], read["Engaged → MQL"]["p90_days"]) == (2.0, 3.1)  # (0.997+3.063)/2


def test_the_sources_table_counts_a_lead_that_decayed_out_of_mql_as_having_reached_it():
    from revops.top.dashboards import sources

    decayed, promoted, fresh = (make_lead(source="webinar") for _ in range(3))
    move(decayed, "engaged", "mql", "engaged")
    move(promoted, "engaged", "mql", "sql")
    other = make_lead(source="ads")
    move(other, "engaged")
    rows = {row["source"]: row for row in sources(Lead.objects.live())}
    assert (rows["webinar"]["leads"], rows["webinar"]["mql"]) == (3, 2)
    assert (rows["ads"]["leads"], rows["ads"]["mql"]) == (1, 0)
    assert decayed.stage == "engaged" and fresh.stage == "new"


RANKS = {"new": 0, "engaged": 1, "mql": 2, "sql": 3, "opportunity": 4, "customer": 5}


def crossed_in(lead: Lead, start, end) -> set[int]:
    """The funnel ranks the lead crossed into during [start, end), walked from its history (the definition)."""
    rows = Lead.history.filter(id=lead.pk).order_by("history_date", "history_id").values_list("history_date", "stage")
    crossed, before = set(), -1
    for at, stage in rows:
        now = RANKS.get(stage, -1)
        if now != before and (start is None or at >= start) and (end is None or at < end):
            crossed |= {rank for rank in range(1, 6) if before < rank <= now}
        before = now
    return crossed


@pytest.mark.parametrize("seed", range(4))
def test_activity_funnel_equals_distinct_leads_walked_from_generated_histories(seed):
    """Leads wander up and down the funnel (and out of it) over half a year; for several periods the activity funnel
    (a count over the moves' previous crossings) equals the distinct leads that crossed into each stage."""
    rng = random.Random(seed)
    stages = ["engaged", "mql", "sql", "opportunity", "customer", "nurture", "disqualified"]
    leads = []
    for _ in range(12):
        lead = make_lead(created_days_ago=180, stage=rng.choice(["new", "new", "mql"]))
        steps = rng.randrange(1, 7)
        move(lead, *(rng.choice(stages) for _ in range(steps)))
        backdate_history(lead, *sorted((rng.uniform(0, 180) for _ in range(steps + 1)), reverse=True))
        leads.append(lead)
    now = timezone.now()
    for start, end in ((None, None), (now - timedelta(days=90), None), (now - timedelta(days=120),
                                                                       now - timedelta(days=30))):
        rows = activity_funnel(Lead.objects.live(), start, end)
        expected = [sum(1 for lead in leads if rank in crossed_in(lead, start, end)) for rank in range(1, 6)]
        assert [row["entered"] for row in rows[1:]] == expected


@pytest.mark.parametrize("seed", range(3))
def test_stage_times_from_the_digest_match_the_exact_ones_on_generated_histories(seed):
    """Leads created over half a year wander up and down the funnel; for each period (a preset one starts inside a
    day) and a source filter, the days between stages read from the durations' digest have the same counts as the
    exact ones and medians and 90th percentiles within the digest's error."""
    from revops.top.dashboard_facts import lead_facts_rebuild, live_facts
    from revops.top.dashboards_filters import parse_filters

    rng = random.Random(seed)
    stages = ["engaged", "mql", "sql", "opportunity", "customer", "nurture"]
    for _ in range(30):
        created = rng.uniform(1, 180)
        lead = make_lead(created_days_ago=created, source=rng.choice(["web", "ads"]))
        steps = rng.randrange(1, 6)
        move(lead, *(rng.choice(stages) for _ in range(steps)))
        backdate_history(lead, created, *sorted((rng.uniform(0, created) for _ in range(steps)), reverse=True))
    lead_facts_rebuild()  # the histories were moved by SQL
    now = timezone.now()
    for params in ({"period": "all"}, {"period": "90"}, {"period": "30", "source": "web"},
                   {"created_from": str((now - timedelta(days=100)).date()), "created_to": str(now.date())}):
        filters = parse_filters(params)
        cohort = filters.apply(live_facts())
        assert_stage_times_within_digest_error(stage_times(cohort, filters), stage_times(cohort))
