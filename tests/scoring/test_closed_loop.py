"""The closed loop: training on closed leads, refusal, activation, predictions at scoring time, feedback, rollback."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from leads.models import Lead, LeadEvent
from scoring.choices import FeedbackReason, PredictiveStatus
from scoring.jobs import predictive_retrain_job
from scoring.models import PredictiveModel, ScoreFeedback
from scoring.services import (
    PredictiveError,
    lead_score,
    leads_rescore_bulk,
    predictive_activate,
    predictive_rollback,
    predictive_train,
    score_feedback_create,
    training_set,
)
from tests.synthetic.scoring import closed_leads


def open_lead(email: str = "open@x.example") -> Lead:
    lead = Lead.objects.create(email=email, employees=300, seniority="vp", industry="Technology", country="US",
                               source="referral", custom={"plan_interest": "enterprise"})
    now = datetime.now(UTC)
    for days in (1, 2, 3):
        LeadEvent.objects.create(lead=lead, type="page_view", occurred_at=now - timedelta(days=days),
                                 properties={"url": "https://a.example/pricing"})
    return lead


@pytest.fixture
def history(db):
    """600 closed leads (won and lost, with the events that led there)."""
    closed_leads(600, seed=2)


def test_training_on_too_few_closed_leads_is_refused_and_the_reason_is_kept(scoring_model):
    closed_leads(40, seed=1)

    row = predictive_train(activate=True)

    assert row.status == PredictiveStatus.REFUSED and row.training_size == 40
    assert "needs at least 200 closed leads" in row.refusal_reason
    assert not PredictiveModel.objects.filter(status=PredictiveStatus.ACTIVE).exists()
    with pytest.raises(PredictiveError, match="no trained model"):
        predictive_activate(model_id=row.pk)


def test_training_rows_are_taken_as_of_the_close_so_later_events_do_not_leak(scoring_model):
    closed_leads(5, seed=3)
    lead = Lead.objects.filter(outcome__in=["won", "lost"]).order_by("id").first()
    before = training_set().rows[0]
    LeadEvent.objects.create(lead=lead, type="demo_request", occurred_at=lead.closed_at + timedelta(days=1))

    after = training_set().rows[0]

    assert after == before and after["events_30d:demo_request"] == before["events_30d:demo_request"]
    assert {"country", "employees", "events_90d:page_view", "days_since_last_event"} <= set(after)


def test_an_activated_model_fills_probability_and_reasons_without_moving_the_score_at_weight_zero(
    scoring_model, history, inline_jobs, django_capture_on_commit_callbacks
):
    lead = open_lead()
    before = lead_score(lead_id=lead.pk, cause="ingest")

    with django_capture_on_commit_callbacks(execute=True):
        row = predictive_train(activate=True)

    assert row.status == PredictiveStatus.ACTIVE and row.activated_at is not None
    assert row.metrics["auc"] > 0.65 and len(row.metrics["lift_by_decile"]) == 10
    assert row.metrics["lift_by_decile"][0] > 1.3 and row.training_size == 600
    lead.refresh_from_db()
    assert 0 < lead.predicted_probability < 1
    assert lead.score == before.score
    predictive = [r for r in lead.score_reasons if r["kind"] == "predictive"]
    assert len(predictive) == 3 and all("log_odds" in r for r in predictive)


def test_the_predictive_weight_adds_points_times_the_probability(scoring_model, history, inline_jobs,
                                                                 django_capture_on_commit_callbacks):
    lead = open_lead()
    fit_and_engagement = lead_score(lead_id=lead.pk, cause="ingest").score
    with django_capture_on_commit_callbacks(execute=True):
        predictive_train(activate=True)
    scoring_model.predictive_weight = 40
    scoring_model.save()

    result = lead_score(lead_id=lead.pk, cause="rescore")

    assert result.score == fit_and_engagement + round(40 * result.probability)
    assert any(r["code"] == "predicted_win" and r["points"] == result.predictive_points for r in result.reasons)


def test_per_lead_and_set_based_predictions_agree(scoring_model, history, inline_jobs,
                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        predictive_train(activate=True)
    leads = [open_lead(f"agree{i}@x.example") for i in range(3)]
    now = datetime.now(UTC)
    for lead in leads:
        lead_score(lead_id=lead.pk, cause="ingest", now=now)

    summary = leads_rescore_bulk(cause="rescore", queryset=Lead.objects.filter(pk__in=[x.pk for x in leads]), now=now)

    assert summary.considered == 3 and summary.changed == 0


def test_feedback_is_consumed_by_the_next_training_and_wrong_data_leads_are_left_out(scoring_model, history,
                                                                                    revops_admin):
    flagged = Lead.objects.filter(outcome="won").first()
    score_feedback_create(lead_id=flagged.pk, user=revops_admin, reason=FeedbackReason.WRONG_DATA,
                          comment="the company is a reseller")
    too_high = score_feedback_create(lead_id=open_lead().pk, user=revops_admin, reason=FeedbackReason.TOO_HIGH)

    row = predictive_train()

    assert row.training_size == 599 and row.metrics["excluded_wrong_data"] == 1
    assert row.metrics["feedback"]["too_high"] == 1
    assert set(ScoreFeedback.objects.values_list("consumed_by", flat=True)) == {row.pk}
    too_high.refresh_from_db()
    assert too_high.consumed_by == row and too_high.user == revops_admin
    assert predictive_train().metrics["feedback"]["too_high"] == 0  # read once


def test_rollback_brings_back_the_previous_predictive_model(scoring_model, history):
    first = predictive_train(activate=True)
    second = predictive_train(activate=True)
    first.refresh_from_db()
    assert (first.status, second.status) == (PredictiveStatus.RETIRED, PredictiveStatus.ACTIVE)

    back = predictive_rollback(segment=None)

    second.refresh_from_db()
    assert back.pk == first.pk and back.status == PredictiveStatus.ACTIVE and second.status == "retired"
    assert "rollback" in back.history.first().history_change_reason


def test_rolling_back_the_only_predictive_model_switches_prediction_off(scoring_model, history):
    only = predictive_train(activate=True)

    assert predictive_rollback(segment=None) is None

    only.refresh_from_db()
    assert only.status == PredictiveStatus.RETIRED
    assert not PredictiveModel.objects.filter(status=PredictiveStatus.ACTIVE).exists()
    assert predictive_rollback(segment=None).pk == only.pk  # rolling back again undoes the switch-off


def test_train_command_prints_auc_lift_and_size(scoring_model, history, capsys):
    call_command("train_scoring_model")

    out = capsys.readouterr().out
    assert "600 closed leads" in out and "AUC 0." in out and "lift by decile" in out and "1:" in out
    assert "draft" in out


def test_train_command_says_why_it_refused(scoring_model, capsys):
    closed_leads(20, seed=5)

    call_command("train_scoring_model", "--activate")

    assert "REFUSED: needs at least 200 closed leads" in capsys.readouterr().out


def test_scheduled_retraining_replaces_the_live_model_when_it_is_not_worse(scoring_model, history):
    live = predictive_train(activate=True)

    result = predictive_retrain_job()

    live.refresh_from_db()
    newest = PredictiveModel.objects.order_by("-version").first()
    assert newest.version == live.version + 1
    assert newest.status == PredictiveStatus.ACTIVE and live.status == PredictiveStatus.RETIRED
    assert f"v{newest.version} active" in result
