"""The daily roll-up (revops/top/dashboards_counts.py) against counting the leads themselves, on generated leads:
for every filter (preset periods whose first day is partly in, dates, source, campaign, segment, team, rep, a
manager's scope) and in two time zones, the overview's counted figures — bands, cohort funnel, sources, open leads
per owner, queues — are the same as the figure functions counting the live leads directly; so are the counts read
from the durations' digest and the follow-ups' roll-up, and the digest's percentiles are within its error."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Count
from django.utils import timezone

from leads.models import Lead
from revops.top import dashboards
from revops.top.dashboard_facts import lead_facts_rebuild, lead_facts_refresh, live_facts
from revops.top.dashboards_bands import band_rows, band_table, median_days_to_close
from revops.top.dashboards_counts import (
    bands_from,
    cohort_from,
    dimension_counts,
    lead_counts,
    open_leads_per_owner,
    queues_now,
    sources_from,
)
from revops.top.dashboards_filters import parse_filters
from revops.top.dashboards_funnel import cohort_funnel, cohort_rows
from revops.top.models import LeadDay
from routing.models import Rep, Team
from scoring.models import ScoreChange, ScoringModel

from .digest_checks import as_rows, assert_stage_times_within_digest_error, assert_within_digest_error

pytestmark = pytest.mark.django_db

STAGES = ["new", "engaged", "mql", "sql", "opportunity", "customer", "nurture", "disqualified"]


@pytest.fixture
def generated(reps, sales_manager, django_user_model):
    """60 leads from a seeded generator: dates over 100 days, many on the 90- and 30-day boundary days on both sides
    of the boundary moment; stages that went up then decayed; outcomes, deal values, owners in two teams, queues,
    segments, merged leads."""
    rng = random.Random(1203)
    other = Team.objects.create(name="Enterprise")
    olga = Rep.objects.create(user=django_user_model.objects.create(username="olga"), team=other)
    owners = [None, reps[0].user, reps[1].user, olga.user]
    models = {name: ScoringModel.objects.create(name=name, segment=name) for name in ("smb", "enterprise")}
    now = timezone.now()
    ages = [timedelta(days=rng.uniform(0, 100)) for _ in range(40)]
    ages += [timedelta(days=days, minutes=rng.choice([-90, -20, -1, 1, 20, 90])) for days in (90, 30) * 10]
    leads = []
    for index, age in enumerate(ages):
        highest = rng.randrange(len(STAGES))
        lead = Lead.objects.create(email=f"g{index}@x.example", stage=STAGES[highest],
                                   source=rng.choice(["web", "event", ""]), campaign=rng.choice(["spring", ""]),
                                   owner=rng.choice(owners), band=rng.choice(["A", "B", "C", ""]))
        lead.stage = STAGES[rng.randrange(highest + 1)]  # decayed (or not) since
        lead.outcome = rng.choice(["open", "open", "won", "lost"])
        lead.deal_value = Decimal(rng.randrange(100, 5000)) if lead.outcome == "won" and rng.random() < 0.8 else None
        lead.queue = "" if lead.owner_id else rng.choice(["holding", "review", "nurture"])
        lead.save()
        Lead.objects.filter(pk=lead.pk).update(
            created_at=now - age, closed_at=now - age + timedelta(days=rng.uniform(1, 20))
            if lead.outcome != "open" else None)
        if rng.random() < 0.5:
            ScoreChange.objects.create(lead=lead, model=rng.choice(list(models.values())), at=now, cause="test")
        leads.append(lead)
    for loser, survivor in ((leads[3], leads[4]), (leads[7], leads[8])):
        Lead.objects.filter(pk=loser.pk).update(merged_into=survivor)
    lead_facts_rebuild()  # the data was written behind the app's back (dates, merges): start the summaries over
    return {"team": reps[0].team, "other": other, "rep": reps[0], "olga": olga}


def counted(filters) -> dict:
    """The overview's counted figures from the roll-up."""
    counts = lead_counts(filters, "source", "band", "stage", "outcome", "reached")
    live = filters.apply(Lead.objects.live())
    return {"bands": band_rows(bands_from(counts), median_days_to_close(live)),
            "cohort": cohort_rows(*cohort_from(counts)),
            "sources": sorted(sources_from(counts), key=lambda row: row["source"]),
            "open": open_leads_per_owner(dimension_counts(filters, "owner_id", "outcome", "stage"))}


def direct(filters) -> dict:
    """The same figures counted from the live leads."""
    live = filters.apply(Lead.objects.live())
    everyone = filters.apply_dimensions(Lead.objects.live())
    return {"bands": band_table(live), "cohort": cohort_funnel(live),
            "sources": sorted(dashboards.sources(live), key=lambda row: row["source"]),
            "open": dict(everyone.filter(outcome="open", owner__isnull=False).exclude(
                stage__in=["customer", "disqualified"]).values_list("owner").annotate(n=Count("id")))}


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles"])
def test_the_roll_up_counts_what_the_leads_count_under_every_filter(generated, settings, zone, sales_manager):
    settings.TIME_ZONE = zone
    with timezone.override(zone):
        lead_facts_rebuild()  # the days are the zone's
        today = timezone.localdate()
        queries = [{}, {"period": "30"}, {"period": "365"}, {"period": "all"}, {"source": "web"},
                   {"campaign": "spring", "period": "all"}, {"segment": "smb"}, {"segment": "enterprise"},
                   {"team": str(generated["team"].pk)}, {"rep": str(generated["rep"].pk), "period": "all"},
                   {"created_from": str(today - timedelta(days=45)), "created_to": str(today - timedelta(days=3))},
                   {"created_from": str(today - timedelta(days=90))}, {"created_to": str(today - timedelta(days=31))}]
        for query in queries:
            filters = parse_filters(query)
            assert counted(filters) == direct(filters), query
        for query in ({}, {"period": "all"}, {"source": "event"}):  # a manager: their team's leads only
            filters = parse_filters(query, user=sales_manager)
            assert counted(filters) == direct(filters), query
        assert sum(row["n"] for row in lead_counts(parse_filters({"period": "all"}), "stage")) == 58  # 2 merged


def test_the_queues_and_the_whole_roll_up_follow_a_change_at_the_next_refresh(generated):
    waiting = dict(Lead.objects.live().exclude(queue="").values_list("queue").annotate(n=Count("id")))
    queues = ("holding", "review", "nurture")
    assert {queue: queues_now().get(queue, 0) for queue in queues} == {queue: waiting.get(queue, 0) for queue in queues}
    assert sum(waiting.values())
    lead = Lead.objects.live().filter(queue="holding").first() or Lead.objects.live().filter(owner__isnull=True)[0]
    before = queues_now().get("review", 0)
    lead.queue = "review"
    lead.save()  # a change through the app: a history row, so the next refresh sees it
    lead_facts_refresh()
    assert queues_now().get("review", 0) == before + (lead.queue == "review")
    assert LeadDay.objects.filter(n__lte=0).count() == 0
    assert sum(LeadDay.objects.values_list("n", flat=True)) == Lead.objects.live().count()


def test_the_activity_funnel_without_a_filter_counts_what_the_lead_list_counts(generated):
    """With no filter the activity funnel leaves out the merged leads' moves instead of looking every move up in the
    live leads: the same counts, merged and deleted leads included in the data."""
    from revops.top.dashboard_facts import live_facts
    from revops.top.dashboards_funnel import activity_funnel

    deleted = Lead.objects.live().filter(stage__in=["mql", "sql"]).first() or Lead.objects.live().first()
    deleted.delete()  # an admin's hard delete: its history stays
    lead_facts_refresh()
    now = timezone.now()
    for start in (None, now - timedelta(days=30), now - timedelta(days=90)):
        narrow = activity_funnel(live_facts(), start, None)
        assert activity_funnel(live_facts(), start, None, narrow=False) == narrow
        assert narrow == activity_funnel(Lead.objects.live(), start, None)


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles"])
def test_the_digest_and_the_follow_ups_roll_up_match_the_leads_under_every_filter(generated, settings, zone,
                                                                                 sales_manager):
    """The same generated leads, given assignment and first-touch times and follow-ups (open ones due on earlier
    days, earlier today and later; done ones on time and late): under every filter, a manager's scope and both time
    zones, the speed page's and the funnel's figures from the durations' digest and the follow-ups' roll-up have the
    exact counts and histograms, and percentiles within the digest's error."""
    from revops.top.dashboards_funnel import stage_times
    from revops.top.dashboards_speed import follow_up_counts, follow_ups_rolled_up, speed_by, speed_digest
    from routing.models import Task

    rng = random.Random(5)
    now = timezone.now()
    for index, lead in enumerate(Lead.objects.live().filter(owner__isnull=False).order_by("pk")):
        assigned = lead.created_at + timedelta(minutes=rng.uniform(0, 3000))
        Lead.objects.filter(pk=lead.pk).update(
            assigned_at=assigned, first_touched_at=assigned + timedelta(minutes=rng.uniform(1, 5000))
            if rng.random() < 0.7 else None)
        status = rng.choice(["open", "done"])
        due = rng.choice([now - timedelta(days=3), now - timedelta(minutes=5), now + timedelta(hours=1)])
        Task.objects.create(lead=lead, assignee=lead.owner, title="call", dedup_key=f"r{index}", due_at=due,
                            status=status, disposition="contacted" if status == "done" else "",
                            completed_at=due + timedelta(minutes=rng.choice([-10, 10])) if status == "done" else None)
    settings.TIME_ZONE = zone
    with timezone.override(zone):
        lead_facts_rebuild()  # the days are the zone's; the dates were written behind the app's back
        today = timezone.localdate()
        queries = [({}, None), ({"period": "30"}, None), ({"period": "all"}, None), ({"source": "web"}, None),
                   ({"segment": "smb"}, None), ({"team": str(generated["team"].pk)}, None),
                   ({"rep": str(generated["rep"].pk), "period": "all"}, None),
                   ({"created_from": str(today - timedelta(days=45)), "created_to": str(today)}, None),
                   ({}, sales_manager), ({"period": "all"}, sales_manager)]
        for query, user in queries:
            filters = parse_filters(query, user=user)
            leads = filters.apply(live_facts())
            digest = speed_digest(filters)
            for dimension in (None, "team", "rep", "source", "band"):
                assert_within_digest_error(speed_by(leads, dimension, now, digest=digest),
                                           speed_by(leads, dimension, now), dimension or "scope")
            assert as_rows(follow_ups_rolled_up(filters, now)) == as_rows(follow_up_counts(leads, now)), query
            assert_stage_times_within_digest_error(stage_times(leads, filters), stage_times(leads))
