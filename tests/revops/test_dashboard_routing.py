"""The routing report against hand-computed decisions: per rule and rep, re-routes and reassignments by cause,
round-robin fairness of a two-rep pool, and the queues' ages."""

import random
from datetime import timedelta

import pytest
from django.db.models import Count, F, Q
from django.utils import timezone

from leads.models import Lead
from revops.top.dashboards_filters import parse_filters
from revops.top.dashboards_routing import (
    decision_counts,
    decisions_in,
    fairness,
    per_rep,
    per_rule,
    queue_ages,
    reroutes,
)
from routing.models import RoutingDecision
from routing.services import decision_repeats_refresh

pytestmark = pytest.mark.django_db


def lead(name, **fields):
    return Lead.objects.create(email=f"{name}@x.example", **fields)


def decide(lead, *, rule=None, rep=None, days_ago=1, **fields):
    made = RoutingDecision.objects.create(lead=lead, rule=rule, rep=rep, owner=rep.user if rep else None,
                                          summary="test", explanation={}, **fields)
    RoutingDecision.objects.filter(pk=made.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return made


@pytest.fixture
def decided(configured, sales_manager):
    rule, (rita, ravi) = configured["rules"][0], configured["reps"]
    l1, l2, l3, l4, l5 = (lead(f"l{i}") for i in range(1, 6))
    rr = {"strategy": "round_robin"}
    decide(l1, rule=rule, rep=rita, **rr)
    decide(l2, rule=rule, rep=ravi, **rr)
    decide(l3, rule=rule, rep=rita, **rr)
    decide(l5, rule=rule, rep=rita, **rr)
    decide(l4, queue="review")
    decide(l1, rep=ravi, previous_owner=rita.user, cause="manager reassign", user=sales_manager)
    decide(l4, rule=rule, rep=ravi, previous_queue="review", cause="data arrived", **rr)
    decide(l2, rule=rule, rep=rita, days_ago=200, **rr)  # before the period
    undone = decide(l3, rule=rule, rep=ravi, **rr)
    RoutingDecision.objects.filter(pk=undone.pk).update(undone_at=timezone.now())
    decision_repeats_refresh()  # the dates were moved by SQL, as the demo moves them
    return configured


def period_decisions():
    filters = parse_filters({"period": "90"})
    return decisions_in(filters, filters.apply_dimensions(Lead.objects.all()))


def since():
    return parse_filters({"period": "90"}).window()[0]


def period_counts():
    return decision_counts(period_decisions(), since=since())


def test_decisions_per_rule_and_per_rep(decided):
    rules = per_rule(period_counts())
    assert [(r["rule"], r["decisions"], r["leads"], r["to_rep"], r["to_queue"]) for r in rules] == [
        ("NA to Mid-Market", 5, 5, 5, 0), ("(no rule matched)", 2, 2, 1, 1)]
    reps = {r["rep"]: r for r in per_rep(period_counts())}
    assert (reps["rita"]["decisions"], reps["ravi"]["decisions"], reps["ravi"]["reassigned_in"]) == (3, 3, 1)
    assert reps["rita"]["team"] == "Mid-Market"


def test_reroutes_and_reassignments_are_counted_by_cause(decided):
    rows = {r["cause"]: r for r in reroutes(period_counts())}
    assert set(rows) == {"manager reassign", "data arrived"}
    assert (rows["manager reassign"]["reassignments"], rows["manager reassign"]["manual"]) == (1, 1)
    assert (rows["data arrived"]["from_queue"], rows["data arrived"]["reassignments"]) == (1, 0)


def test_round_robin_fairness_compares_each_reps_share_with_an_equal_share(decided):
    rows = {r["rep"]: r for r in fairness(period_counts())}
    assert rows["rita"]["pool"] == "Mid-Market · Round robin" and rows["rita"]["pool_total"] == 5
    assert (rows["rita"]["assigned"], rows["rita"]["share"], rows["rita"]["expected"], rows["rita"]["gap"]) == (
        3, 60.0, 50.0, 10.0)
    assert (rows["ravi"]["share"], rows["ravi"]["gap"]) == (40.0, -10.0)


def test_weighted_pools_expect_shares_by_weight(decided):
    rita, ravi = decided["reps"]
    ravi.weight = 3
    ravi.save()
    RoutingDecision.objects.filter(strategy="round_robin").update(strategy="weighted")
    rows = {r["rep"]: r for r in fairness(period_counts())}
    assert (rows["rita"]["expected"], rows["ravi"]["expected"], rows["ravi"]["gap"]) == (25.0, 75.0, -35.0)


def test_queue_ages_count_waiting_leads_with_median_and_buckets(db):
    now = timezone.now()
    for name, queue, age in (("q1", "holding", timedelta(minutes=30)), ("q2", "review", timedelta(days=3)),
                             ("q3", "review", timedelta(days=10)), ("q4", "", timedelta(days=50))):
        made = lead(name, queue=queue)
        Lead.objects.filter(pk=made.pk).update(created_at=now - age)
    holding, review = queue_ages(Lead.objects.live(), now=now)
    assert (holding["waiting"], holding["median_h"], holding["< 1 h"], holding["oldest_h"]) == (1, 0.5, 1, 0.5)
    assert (review["waiting"], review["oldest_h"], review["median_h"], review["p90_h"]) == (2, 240.0, 156.0, 240.0)
    assert (review["1–7 days"], review["> 7 days"], review["< 1 h"]) == (1, 1, 0)


def test_a_lead_decided_twice_by_a_rule_or_given_twice_to_a_rep_counts_once(configured):
    rule, (rita, ravi) = configured["rules"][0], configured["reps"]
    twice = lead("twice")
    decide(twice, rule=rule, rep=rita, days_ago=300)  # before the period: does not make the next ones repeats
    decide(twice, rule=rule, rep=rita, days_ago=20)
    decide(twice, rule=rule, rep=ravi, days_ago=10, previous_owner=rita.user)
    decide(twice, rule=rule, rep=rita, days_ago=5, previous_owner=ravi.user)
    decision_repeats_refresh()
    rules = per_rule(period_counts())
    assert [(r["decisions"], r["leads"]) for r in rules] == [(3, 1)]
    reps = {r["rep"]: (r["decisions"], r["leads"]) for r in per_rep(period_counts())}
    assert reps == {"rita": (2, 1), "ravi": (1, 1)}
    everything = RoutingDecision.objects.filter(undone_at__isnull=True)
    assert [(r["decisions"], r["leads"]) for r in per_rule(decision_counts(everything, since=None))] == [(4, 1)]


def distinct_counts(decisions, key):
    return {row[key]: row["n"] for row in decisions.order_by().values(key).annotate(n=Count("lead", distinct=True))}


@pytest.mark.parametrize("seed", range(4))
def test_distinct_leads_from_the_repeats_equal_count_distinct_on_generated_decisions(configured, seed):
    """Decisions made one after another through the model's save (which sets the repeats), some undone as the undo
    service allows (a lead's latest only), then the same rows re-dated at random and set again in one statement:
    each time, the counts equal COUNT(DISTINCT lead) over the period's standing decisions."""
    rng = random.Random(seed)
    rules, reps = configured["rules"][:2], configured["reps"]
    leads = [lead(f"g{seed}-{i}") for i in range(6)]
    made = []
    for _ in range(40):
        target = rng.choice(leads)
        rep = rng.choice([*reps, None])
        made.append(RoutingDecision.objects.create(
            lead=target, rule=rng.choice([*rules, None]), rep=rep, owner=rep.user if rep else None, summary="g",
            explanation={}))
        if rng.random() < 0.15:  # undo the lead's latest standing decision, as routing_decisions_undo does
            latest = RoutingDecision.objects.filter(lead=target, undone_at__isnull=True).order_by("-created_at",
                                                                                                  "-id").first()
            RoutingDecision.objects.filter(pk=latest.pk).update(undone_at=timezone.now())
    standing = RoutingDecision.objects.filter(undone_at__isnull=True)
    for moment in (None, made[10].created_at, made[25].created_at):
        period = standing if moment is None else standing.filter(created_at__gte=moment)
        assert {r["rule"]: r["leads"] for r in per_rule(decision_counts(period, since=moment))} == {
            (name or "(no rule matched)"): n for name, n in distinct_counts(period, "rule__name").items()}
        assert {r["rep"]: r["leads"] for r in per_rep(decision_counts(period, since=moment))} == distinct_counts(
            period.filter(owner__isnull=False), "owner__username")
    for decision in RoutingDecision.objects.all():
        RoutingDecision.objects.filter(pk=decision.pk).update(
            created_at=timezone.now() - timedelta(days=rng.randrange(0, 200), minutes=rng.randrange(1440)))
    decision_repeats_refresh()
    moment = timezone.now() - timedelta(days=90)
    period = standing.filter(created_at__gte=moment)
    assert {r["rule"]: r["leads"] for r in per_rule(decision_counts(period, since=moment))} == {
        (name or "(no rule matched)"): n for name, n in distinct_counts(period, "rule__name").items()}
    assert {r["rep"]: r["leads"] for r in per_rep(decision_counts(period, since=moment))} == distinct_counts(
        period.filter(owner__isnull=False), "owner__username")


LABELS = {"round_robin": "Round robin", "weighted": "Weighted round robin"}


@pytest.mark.parametrize("seed", range(3))
def test_every_table_summed_from_the_grouped_counts_equals_counting_the_decisions(configured, sales_manager, seed):
    """Generated decisions of every kind (moves from an owner or a queue, owner kept, by a person, to a queue, pool
    strategies): each table summed from ``decision_counts`` equals the same figure counted on the decisions."""
    rng = random.Random(seed)
    rules, reps = configured["rules"][:2], configured["reps"]
    leads = [lead(f"k{seed}-{i}") for i in range(5)]
    for _ in range(30):
        rep = rng.choice([*reps, None])
        RoutingDecision.objects.create(
            lead=rng.choice(leads), rule=rng.choice([*rules, None]), rep=rep, owner=rep.user if rep else None,
            previous_owner=rng.choice([None, None, *(r.user for r in reps)]), previous_queue=rng.choice(["", "review"]),
            queue="" if rep else rng.choice(["review", "holding"]),
            strategy=rng.choice(["", "round_robin", "weighted"]),
            cause=rng.choice(["new lead", "data arrived", "manager reassign"]),
            user=rng.choice([None, sales_manager]), summary="k", explanation={})
    decisions = RoutingDecision.objects.filter(undone_at__isnull=True)
    counts = decision_counts(decisions, since=None)
    moved = decisions.filter(Q(previous_owner__isnull=False) | ~Q(previous_queue=""))
    expected = {row["cause"]: row for row in moved.order_by().values("cause").annotate(
        decisions=Count("id"),
        reassignments=Count("id", filter=Q(previous_owner__isnull=False) & ~Q(owner=F("previous_owner"))),
        kept=Count("id", filter=Q(previous_owner__isnull=False, owner=F("previous_owner"))),
        from_queue=Count("id", filter=~Q(previous_queue="")), manual=Count("id", filter=Q(user__isnull=False)))}
    assert {row["cause"]: row for row in reroutes(counts)} == expected
    by_rule = {(row["rule__name"] or "(no rule matched)"): row for row in decisions.order_by().values(
        "rule__name").annotate(decisions=Count("id"), to_rep=Count("id", filter=Q(owner__isnull=False)),
                               to_queue=Count("id", filter=~Q(queue="")))}
    assert {row["rule"]: (row["decisions"], row["to_rep"], row["to_queue"]) for row in per_rule(counts)} == {
        name: (row["decisions"], row["to_rep"], row["to_queue"]) for name, row in by_rule.items()}
    pools = {(row["strategy"], row["rep__user__username"]): row["n"] for row in decisions.filter(
        rep__isnull=False, strategy__in=["round_robin", "weighted"]).order_by().values(
        "strategy", "rep__user__username").annotate(n=Count("id"))}
    assert {(row["pool"].split(" · ")[1], row["rep"]): row["assigned"] for row in fairness(counts)} == {
        (LABELS[strategy], rep): n for (strategy, rep), n in pools.items()}


def test_deleting_a_rule_keeps_each_lead_once_in_no_rule_matched(configured):
    """A deleted rule's decisions become "no rule matched": a lead that had one by the rule and one by no rule in the
    period counts once there."""
    rule = configured["rules"][0]
    both = lead("both")
    decide(both, rule=rule, days_ago=10)
    decide(both, days_ago=5)
    decision_repeats_refresh()
    rule.delete()
    rows = per_rule(period_counts())
    assert [(r["rule"], r["decisions"], r["leads"]) for r in rows] == [("(no rule matched)", 2, 1)]
