"""Routing: ordered rules, fair strategies, availability, overflow, holding and review queues, explanations."""

from collections import Counter
from datetime import time as dtime
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from leads.models import Account, Lead
from routing.choices import RuleAction, Strategy
from routing.models import Rep, RoutingDecision, RoutingRule, SlaPolicy, Task, Team
from routing.services import lead_route, task_create_for_decision
from routing.services.sla import due_at_for

pytestmark = pytest.mark.django_db


def make_lead(**fields) -> Lead:
    defaults = {"email": f"lead{Lead.objects.count()}@x.example", "country": "US", "score": 50, "band": "B",
                "stage": "mql", "employees": 300}
    defaults.update(fields)
    return Lead.objects.create(**defaults)


def make_reps(team: Team, count: int, **fields) -> list[Rep]:
    reps = []
    for index in range(count):
        user = User.objects.create_user(f"{team.name.lower()}{index}", email=f"{team.name}{index}@x.example")
        reps.append(Rep.objects.create(user=user, team=team, **fields))
    return reps


@pytest.fixture
def pool(db):
    team = Team.objects.create(name="Pool")
    reps = make_reps(team, 4)
    rule = RoutingRule.objects.create(name="All to pool", order=10, action=RuleAction.ASSIGN_TEAM, team=team,
                                      strategy=Strategy.ROUND_ROBIN)
    return team, reps, rule


def test_round_robin_is_exact_and_fair(pool):
    team, reps, _ = pool
    owners = [lead_route(lead_id=make_lead().pk).decision.rep for _ in range(10)]
    assert owners[:4] == reps and owners[4:8] == reps
    counts = Counter(owners)
    assert max(counts.values()) - min(counts.values()) <= 1


def test_weighted_round_robin_is_proportional(pool):
    team, reps, rule = pool
    rule.strategy = Strategy.WEIGHTED
    rule.save()
    for rep, weight in zip(reps, (1, 2, 3, 4), strict=True):
        rep.weight = weight
        rep.save()
    counts = Counter(lead_route(lead_id=make_lead().pk).decision.rep.weight for _ in range(100))
    assert counts == {1: 10, 2: 20, 3: 30, 4: 40}


def test_capacity_strategy_picks_fewest_open_leads_and_never_exceeds_capacity(pool):
    team, reps, rule = pool
    rule.strategy = Strategy.CAPACITY
    rule.save()
    for rep in reps:
        rep.capacity = 2
        rep.save()
    for _ in range(3):
        make_lead(owner=reps[0].user)
    results = [lead_route(lead_id=make_lead().pk).decision for _ in range(7)]
    owners = Counter(d.rep for d in results if d.rep)
    assert reps[0] not in owners
    assert all(count <= 2 for count in owners.values())
    assert results[-1].rep is None and results[-1].queue == "review"
    assert "nobody available" in results[-1].summary


def test_unavailable_reps_are_skipped_with_the_reason_recorded(pool):
    team, reps, _ = pool
    now = timezone.now()
    reps[0].is_active = False
    reps[0].save()
    reps[1].out_of_office_until = now + timedelta(days=2)
    reps[1].save()
    reps[2].time_zone = "Asia/Tokyo"
    local_hour = now.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo")).hour
    reps[2].working_hours_start = dtime((local_hour + 2) % 24, 0)
    reps[2].working_hours_end = dtime((local_hour + 3) % 24, 0)
    reps[2].save()
    decision = lead_route(lead_id=make_lead().pk).decision
    assert decision.rep == reps[3]
    skipped = {c["rep"]: c["skipped"] for c in decision.explanation["candidates"]}
    assert skipped[reps[0].pk] == "inactive"
    assert skipped[reps[1].pk].startswith("out of office until")
    assert skipped[reps[2].pk].startswith("outside working hours")
    assert skipped[reps[3].pk] is None


def test_daily_cap_is_respected(pool):
    team, reps, _ = pool
    for rep in reps:
        rep.daily_cap = 1
        rep.save()
    decisions = [lead_route(lead_id=make_lead().pk).decision for _ in range(5)]
    assert [d.rep is not None for d in decisions] == [True, True, True, True, False]
    assert "daily cap reached" in str(decisions[-1].explanation["candidates"])


def test_a_full_team_overflows_to_its_overflow_team(pool):
    team, reps, _ = pool
    backup = Team.objects.create(name="Backup")
    backup_rep = make_reps(backup, 1)[0]
    team.overflow_team = backup
    team.save()
    Rep.objects.filter(team=team).update(is_active=False)
    decision = lead_route(lead_id=make_lead().pk).decision
    assert decision.rep == backup_rep
    assert decision.explanation["overflow"] == ["nobody available in Pool"]


def test_no_matching_rule_goes_to_review_never_to_a_rep(pool):
    _, _, rule = pool
    rule.countries = "DE"
    rule.save()
    lead = make_lead(country="US")
    outcome = lead_route(lead_id=lead.pk)
    lead.refresh_from_db()
    assert lead.owner is None and lead.queue == "review"
    assert outcome.decision.summary == "review: no routing rule matched"
    assert outcome.decision.explanation["rules"][0]["detail"] == "country US not in DE"


def test_missing_data_holds_the_lead_and_it_routes_when_the_data_arrives(pool):
    _, reps, rule = pool
    rule.min_employees = 100
    rule.save()
    lead = make_lead(employees=None)
    lead_route(lead_id=lead.pk)
    lead.refresh_from_db()
    assert lead.queue == "holding" and "employees" in lead.queue_reason
    lead.employees = 500
    lead.save()
    lead_route(lead_id=lead.pk, cause="data arrived")
    lead.refresh_from_db()
    assert lead.queue == "" and lead.owner == reps[0].user


def test_rules_are_tried_in_order_and_the_first_match_wins(pool):
    team, reps, _ = pool
    vip = RoutingRule.objects.create(name="VIP", order=1, bands="A", action=RuleAction.ASSIGN_REP, rep=reps[2])
    decision = lead_route(lead_id=make_lead(band="A").pk).decision
    assert decision.rule == vip and decision.rep == reps[2]
    assert [r["name"] for r in decision.explanation["rules"]] == ["VIP"]
    other = lead_route(lead_id=make_lead(band="B").pk).decision
    assert [r["matched"] for r in other.explanation["rules"]] == [False, True]


def test_queue_action_puts_low_scores_in_nurture(pool):
    RoutingRule.objects.create(name="Nurture", order=1, stages="new, engaged", action=RuleAction.QUEUE,
                               queue="nurture")
    lead = make_lead(stage="engaged")
    lead_route(lead_id=lead.pk)
    lead.refresh_from_db()
    assert lead.queue == "nurture" and lead.owner is None


def test_routing_an_owned_lead_again_does_nothing(pool):
    lead = make_lead()
    lead_route(lead_id=lead.pk)
    assert lead_route(lead_id=lead.pk).action == "noop"
    assert RoutingDecision.objects.filter(lead=lead).count() == 1


def test_account_owner_wins_under_account_strategy(pool):
    _, reps, rule = pool
    rule.strategy = Strategy.ACCOUNT
    rule.save()
    account = Account.objects.create(name="Acme", domain="acme.example", owner=reps[3].user)
    decision = lead_route(lead_id=make_lead(account=account).pk).decision
    assert decision.rep == reps[3]


def test_skills_strategy_prefers_reps_with_the_industry(pool):
    _, reps, rule = pool
    rule.strategy = Strategy.SKILLS
    rule.save()
    reps[2].skills = "healthcare, retail"
    reps[2].save()
    decisions = [lead_route(lead_id=make_lead(industry="Healthcare").pk).decision for _ in range(3)]
    assert {d.rep for d in decisions} == {reps[2]}


def test_dry_run_decides_without_writing(pool):
    lead = make_lead()
    outcome = lead_route(lead_id=lead.pk, dry_run=True)
    lead.refresh_from_db()
    assert outcome.action == "dry_run" and outcome.decision.rep is not None
    assert lead.owner is None and not RoutingDecision.objects.exists()


def test_follow_up_task_gets_its_sla_and_is_created_once(pool):
    SlaPolicy.objects.create(band="B", minutes=240)
    lead = make_lead()
    decision = lead_route(lead_id=lead.pk).decision
    first = task_create_for_decision(decision_id=decision.pk)
    second = task_create_for_decision(decision_id=decision.pk)
    assert first == second and Task.objects.count() == 1
    # 240 working minutes of the rep (a Friday evening's run ends on Monday): the policy's minutes, on the rep's clock.
    expected = due_at_for(minutes=240, rep=decision.rep, now=first.created_at)
    assert abs((first.due_at - expected).total_seconds()) < 5
    assert first.due_at - first.created_at >= timedelta(minutes=239)
