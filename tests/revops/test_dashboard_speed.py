"""Speed-to-lead against a hand-computed set of four leads created 48 hours ago (times after creation):
L1 rita/web/A: assigned at 10 min, touched at 70 min (60 after), follow-up done on time (contacted).
L2 rita/web/B: first assigned to ravi at 4 min, reassigned to rita at 600 min; touched at 34 min (30 after the first
assignment); follow-up done late (no answer). L3 ravi/event/A: assigned at 120 min, never touched, follow-up overdue.
L4 event/C: sent to the review queue, never assigned."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Lead
from revops.top.dashboards_filters import parse_filters
from revops.top.dashboards_speed import (
    dispositions_by_rep,
    follow_up_counts,
    follow_ups_rolled_up,
    speed_by,
    speed_digest,
    speed_histograms,
)
from routing.models import RoutingDecision, Task
from scoring.models import ScoreChange

from .digest_checks import as_rows, assert_within_digest_error

pytestmark = pytest.mark.django_db


def decision(lead, created, owner, minutes):
    made = RoutingDecision.objects.create(lead=lead, owner=owner, summary="test", explanation={},
                                          queue="" if owner else "review")
    RoutingDecision.objects.filter(pk=made.pk).update(created_at=created + timedelta(minutes=minutes))


def follow_up(lead, owner, created, done_at_min=None, due_min=60, disposition=""):
    Task.objects.create(lead=lead, assignee=owner, title="call", dedup_key=f"t{lead.pk}",
                        due_at=created + timedelta(minutes=due_min), status="done" if done_at_min else "open",
                        completed_at=created + timedelta(minutes=done_at_min) if done_at_min else None,
                        disposition=disposition)


@pytest.fixture
def four(reps):
    rita, ravi = reps[0].user, reps[1].user
    created = timezone.now() - timedelta(hours=48)
    leads = {}
    for name, owner, source, band in (("L1", rita, "web", "A"), ("L2", rita, "web", "B"), ("L3", ravi, "event", "A"),
                                      ("L4", None, "event", "C")):
        leads[name] = Lead.objects.create(email=f"{name}@x.example", owner=owner, source=source, band=band)
    Lead.objects.update(created_at=created)
    decision(leads["L1"], created, rita, 10)
    decision(leads["L2"], created, ravi, 4)
    decision(leads["L2"], created, rita, 600)
    decision(leads["L3"], created, ravi, 120)
    decision(leads["L4"], created, None, 1)
    Lead.objects.filter(pk=leads["L1"].pk).update(first_touched_at=created + timedelta(minutes=70))
    Lead.objects.filter(pk=leads["L2"].pk).update(first_touched_at=created + timedelta(minutes=34),
                                                  assigned_at=created + timedelta(minutes=600))
    follow_up(leads["L1"], rita, created, done_at_min=50, disposition="contacted")
    follow_up(leads["L2"], rita, created, done_at_min=90, disposition="no_answer")
    follow_up(leads["L3"], ravi, created)
    return reps


def test_overall_speed_uses_the_first_assignment_and_gives_median_and_90th_percentile(four):
    [row] = speed_by(Lead.objects.live(), None)
    assert (row["leads"], row["assigned"], row["touched"]) == (4, 3, 2)
    assert (row["assign_p50_h"], row["assign_p90_h"]) == (0.17, 2.0)  # 4, 10, 120 min
    assert (row["touch_p50_h"], row["touch_p90_h"]) == (0.75, 1.0)  # 30, 60 min
    assert (row["tasks_due"], row["on_time"], row["sla_pct"]) == (3, 1, 33.3)


def test_speed_by_rep_team_source_and_band(four):
    by_rep = {row["rep"]: row for row in speed_by(Lead.objects.live(), "rep")}
    assert (by_rep["rita"]["assigned"], by_rep["rita"]["assign_p50_h"], by_rep["rita"]["sla_pct"]) == (2, 0.12, 50.0)
    assert (by_rep["ravi"]["assign_p50_h"], by_rep["ravi"]["touched"], by_rep["ravi"]["sla_pct"]) == (2.0, 0, 0.0)
    assert (by_rep["(none)"]["leads"], by_rep["(none)"]["assigned"], by_rep["(none)"]["tasks_due"]) == (1, 0, 0)
    [team, none] = speed_by(Lead.objects.live(), "team")
    assert (team["team"], team["leads"], team["assigned"], team["tasks_due"]) == ("Mid-Market", 3, 3, 3)
    by_source = {row["source"]: row for row in speed_by(Lead.objects.live(), "source")}
    assert (by_source["web"]["touch_p50_h"], by_source["event"]["assigned"]) == (0.75, 1)
    by_band = {row["band"]: row for row in speed_by(Lead.objects.live(), "band")}
    assert (by_band["A"]["assign_p50_h"], by_band["A"]["sla_pct"]) == (1.08, 50.0)  # 10 and 120 min


def test_histograms_bucket_the_durations(four):
    histograms = speed_histograms(Lead.objects.live())
    assignment = {row["bucket"]: row["count"] for row in histograms["assignment"]}
    assert (assignment["< 5 min"], assignment["5–30 min"], assignment["2–8 h"]) == (1, 1, 1)
    assert sum(assignment.values()) == 3
    touch = {row["bucket"]: row["count"] for row in histograms["first_touch"]}
    assert touch["30 min–2 h"] == 2 and sum(touch.values()) == 2


def test_dispositions_are_counted_per_rep(four):
    [rita] = dispositions_by_rep(Lead.objects.live())
    assert (rita["rep"], rita["total"], rita["contacted"], rita["no_answer"], rita["converted"]) == (
        "rita", 2, 1, 1, 0)


def test_the_speed_page_refreshes_its_summary_once_and_still_sees_new_decisions(four, client, revops_admin,
                                                                                monkeypatch):
    """The page's figures read the summaries as one refresh left them: each summary (the lead facts and the two they
    copy) refreshed once per request, not once per figure, and a decision made between two requests is in the
    second."""
    from revops.base.db import summary

    refreshes = []
    real = summary.summary_refresh
    monkeypatch.setattr(summary, "summary_refresh", lambda s: refreshes.append(s.name) or real(s))
    client.force_login(revops_admin)

    def assigned() -> int:
        body = client.get("/dashboard/speed/?period=all&format=csv&table=speed-assignment").content.decode()
        return sum(int(line.rsplit(",", 1)[1]) for line in body.splitlines()[1:])

    once = ["stage_summary", "first_assignments", "lead_facts", "task_days"]
    assert client.get("/dashboard/speed/?period=all").status_code == 200
    assert refreshes == once
    refreshes.clear()
    assert assigned() == 3 and refreshes == once
    lead = Lead.objects.get(email="L4@x.example")
    decision(lead, lead.created_at, four[0].user, 30)
    lead.owner = four[0].user  # as routing does: the decision and the lead's new owner (a history row) together
    lead.save()
    assert assigned() == 4  # the decision made between the two requests is in the second


@pytest.mark.parametrize("dimension", [None, "team", "rep", "source", "band"])
def test_the_lead_facts_give_the_same_figures_as_the_leads(four, dimension):
    """The pages read the lead facts (the SLA counts by source and band join the tasks with them, not with the lead
    table): the same figures as from the leads."""
    from revops.top.dashboard_facts import lead_facts_rebuild, live_facts

    lead_facts_rebuild()  # the fixture's updates write no history rows
    now = timezone.now()
    assert speed_by(live_facts(), dimension, now) == speed_by(Lead.objects.live(), dimension, now)


@pytest.mark.parametrize("dimension", [None, "team", "rep", "source", "band"])
def test_the_digest_gives_the_counts_exactly_and_the_percentiles_within_its_error(four, dimension):
    from revops.top.dashboard_facts import lead_facts_rebuild, live_facts

    lead_facts_rebuild()
    now = timezone.now()
    filters = parse_filters({"period": "all"})
    leads = filters.apply(live_facts())
    digest = speed_digest(filters)
    assert_within_digest_error(speed_by(leads, dimension, now, digest=digest), speed_by(leads, dimension, now),
                               dimension or "scope")
    [overall] = speed_by(leads, None, now, digest=digest)
    # 120 min (7.2e6 ms) is in bucket 324 (1.05^323 to 1.05^324 ms), which stands for 2 · 1.05^324 / 2.05 ms = 1.99 h.
    assert (overall["assign_p50_h"], overall["assign_p90_h"]) == (0.17, 1.99)
    assert speed_histograms(leads, digest) == speed_histograms(leads)


@pytest.mark.parametrize("seed", range(4))
def test_the_digest_matches_the_exact_figures_on_generated_leads_under_every_filter(reps, seed):
    """Generated leads over four months (owners, sources, bands, campaigns; durations from under a millisecond to
    weeks, some negative, some on the histogram's bounds), refreshed as the pages refresh them: under each filter and
    period (a preset one starts inside a day) the digest's counts and histograms equal the exact ones and its
    percentiles are within its error."""
    from revops.top.dashboard_facts import lead_facts_refresh, live_facts

    rng = random.Random(seed)
    owners = [reps[0].user, reps[1].user, None]
    now = timezone.now()
    bounds = [timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=8)]
    for index in range(60):
        owner = rng.choice(owners)
        lead = Lead.objects.create(email=f"g{seed}-{index}@x.example", owner=owner, source=rng.choice(["web", "event"]),
                                   band=rng.choice(["A", "B", ""]), campaign=rng.choice(["spring", ""]))
        created = now - timedelta(days=rng.randrange(0, 120), seconds=rng.randrange(86400))
        Lead.objects.filter(pk=lead.pk).update(created_at=created)
        if owner is None or rng.random() < 0.1:
            continue
        to_assign = rng.choice([timedelta(microseconds=rng.randrange(1, 2000)), rng.choice(bounds),
                                timedelta(seconds=rng.uniform(1, 86400 * 20))])
        decision(lead, created, owner, to_assign.total_seconds() / 60)
        if rng.random() < 0.7:
            to_touch = rng.choice([timedelta(seconds=rng.uniform(-600, 86400 * 5)), rng.choice(bounds)])
            Lead.objects.filter(pk=lead.pk).update(first_touched_at=created + to_assign + to_touch)
    lead_facts_refresh()
    team = reps[0].team
    for params in ({"period": "all"}, {"period": "30"}, {"period": "90", "source": "web"},
                   {"period": "365", "team": str(team.pk)}, {"period": "all", "rep": str(reps[1].pk)},
                   {"period": "all", "campaign": "spring"},
                   {"created_from": str((now - timedelta(days=50)).date()), "created_to": str(now.date())}):
        filters = parse_filters(params)
        leads = filters.apply(live_facts())
        digest = speed_digest(filters)
        for dimension in (None, "team", "rep", "source", "band"):
            assert_within_digest_error(speed_by(leads, dimension, now, digest=digest),
                                       speed_by(leads, dimension, now), dimension or "scope")
        assert speed_histograms(leads, digest) == speed_histograms(leads), params


@pytest.mark.parametrize("seed", range(3))
def test_the_follow_ups_roll_up_equals_counting_the_tasks_after_generated_changes(reps, scoring_model, seed):
    """Generated follow-ups on leads over four months (done on time or late, open and due on an earlier day, earlier
    today, later today or later on, cancelled), then some done, snoozed or given to someone else and leads moved to
    another band, each change followed by a refresh as the page runs it: under each filter and period the roll-up's
    rows equal counting the period's tasks at that moment."""
    from revops.top.dashboard_facts import live_facts

    rng = random.Random(seed)
    users = [reps[0].user, reps[1].user]
    now = timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    leads, tasks = [], []
    for index in range(40):
        lead = Lead.objects.create(email=f"t{seed}-{index}@x.example", owner=rng.choice([*users, None]),
                                   source=rng.choice(["web", "event"]), band=rng.choice(["A", "B"]))
        created = now - timedelta(days=rng.choice([0, 1, 29, 30, 31, rng.randrange(120)]),
                                  seconds=rng.randrange(3600))
        Lead.objects.filter(pk=lead.pk).update(created_at=created)
        if rng.random() < 0.5:  # scored by the default segment's model: its segment is "default"
            ScoreChange.objects.create(lead=lead, model=scoring_model, at=created, cause="test")
        leads.append(lead)
        for number in range(rng.randrange(3)):
            due = rng.choice([now - timedelta(days=rng.randrange(1, 40)), today + (now - today) / 2,
                              now + timedelta(minutes=5), now + timedelta(days=3), created + timedelta(hours=1)])
            status = rng.choice(["open", "open", "done", "cancelled"])
            done = status == "done"
            tasks.append(Task.objects.create(
                lead=lead, assignee=rng.choice(users), title="call", dedup_key=f"t{seed}-{index}-{number}",
                due_at=due, status=status, disposition=rng.choice(["contacted", "no_answer"]) if done else "",
                completed_at=due + timedelta(minutes=rng.choice([-30, 30])) if done else None))
    team = reps[0].team
    cases = ({"period": "all"}, {"period": "30"}, {"period": "90", "source": "web"},
             {"period": "365", "team": str(team.pk)}, {"period": "all", "rep": str(reps[1].pk)},
             {"period": "all", "segment": "default"},
             {"created_from": str((now - timedelta(days=50)).date()), "created_to": str(now.date())})

    def check() -> None:
        for params in cases:
            filters = parse_filters(params)
            assert as_rows(follow_ups_rolled_up(filters, now)) == as_rows(
                follow_up_counts(filters.apply(live_facts()), now)), params

    # The set-up's history settled (older than the marks' minute): from here a task change reaches the roll-up only
    # through the task history's own mark, not through its lead's facts being read again.
    Lead.history.model.objects.update(history_date=now - timedelta(hours=2))
    Task.history.model.objects.update(history_date=now - timedelta(hours=2))
    check()
    for _ in range(6):
        task = rng.choice(tasks)
        change = rng.choice(["done", "snooze", "reassign", "band"])
        if change == "done":
            task.status, task.disposition, task.completed_at = "done", "contacted", now - timedelta(minutes=1)
        elif change == "snooze":
            task.status, task.due_at = "open", now + timedelta(hours=rng.choice([-2, 2]))
        elif change == "reassign":
            task.assignee = users[1] if task.assignee_id == users[0].pk else users[0]
        task.save()  # a history row: the task summary's mark sees it
        if change == "band":
            lead = rng.choice(leads)
            lead.band = "C"
            lead.save()  # a lead history row: the facts and their days are rebuilt
        check()
