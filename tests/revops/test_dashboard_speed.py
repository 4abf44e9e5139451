"""Speed-to-lead against a hand-computed set of four leads created 48 hours ago (times after creation):
L1 rita/web/A: assigned at 10 min, touched at 70 min (60 after), follow-up done on time (contacted).
L2 rita/web/B: first assigned to ravi at 4 min, reassigned to rita at 600 min; touched at 34 min (30 after the first
assignment); follow-up done late (no answer). L3 ravi/event/A: assigned at 120 min, never touched, follow-up overdue.
L4 event/C: sent to the review queue, never assigned."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Lead
from revops.top.dashboards_speed import dispositions_by_rep, speed_by, speed_histograms
from routing.models import RoutingDecision, Task

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

    once = ["stage_summary", "first_assignments", "lead_facts"]
    assert client.get("/dashboard/speed/?period=all").status_code == 200
    assert refreshes == once
    refreshes.clear()
    assert assigned() == 3 and refreshes == once
    lead = Lead.objects.get(email="L4@x.example")
    decision(lead, lead.created_at, four[0].user, 30)
    assert assigned() == 4  # the decision made between the two requests is in the second


@pytest.mark.parametrize("dimension", [None, "team", "rep", "source", "band"])
def test_the_lead_facts_give_the_same_figures_as_the_leads(four, dimension):
    """The pages read the lead facts (the SLA counts by source and band join the tasks with them, not with the lead
    table): the same figures as from the leads."""
    from revops.top.dashboard_facts import lead_facts_rebuild, live_facts

    lead_facts_rebuild()  # the fixture's updates write no history rows
    now = timezone.now()
    assert speed_by(live_facts(), dimension, now) == speed_by(Lead.objects.live(), dimension, now)
