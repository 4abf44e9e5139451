"""Triggers: threshold crossings, hot, cold and high intent; once per lead and period; lead_triggered."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from leads.models import Lead, LeadEvent
from revops.base.choices import Workflow
from revops.base.switches import workflow_switch_set
from scoring.choices import TriggerKind
from scoring.jobs import scores_cold_check_job
from scoring.models import ScoreChange, ScoreTrigger, ScoringRule
from scoring.services import crossings, lead_score, leads_cold_check
from scoring.signals import lead_triggered

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def lead_with_fit(email: str = "t@x.example", **fields) -> Lead:
    return Lead.objects.create(email=email, **{"employees": 200, "seniority": "vp", "industry": "Technology",
                                               "country": "US", **fields})


def event(lead: Lead, kind: str, at: datetime, **props) -> None:
    LeadEvent.objects.create(lead=lead, type=kind, occurred_at=at, properties=props)


def kinds(lead: Lead) -> list[str]:
    return sorted(ScoreTrigger.objects.filter(lead=lead).values_list("kind", flat=True))


@pytest.fixture
def announced():
    seen = []

    def receiver(sender, **kwargs):
        seen.append((kwargs["lead_id"], kwargs["kind"]))

    lead_triggered.connect(receiver, weak=False)
    yield seen
    lead_triggered.disconnect(receiver)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("engaged", "mql", ["mql_up"]),
    ("new", "sql", ["mql_up", "sql_up"]),
    ("mql", "sql", ["sql_up"]),
    ("sql", "mql", ["sql_down"]),
    ("sql", "engaged", ["sql_down", "mql_down"]),
    ("mql", "suppressed", []),
    ("opportunity", "opportunity", []),
])
def test_crossings_of_a_stage_change(old, new, expected):
    assert crossings(old, new) == expected


def test_crossing_mql_fires_once_a_day_and_is_announced_after_commit(scoring_model, announced,
                                                                     django_capture_on_commit_callbacks):
    lead = lead_with_fit()
    lead_score(lead_id=lead.pk, cause="ingest", now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        event(lead, "page_view", NOW - timedelta(hours=1), url="/pricing")
        lead_score(lead_id=lead.pk, cause="events", now=NOW)  # 35 + 10 = 45 ≥ 40
    assert kinds(lead) == ["mql_up"] and announced == [(lead.pk, "mql_up")]
    trigger = ScoreTrigger.objects.get(lead=lead)
    assert trigger.period_key == "2026-11-23" and trigger.detail["new_stage"] == "mql"

    LeadEvent.objects.filter(lead=lead).delete()  # back below MQL, then up again the same day
    lead_score(lead_id=lead.pk, cause="events", now=NOW + timedelta(hours=1))
    event(lead, "page_view", NOW + timedelta(hours=1), url="/pricing")
    lead_score(lead_id=lead.pk, cause="events", now=NOW + timedelta(hours=2))
    assert kinds(lead) == ["mql_down", "mql_up"]

    LeadEvent.objects.filter(lead=lead).delete()
    lead_score(lead_id=lead.pk, cause="events", now=NOW + timedelta(days=1))
    event(lead, "page_view", NOW + timedelta(days=1), url="/pricing")
    lead_score(lead_id=lead.pk, cause="events", now=NOW + timedelta(days=1, hours=1))
    assert kinds(lead) == ["mql_down", "mql_down", "mql_up", "mql_up"]  # a new day, a new period


def test_a_second_trigger_of_the_same_period_is_refused_by_the_database(scoring_model):
    lead = lead_with_fit()
    ScoreTrigger.objects.create(lead=lead, kind=TriggerKind.HOT, period_key="2026-11-23", fired_at=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        ScoreTrigger.objects.create(lead=lead, kind=TriggerKind.HOT, period_key="2026-11-23", fired_at=NOW)


def test_hot_fires_when_events_add_enough_points_within_the_window_once_a_day(scoring_model):
    lead = lead_with_fit()
    lead_score(lead_id=lead.pk, cause="ingest", now=NOW - timedelta(hours=5))  # 35 fit points: not "gained"
    event(lead, "page_view", NOW - timedelta(hours=3), url="/pricing")
    lead_score(lead_id=lead.pk, cause="events", now=NOW - timedelta(hours=3))  # +10
    assert TriggerKind.HOT not in kinds(lead)

    event(lead, "page_view", NOW - timedelta(hours=1), url="/pricing")
    lead_score(lead_id=lead.pk, cause="events", now=NOW - timedelta(hours=1))  # +10: 20 within 24 h

    trigger = ScoreTrigger.objects.get(lead=lead, kind=TriggerKind.HOT)
    assert trigger.detail["gained"] == 20 and trigger.detail["window_hours"] == 24
    event(lead, "demo_request", NOW)
    lead_score(lead_id=lead.pk, cause="events", now=NOW)
    assert kinds(lead).count(TriggerKind.HOT) == 1


def test_points_gained_outside_the_hot_window_do_not_make_a_lead_hot(scoring_model):
    lead = lead_with_fit()
    event(lead, "page_view", NOW - timedelta(hours=30), url="/pricing")
    lead_score(lead_id=lead.pk, cause="events", now=NOW - timedelta(hours=30))
    event(lead, "page_view", NOW, url="/pricing")
    lead_score(lead_id=lead.pk, cause="events", now=NOW)
    assert ScoreChange.objects.filter(lead=lead).count() == 2
    assert TriggerKind.HOT not in kinds(lead)


def test_an_opted_out_lead_is_never_hot(scoring_model):
    lead = lead_with_fit(consent="opt_out")
    for hours in (2, 1):
        event(lead, "demo_request", NOW - timedelta(hours=hours))
        lead_score(lead_id=lead.pk, cause="events", now=NOW - timedelta(hours=hours - 1))
    assert kinds(lead) == []


def test_an_intent_streak_fires_high_intent_once_and_an_old_streak_never(scoring_model):
    ScoringRule.objects.create(model=scoring_model, kind="engagement", dimension="behaviour", reason_code="streak",
                               label="3 pricing visits in 48 h", event_type="page_view", property_key="url",
                               property_operator="contains", property_value="/pricing", points=15,
                               frequency_count=3, frequency_hours=48, intent=True)
    scoring_model.save()
    lead = lead_with_fit()
    for hours in (30, 20, 2):
        event(lead, "page_view", NOW - timedelta(hours=hours), url="https://a.example/pricing")

    lead_score(lead_id=lead.pk, cause="events", now=NOW)
    lead_score(lead_id=lead.pk, cause="rescore", now=NOW + timedelta(hours=3))

    trigger = ScoreTrigger.objects.get(lead=lead, kind=TriggerKind.HIGH_INTENT)
    assert trigger.period_key == "streak:2026-11-23" and trigger.detail["rule"] == "streak"
    old = lead_with_fit("old@x.example")
    for days in (12, 11.5, 11):
        event(old, "page_view", NOW - timedelta(days=days), url="https://a.example/pricing")
    lead_score(lead_id=old.pk, cause="events", now=NOW)
    assert TriggerKind.HIGH_INTENT not in kinds(old)


def test_an_intent_flag_needs_a_frequency_rule(scoring_model):
    from django.core.exceptions import ValidationError

    rule = ScoringRule(model=scoring_model, kind="engagement", dimension="behaviour", reason_code="x", label="x",
                       event_type="page_view", points=1, intent=True)
    with pytest.raises(ValidationError, match="frequency"):
        rule.full_clean()


def test_cold_fires_for_leads_that_gained_too_little_once_per_cold_spell(scoring_model, announced,
                                                                         django_capture_on_commit_callbacks):
    quiet = lead_with_fit("quiet@x.example")
    busy = lead_with_fit("busy@x.example")
    young = lead_with_fit("young@x.example")
    Lead.objects.filter(pk__in=[quiet.pk, busy.pk]).update(created_at=NOW - timedelta(days=200),
                                                          last_interaction_at=NOW - timedelta(days=120))
    for lead in (quiet, busy, young):
        lead_score(lead_id=lead.pk, cause="ingest", now=NOW - timedelta(days=100))
    ScoreChange.objects.create(lead=busy, at=NOW - timedelta(days=3), cause="events", old_score=35, new_score=45,
                               delta=10)

    with django_capture_on_commit_callbacks(execute=True):
        summary = leads_cold_check(now=NOW)

    assert kinds(quiet) == ["cold"] and kinds(busy) == [] and kinds(young) == []
    assert announced == [(quiet.pk, "cold")] and "1 newly cold" in summary
    trigger = ScoreTrigger.objects.get(lead=quiet)
    assert trigger.period_key == f"since:{(NOW - timedelta(days=120)).date().isoformat()}"
    assert "0 newly cold" in leads_cold_check(now=NOW + timedelta(days=1))  # the same spell

    Lead.objects.filter(pk=quiet.pk).update(last_interaction_at=NOW + timedelta(days=2))  # came back, cooled again
    leads_cold_check(now=NOW + timedelta(days=100))
    assert kinds(quiet) == ["cold", "cold"]


def test_cold_check_job_respects_the_scoring_kill_switch(scoring_model):
    workflow_switch_set(workflow=Workflow.SCORING, enabled=False)
    assert scores_cold_check_job() == "skipped"
