"""Set-based rescoring and the daily decay: same numbers as the per-lead path, history, triggers, idempotency."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from leads.models import Lead, LeadEvent
from revops.base.choices import Workflow
from revops.base.switches import workflow_switch_set
from scoring.choices import DecayMode, TriggerKind
from scoring.jobs import scores_decay_job
from scoring.models import ScoreChange, ScoreTrigger, ScoringModel, ScoringRule
from scoring.services import lead_score, leads_decay, leads_rescore_bulk
from scoring.services.bulk import BulkSummary, _Changes, _write
from scoring.signals import lead_scored, lead_triggered

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FIT = dict(employees=200, seniority="vp", industry="Technology", country="US")  # 35 fit points in the fixture


def make_lead(email: str, **fields) -> Lead:
    return Lead.objects.create(email=email, **{**FIT, **fields})


def add_event(lead: Lead, kind: str, at: datetime, **props) -> None:
    LeadEvent.objects.create(lead=lead, type=kind, occurred_at=at, properties=props)


@pytest.fixture
def received():
    """Every lead_scored and lead_triggered sent during the test."""
    seen = {"scored": [], "triggered": []}

    def on_scored(sender, **kwargs):
        seen["scored"].append(kwargs)

    def on_triggered(sender, **kwargs):
        seen["triggered"].append(kwargs)

    lead_scored.connect(on_scored, weak=False)
    lead_triggered.connect(on_triggered, weak=False)
    yield seen
    lead_scored.disconnect(on_scored)
    lead_triggered.disconnect(on_triggered)


@pytest.mark.parametrize("mode", [DecayMode.HALF_LIFE, DecayMode.LINEAR, DecayMode.STEP])
def test_set_based_rescoring_agrees_with_per_lead_scoring_so_it_changes_nothing(scoring_model, mode):
    ScoringModel.objects.filter(pk=scoring_model.pk).update(decay_mode=mode, decay_rate=2 if mode == "linear" else 20,
                                                            decay_step_days=10)
    ScoringRule.objects.create(model=scoring_model, kind="engagement", dimension="behaviour", reason_code="streak",
                               label="3 visits in 48 h", event_type="page_view", points=15, frequency_count=3,
                               frequency_hours=48)
    ScoringRule.objects.create(model=scoring_model, kind="engagement", dimension="behaviour", reason_code="vip",
                               label="VIP open", event_type="email_open", property_key="vip", property_operator="in",
                               property_value="true, 1.5, {'tier': 1}", points=3)
    ScoringRule.objects.create(model=scoring_model, kind="fit", dimension="other", reason_code="plan", label="Plan",
                               field="custom:plan", operator="in", value="enterprise, true, 1.0", points=4)
    rng = random.Random(3)
    leads = []
    for i in range(40):
        lead = make_lead(f"p{i}@x.example", employees=rng.choice([None, 10, 200]), seniority=rng.choice(["", "vp"]),
                         consent=rng.choice(["unknown", "opt_out", "opt_in"]),
                         custom=rng.choice([{}, {"plan": "enterprise"}, {"plan": True}, {"plan": 1}, {"plan": 1.0},
                                            {"plan": None}, {"plan": ["enterprise"]}]))
        for _ in range(rng.choice([0, 2, 5, 12])):
            add_event(lead, rng.choice(["page_view", "email_open", "demo_request", "unsubscribe"]),
                      NOW - timedelta(hours=rng.uniform(0, 24 * 90)),
                      url=rng.choice(["https://a.example/pricing", "https://a.example/blog", None, 42]),
                      vip=rng.choice([True, False, "true", 1, 1.5, None, {"tier": 1}, [1]]))
        leads.append(lead)
    for lead in leads:
        lead_score(lead_id=lead.pk, cause="events", now=NOW)
    changes = ScoreChange.objects.count()

    summary = leads_rescore_bulk(cause="rescore", now=NOW)

    assert summary.considered == 40
    assert summary.changed == 0, summary
    assert ScoreChange.objects.filter(reasons__icontains="plan").exists()  # the custom rule did match some leads
    assert ScoreChange.objects.count() == changes


def test_daily_decay_moves_an_aging_mql_down_with_its_history_log_trigger_and_signal(
    scoring_model, received, django_capture_on_commit_callbacks
):
    lead = make_lead("aging@x.example")
    add_event(lead, "demo_request", NOW - timedelta(hours=1))
    lead_score(lead_id=lead.pk, cause="events", now=NOW)
    lead.refresh_from_db()
    assert (lead.score, lead.stage) == (65, "mql")
    received["scored"].clear()

    later = NOW + timedelta(days=90)  # half-life 30 days: 30 points → 4
    with django_capture_on_commit_callbacks(execute=True):
        summary = leads_decay(now=later)

    lead.refresh_from_db()
    assert (lead.score, lead.engagement_score, lead.stage) == (39, 4, "engaged")
    assert summary.changed == 1 and summary.stage_changes == 1 and summary.stages == {"mql→engaged": 1}
    log = ScoreChange.objects.filter(lead=lead).first()
    assert (log.cause, log.old_score, log.new_score, log.delta, log.old_stage, log.new_stage) == (
        "decay", 65, 39, -26, "mql", "engaged")
    assert lead.history.first().history_change_reason.startswith("automation:scoring (decay) 65 → 39 (-26), stage mql")
    assert ScoreTrigger.objects.filter(lead=lead, kind=TriggerKind.MQL_DOWN).count() == 1
    assert {"lead_id": lead.pk, "kind": "mql_down"}.items() <= received["triggered"][-1].items()
    assert received["scored"] == [dict(lead_id=lead.pk, changed=True, old_stage="mql", new_stage="engaged",
                                       old_score=65, new_score=39, signal=lead_scored)]


def test_decay_run_twice_at_the_same_moment_writes_nothing_the_second_time(scoring_model):
    for i in range(5):
        lead = make_lead(f"twice{i}@x.example")
        add_event(lead, "demo_request", NOW - timedelta(days=i * 10))
        add_event(lead, "email_open", NOW - timedelta(days=i))
        lead_score(lead_id=lead.pk, cause="events", now=NOW)
    first = leads_decay(now=NOW + timedelta(days=45))
    rows = (ScoreChange.objects.count(), ScoreTrigger.objects.count(), Lead.history.count())

    second = leads_decay(now=NOW + timedelta(days=45))

    assert first.changed == 5 and second.changed == 0 and second.stage_changes == 0
    assert (ScoreChange.objects.count(), ScoreTrigger.objects.count(), Lead.history.count()) == rows


def test_a_score_only_decay_writes_a_score_change_row_but_no_lead_history_row(scoring_model):
    lead = make_lead("quiet@x.example")
    add_event(lead, "email_open", NOW - timedelta(days=1))
    add_event(lead, "email_open", NOW - timedelta(days=2))
    lead_score(lead_id=lead.pk, cause="events", now=NOW)
    history = lead.history.count()

    leads_decay(now=NOW + timedelta(days=35))

    lead.refresh_from_db()
    assert lead.engagement_score == 0 and lead.stage == "new"  # both opens left the 30-day window
    assert ScoreChange.objects.filter(lead=lead, cause="decay").count() == 1
    assert lead.history.count() == history + 1  # engaged → new is a stage change: history written
    lead2 = make_lead("quiet2@x.example")
    for days in (1, 2, 3):
        add_event(lead2, "demo_request", NOW - timedelta(days=days))
    lead_score(lead_id=lead2.pk, cause="events", now=NOW)
    history2 = lead2.history.count()
    leads_decay(now=NOW + timedelta(days=5))
    lead2.refresh_from_db()
    assert lead2.stage == "sql" and ScoreChange.objects.filter(lead=lead2, cause="decay").count() == 1
    assert lead2.history.count() == history2  # score-only change: the ScoreChange row is the audit record


def test_a_lead_scored_by_someone_else_meanwhile_is_left_to_them(scoring_model):
    lead = make_lead("race@x.example")
    lead_score(lead_id=lead.pk, cause="ingest", now=NOW)
    stale = datetime(2020, 1, 1, tzinfo=UTC)  # what the set-based run read; the lead was rescored since
    changes = _Changes(updates=[(lead.pk, stale, 0, 0, 1, "D", "new", "[]", None)])
    summary = BulkSummary(cause="decay")

    _write(changes, "decay", NOW, summary)

    lead.refresh_from_db()
    assert lead.score == 35 and summary.changed == 0 and summary.skipped_concurrent == 1


def test_decay_job_does_nothing_when_its_kill_switch_is_off(scoring_model):
    lead = make_lead("switch@x.example")
    add_event(lead, "demo_request", datetime.now(UTC) - timedelta(days=200))
    Lead.objects.filter(pk=lead.pk).update(score=65, engagement_score=30, stage="mql")
    workflow_switch_set(workflow=Workflow.DECAY, enabled=False, note="test")

    assert scores_decay_job() == "skipped"

    lead.refresh_from_db()
    assert lead.score == 65 and not ScoreChange.objects.exists()


def test_rescore_leads_command_applies_a_rule_change_to_every_lead(scoring_model, capsys):
    leads = [make_lead(f"cmd{i}@x.example") for i in range(3)]
    for lead in leads:
        lead_score(lead_id=lead.pk, cause="ingest")
    ScoringRule.objects.filter(reason_code="vp_or_above").update(points=5)

    call_command("rescore_leads", "--all")

    assert set(Lead.objects.values_list("score", flat=True)) == {25}
    assert "3 changed" in capsys.readouterr().out
    call_command("rescore_leads", "--all")
    assert "0 changed" in capsys.readouterr().out


def test_apply_decay_command_runs_the_daily_decay_now(scoring_model, capsys):
    lead = make_lead("cmd-decay@x.example")
    add_event(lead, "demo_request", datetime.now(UTC) - timedelta(days=120))
    Lead.objects.filter(pk=lead.pk).update(score=65, fit_score=35, engagement_score=30, stage="mql", band="B")

    call_command("apply_decay")

    lead.refresh_from_db()
    assert lead.stage == "engaged" and lead.engagement_score == 2
    assert "1 changed" in capsys.readouterr().out


def test_rescore_leads_takes_the_unscored_and_those_scored_before_the_newest_activation(scoring_model, capsys):
    from scoring.services import scoring_model_activate, scoring_model_new_version

    old = make_lead("old@x.example")
    lead_score(lead_id=old.pk, cause="ingest")
    draft = scoring_model_new_version(model_id=scoring_model.pk)
    ScoringRule.objects.filter(model=draft, reason_code="vp_or_above").update(points=5)
    scoring_model_activate(model_id=draft.pk)  # its own rescoring job is queued, not run here
    unscored = make_lead("new@x.example")
    fresh = make_lead("fresh@x.example")
    lead_score(lead_id=fresh.pk, cause="ingest")

    call_command("rescore_leads")

    assert "2 leads scored, 2 changed" in capsys.readouterr().out
    assert {x.score for x in Lead.objects.filter(pk__in=[old.pk, unscored.pk, fresh.pk])} == {25}
