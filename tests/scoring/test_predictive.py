"""Behavioural tests for closed-loop predictive lead scoring (``scoring.predictive``).

Training is the slow part, so models are trained once per module on a few thousand synthetic leads and shared.
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from scoring.predictive import (
    ALGORITHMS,
    FEATURE_VERSION,
    SELECTION_MARGIN,
    ModelMetrics,
    ModelVersionError,
    Prediction,
    TrainedModel,
    TrainingRefused,
    artefact,
    predict,
    predict_proba,
    train_model,
)
from tests.synthetic.scoring import synthetic_closed_leads

PLANTED = "pricing_visits_30d"


@pytest.fixture(scope="module")
def training_data() -> tuple[list[dict], list[bool]]:
    """Closed leads the shared models are trained on."""
    return synthetic_closed_leads(4000, seed=1)


@pytest.fixture(scope="module")
def fresh_leads() -> tuple[list[dict], list[bool]]:
    """Leads from the same process the models never saw, with their eventual outcomes."""
    return synthetic_closed_leads(6000, seed=2)


@pytest.fixture(scope="module")
def model(training_data: tuple[list[dict], list[bool]]) -> TrainedModel:
    """The model as the app would train it (both candidates, default settings)."""
    rows, outcomes = training_data
    return train_model(rows, outcomes)


@pytest.fixture(scope="module")
def boosted_model(training_data: tuple[list[dict], list[bool]]) -> TrainedModel:
    """A gradient-boosting model, to exercise the surrogate explanation path whatever the selection picks."""
    rows, outcomes = training_data
    return train_model(rows, outcomes, candidates=["gradient_boosting"])


def test_refuses_too_few_closed_leads_and_says_why() -> None:
    rows, outcomes = synthetic_closed_leads(57, seed=3)
    with pytest.raises(TrainingRefused) as refused:
        train_model(rows, outcomes)
    won = sum(outcomes)
    assert refused.value.reason == (
        f"needs at least 200 closed leads with both outcomes; has 57 ({won} won, {57 - won} lost)"
    )
    assert str(refused.value) == refused.value.reason


def test_refuses_a_single_outcome_and_says_why() -> None:
    rows, _ = synthetic_closed_leads(300, seed=3)
    with pytest.raises(TrainingRefused) as refused:
        train_model(rows, [False] * 300)
    assert "0 won, 300 lost" in refused.value.reason
    assert "at least 30 won and 30 lost" in refused.value.reason


def test_refuses_too_few_of_one_outcome_even_with_enough_rows() -> None:
    rows, _ = synthetic_closed_leads(300, seed=3)
    outcomes = [i < 10 for i in range(300)]
    with pytest.raises(TrainingRefused, match=r"has 300 \(10 won, 290 lost\)"):
        train_model(rows, outcomes)


def test_auc_on_synthetic_data_is_well_above_chance(model: TrainedModel, fresh_leads: tuple) -> None:
    rows, outcomes = fresh_leads
    assert model.metrics.auc > 0.7
    assert roc_auc_score(outcomes, predict_proba(model, rows)) > 0.7


def test_chooses_between_the_two_algorithms_and_reports_both_cv_aucs(model: TrainedModel) -> None:
    cv_auc = model.metrics.cv_auc
    assert set(cv_auc) == set(ALGORITHMS) == {"logistic_regression", "gradient_boosting"}
    assert all(0.5 < auc <= 1.0 for auc in cv_auc.values())
    assert model.algorithm == model.metrics.algorithm
    other = next(name for name in ALGORITHMS if name != model.algorithm)
    if model.algorithm == "gradient_boosting":
        assert cv_auc["gradient_boosting"] > cv_auc["logistic_regression"] + SELECTION_MARGIN
    else:
        assert cv_auc["logistic_regression"] >= cv_auc[other] - SELECTION_MARGIN


def test_probabilities_are_within_unit_interval_and_calibrated(model: TrainedModel, fresh_leads: tuple) -> None:
    rows, outcomes = fresh_leads
    probabilities = predict_proba(model, rows)
    assert probabilities.shape == (len(rows),)
    assert np.all((probabilities >= 0.0) & (probabilities <= 1.0))
    observed = np.asarray(outcomes, dtype=float)
    # Overall rate and every well-populated decile of predictions track what actually happened.
    assert abs(probabilities.mean() - observed.mean()) < 0.03
    order = np.argsort(probabilities)
    for chunk in np.array_split(order, 10):
        assert abs(probabilities[chunk].mean() - observed[chunk].mean()) < 0.08
    # The stored reliability table says the same for the out-of-fold predictions.
    bins = model.metrics.calibration
    assert sum(b["count"] for b in bins) == model.metrics.training_size
    for b in bins:
        assert set(b) >= {"mean_predicted", "observed_rate", "count"}
        if b["count"] >= 200:
            assert abs(b["mean_predicted"] - b["observed_rate"]) < 0.08
    assert 0.0 < model.metrics.brier < 0.2


def test_top_decile_lift_is_above_one_and_a_half(model: TrainedModel) -> None:
    lift = model.metrics.lift_by_decile
    assert len(lift) == 10
    assert lift[0] > 1.5
    assert lift[0] > lift[-1]
    assert np.mean(lift) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("which", ["model", "boosted_model"])
def test_reasons_name_the_planted_feature(which: str, request: pytest.FixtureRequest, fresh_leads: tuple) -> None:
    trained: TrainedModel = request.getfixturevalue(which)
    rows, _ = fresh_leads
    keen = [row for row in rows if row[PLANTED] >= 4][:50]
    assert len(keen) >= 20
    predictions = predict(trained, keen, top_n=3)
    assert all(len(p.reasons) == 3 for p in predictions)
    named = [dict(p.reasons).get(PLANTED) for p in predictions]
    assert sum(c is not None and c > 0 for c in named) >= 0.9 * len(keen)
    # Leads that never looked at pricing are held back by it (negative contribution) when it is a reason at all.
    cold = predict(trained, [row for row in rows if row[PLANTED] == 0][:50], top_n=5)
    assert all(dict(p.reasons).get(PLANTED, -1.0) < 0 for p in cold)


def test_reasons_are_labelled_with_the_leads_own_values(model: TrainedModel, fresh_leads: tuple) -> None:
    rows, _ = fresh_leads
    predictions = predict(model, rows[:200], top_n=30)
    labels = {label for p in predictions for label, _ in p.reasons}
    assert any(label.startswith("industry=") for label in labels)
    assert PLANTED in labels
    for prediction in predictions:
        magnitudes = [abs(c) for _, c in prediction.reasons]
        assert magnitudes == sorted(magnitudes, reverse=True)
    assert isinstance(predictions[0], Prediction)


def test_predict_matches_predict_proba_and_the_pipeline(model: TrainedModel, fresh_leads: tuple) -> None:
    rows, _ = fresh_leads
    batch = predict_proba(model, rows[:500])
    assert [p.probability for p in predict(model, rows[:500])] == pytest.approx(batch.tolist())
    assert model.pipeline.predict_proba(rows[:500])[:, 1] == pytest.approx(batch)
    assert predict(model, []) == []
    assert predict_proba(model, []).shape == (0,)


def test_round_trip_to_bytes_and_back_predicts_the_same(model: TrainedModel, fresh_leads: tuple) -> None:
    rows, _ = fresh_leads
    data = model.to_bytes()
    assert isinstance(data, bytes)
    restored = TrainedModel.from_bytes(data)
    assert restored.algorithm == model.algorithm
    assert restored.metrics == model.metrics
    assert np.array_equal(predict_proba(restored, rows), predict_proba(model, rows))
    assert predict(restored, rows[:100]) == predict(model, rows[:100])


def test_from_bytes_refuses_another_feature_version(model: TrainedModel, monkeypatch: pytest.MonkeyPatch) -> None:
    data = model.to_bytes()
    monkeypatch.setattr(artefact, "FEATURE_VERSION", FEATURE_VERSION + 1)
    with pytest.raises(ModelVersionError, match=rf"feature version {FEATURE_VERSION}\b.*retrain"):
        TrainedModel.from_bytes(data)


def test_from_bytes_refuses_foreign_bytes() -> None:
    with pytest.raises(ModelVersionError, match="not a Leadflow"):
        TrainedModel.from_bytes(b"definitely not a model")
    with pytest.raises(ModelVersionError, match="not a Leadflow"):
        TrainedModel.from_bytes(pickle.dumps({"feature_version": FEATURE_VERSION}))


def test_unknown_keys_are_ignored_and_missing_keys_are_missing_values(model: TrainedModel, fresh_leads: tuple) -> None:
    rows, _ = fresh_leads
    baseline = predict_proba(model, rows[:300])
    noisy = [{**row, "favourite_colour": "teal", "custom:unseen": 42, "notes": ["a", "b"]} for row in rows[:300]]
    assert np.array_equal(predict_proba(model, noisy), baseline)
    sparse = [{"industry": "Technology"}, {}, {"employees": "not a number", "industry": "Aerospace"}]
    probabilities = predict_proba(model, sparse)
    assert np.all(np.isfinite(probabilities)) and np.all((probabilities >= 0) & (probabilities <= 1))
    reasons = predict(model, sparse, top_n=20)[1].reasons
    assert ("annual_revenue (missing)" in dict(reasons)) or ("industry=(missing)" in dict(reasons))


def test_same_seed_gives_the_same_data_and_the_same_model() -> None:
    rows_a, outcomes_a = synthetic_closed_leads(600, seed=5)
    rows_b, outcomes_b = synthetic_closed_leads(600, seed=5)
    assert rows_a == rows_b and outcomes_a == outcomes_b
    assert synthetic_closed_leads(600, seed=6)[0] != rows_a
    first = train_model(rows_a, outcomes_a, random_state=3)
    second = train_model(rows_b, outcomes_b, random_state=3)
    assert first.metrics.cv_auc == second.metrics.cv_auc
    assert first.metrics.lift_by_decile == second.metrics.lift_by_decile
    assert np.array_equal(predict_proba(first, rows_a), predict_proba(second, rows_a))
    assert predict(first, rows_a[:50]) == predict(second, rows_a[:50])


def test_synthetic_leads_look_like_crm_rows() -> None:
    rows, outcomes = synthetic_closed_leads(2000, seed=0)
    assert len(rows) == len(outcomes) == 2000
    assert 0.1 < np.mean(outcomes) < 0.4
    first = rows[0]
    for key in (
        "country",
        "industry",
        "size_band",
        "employees",
        "seniority",
        "source",
        "annual_revenue",
        "email_opens_30d",
        "pricing_visits_30d",
        "events_90d",
        "days_since_last_event",
        "custom:plan_interest",
    ):
        assert key in first
    assert any(row["annual_revenue"] is None for row in rows)


def test_metrics_are_complete_and_json_serializable(model: TrainedModel, training_data: tuple) -> None:
    rows, outcomes = training_data
    metrics = model.metrics
    assert isinstance(metrics, ModelMetrics)
    assert metrics.training_size == len(rows)
    assert metrics.positives == sum(outcomes)
    assert metrics.features == len(model.vectorizer.get_feature_names_out())
    assert metrics.trained_at.endswith("+00:00")
    payload = json.loads(json.dumps(metrics.to_dict()))
    assert payload["algorithm"] == model.algorithm
    assert len(payload["lift_by_decile"]) == 10
    assert 0.0 < model.explanation_fidelity <= 1.0


def test_rejects_mismatched_inputs_and_unknown_algorithms() -> None:
    rows, outcomes = synthetic_closed_leads(300, seed=4)
    with pytest.raises(ValueError, match="differ in length"):
        train_model(rows, outcomes[:-1])
    with pytest.raises(ValueError, match="unknown algorithm"):
        train_model(rows, outcomes, candidates=["random_forest"])
