"""Training: a calibrated win-probability model from closed leads' rows and outcomes (:func:`train_model`).

* Model selection compares a scaled, L2-regularized logistic regression with ``HistGradientBoostingClassifier`` by
  stratified cross-validated ROC AUC. To keep training on 100k rows well under a minute on two cores, selection
  and the evaluation metrics run on a stratified subsample of at most :data:`SELECTION_MAX_ROWS` rows (AUC on 20k
  rows has a standard error around 0.004, far below the differences that matter here); only the final model is
  fitted on every row.
* Reason codes are signed contributions in log-odds relative to the average training lead, aggregated per input
  field. For logistic regression they are exact (coefficient x standardized value). For gradient boosting they come
  from a ridge surrogate fitted at training time to the boosted model's own log-odds: cheap, deterministic, and
  faithful to the model's global trends (its R^2 is kept as ``explanation_fidelity``), though blind to interactions.
  Contributions are per lead, so the same field can push one lead up and another down.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from .artefact import Explainer, ModelMetrics, TrainedModel
from .threads import single_threaded
from .vectorizer import LeadVectorizer

LOGISTIC_REGRESSION = "logistic_regression"
GRADIENT_BOOSTING = "gradient_boosting"
ALGORITHMS: tuple[str, ...] = (LOGISTIC_REGRESSION, GRADIENT_BOOSTING)

#: Model selection and evaluation metrics use at most this many rows (stratified subsample); see module docstring.
SELECTION_MAX_ROWS = 20_000
#: Gradient boosting must beat logistic regression by this much CV AUC to be chosen: the linear model is cheaper,
#: more stable on small data and its reason codes are exact, so near-ties go to it.
SELECTION_MARGIN = 0.002
#: Isotonic calibration needs plenty of data per calibration fold to not overfit; below this, Platt (sigmoid) scaling.
ISOTONIC_MIN_ROWS = 5_000
ISOTONIC_MIN_PER_CLASS = 500
CALIBRATION_FOLDS = 3
#: Rows used to fit the gradient-boosting explanation surrogate; more adds time without changing the coefficients.
SURROGATE_MAX_ROWS = 50_000
CALIBRATION_BINS = 10


class TrainingRefused(Exception):
    """Raised when the closed-lead history is not enough to train a trustworthy model.

    ``reason`` is a human sentence suitable for showing in the UI as is.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _make_candidate(name: str, random_state: int) -> BaseEstimator:
    """Build an unfitted candidate estimator by algorithm name."""
    if name == LOGISTIC_REGRESSION:
        # Strong L2 (C=0.03 on standardized columns): with a few hundred closed leads and ~60 one-hot columns the
        # default C=1 overfits (CV AUC 0.69 vs 0.71 at 300 leads), while from ~4k leads on the choice is immaterial.
        return Pipeline(
            [
                ("scale", StandardScaler()),
                ("model", LogisticRegression(C=0.03, max_iter=1000)),
            ]
        )
    if name == GRADIENT_BOOSTING:
        # Small trees: lead data is mostly additive effects plus a few interactions, and deep trees chase noise.
        # Early stopping on an internal validation split keeps small histories from overfitting and stops large
        # ones once extra rounds no longer help (~130 rounds on 100k leads). Halving the learning rate was measured
        # to gain nothing in AUC while doubling the rounds, i.e. halving batch scoring throughput.
        return HistGradientBoostingClassifier(
            learning_rate=0.1,
            max_iter=500,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            l2_regularization=1.0,
            early_stopping=True,
            validation_fraction=0.1,
            n_iter_no_change=15,
            random_state=random_state,
        )
    raise ValueError(f"unknown algorithm {name!r}; expected one of {ALGORITHMS}")


def _calibrated(base: BaseEstimator, method: str, random_state: int) -> CalibratedClassifierCV:
    """Wrap a base estimator in cross-fitted calibration with a single refit base model.

    ``ensemble=False`` fits the calibrator on out-of-fold scores and keeps one base model trained on all rows, so
    prediction costs one model evaluation and reason codes describe exactly the model that scores.
    """
    folds = StratifiedKFold(n_splits=CALIBRATION_FOLDS, shuffle=True, random_state=random_state)
    return CalibratedClassifierCV(clone(base), method=method, cv=folds, ensemble=False)


def _refusal(n: int, positives: int, min_samples: int, min_per_class: int) -> str | None:
    """Return why the history is too small to train on, or None when it is enough."""
    negatives = n - positives
    counts = f"has {n} ({positives} won, {negatives} lost)"
    if n < min_samples:
        return f"needs at least {min_samples} closed leads with both outcomes; {counts}"
    if positives < min_per_class or negatives < min_per_class:
        return f"needs at least {min_per_class} won and {min_per_class} lost leads; {counts}"
    return None


def _lift_by_decile(y: np.ndarray, scores: np.ndarray) -> list[float]:
    """Positive rate per score decile divided by the overall rate; decile 1 holds the highest scores."""
    order = np.argsort(-scores, kind="stable")
    base_rate = float(y.mean())
    return [float(y[chunk].mean() / base_rate) if chunk.size else 0.0 for chunk in np.array_split(order, 10)]


def _calibration_bins(y: np.ndarray, probabilities: np.ndarray, bins: int = CALIBRATION_BINS) -> list[dict]:
    """Reliability table over equal-width probability bins; empty bins are omitted."""
    index = np.minimum((probabilities * bins).astype(np.intp), bins - 1)
    table = []
    for b in range(bins):
        mask = index == b
        count = int(mask.sum())
        if count:
            table.append(
                {
                    "bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}",
                    "mean_predicted": float(probabilities[mask].mean()),
                    "observed_rate": float(y[mask].mean()),
                    "count": count,
                }
            )
    return table


def _selection_sample(y: np.ndarray, random_state: int) -> np.ndarray:
    """Indices of the rows used for model selection and metrics: all, or a stratified subsample when large."""
    indices = np.arange(y.size)
    if y.size <= SELECTION_MAX_ROWS:
        return indices
    sample, _ = train_test_split(indices, train_size=SELECTION_MAX_ROWS, stratify=y, random_state=random_state)
    return np.sort(sample)


def _explainer_for(base: BaseEstimator, X: np.ndarray, random_state: int) -> Explainer:
    """Build the reason-code model for a fitted base estimator.

    Logistic regression: its own scaler and coefficients (exact). Gradient boosting: 1) take a subsample of at most
    :data:`SURROGATE_MAX_ROWS` training rows; 2) compute the boosted model's log-odds on them; 3) fit a ridge
    regression on standardized features to those log-odds; 4) record its R^2 as fidelity.
    """
    if isinstance(base, Pipeline):
        scaler: StandardScaler = base.named_steps["scale"]
        model: LogisticRegression = base.named_steps["model"]
        return Explainer(mean=scaler.mean_, scale=scaler.scale_, coef=model.coef_[0].copy(), fidelity=1.0)
    rng = np.random.default_rng(random_state)
    rows = rng.choice(X.shape[0], size=min(SURROGATE_MAX_ROWS, X.shape[0]), replace=False)
    sample = X[np.sort(rows)]
    log_odds = base.decision_function(sample)
    scaler = StandardScaler().fit(sample)
    surrogate = Ridge(alpha=1.0).fit(scaler.transform(sample), log_odds)
    fidelity = float(surrogate.score(scaler.transform(sample), log_odds))
    return Explainer(mean=scaler.mean_, scale=scaler.scale_, coef=surrogate.coef_.copy(), fidelity=fidelity)


def train_model(
    rows: Sequence[Mapping[str, Any]],
    outcomes: Sequence[bool],
    *,
    min_samples: int = 200,
    min_per_class: int = 30,
    cv_folds: int = 5,
    random_state: int = 0,
    candidates: Sequence[str] | None = None,
) -> TrainedModel:
    """Train a calibrated win-probability model on closed leads.

    Steps:

    1. Validate: at least ``min_samples`` rows and ``min_per_class`` of each outcome, else :class:`TrainingRefused`.
    2. Fit :class:`LeadVectorizer` on all rows and vectorize once (vocabularies and medians therefore see every
       row, including the CV validation folds - a negligible leak for lead data, and it saves re-vectorizing).
    3. Take the selection sample (all rows, or a stratified :data:`SELECTION_MAX_ROWS` subsample for speed).
    4. Score each candidate (``candidates``, default :data:`ALGORITHMS`) by mean ROC AUC over ``cv_folds``
       stratified folds of the sample; choose the best, with near-ties (:data:`SELECTION_MARGIN`) going to
       logistic regression.
    5. Pick the calibration method: isotonic with enough data (:data:`ISOTONIC_MIN_ROWS` rows and
       :data:`ISOTONIC_MIN_PER_CLASS` per class), else sigmoid.
    6. Evaluate without refitting: the chosen candidate's out-of-fold scores from step 4, calibrated per fold by a
       calibrator fitted on the other folds (see :func:`_cross_calibrate`), give AUC, lift by decile, calibration
       bins and Brier score.
    7. Fit ``CalibratedClassifierCV`` around the chosen algorithm on all rows (:data:`CALIBRATION_FOLDS`-fold
       cross-fitted calibrator, one base model refit on everything) and build its reason-code explainer.

    All native code runs single-threaded (see :func:`single_threaded`). Cost on 100k rows: ``cv_folds`` x
    candidates fits on the 20k selection sample plus ``CALIBRATION_FOLDS + 1`` fits on all rows.
    """
    if len(rows) != len(outcomes):
        raise ValueError(f"rows and outcomes differ in length ({len(rows)} vs {len(outcomes)})")
    if cv_folds < 2:
        raise ValueError("cv_folds must be at least 2")
    names = tuple(candidates) if candidates is not None else ALGORITHMS
    if not names:
        raise ValueError("at least one candidate algorithm is required")
    for name in names:
        _make_candidate(name, random_state)  # fail fast on typos before any expensive work
    y = np.fromiter((bool(o) for o in outcomes), dtype=bool, count=len(outcomes)).astype(np.int8)
    n, positives = int(y.size), int(y.sum())
    reason = _refusal(n, positives, min_samples, min_per_class)
    if reason is not None:
        raise TrainingRefused(reason)
    # Every fold must hold both outcomes, and the final calibration splits each training set once more.
    minority = min(positives, n - positives)
    folds = max(2, min(cv_folds, minority // (CALIBRATION_FOLDS + 1)))
    method = "isotonic" if n >= ISOTONIC_MIN_ROWS and minority >= ISOTONIC_MIN_PER_CLASS else "sigmoid"

    with single_threaded():
        vectorizer = LeadVectorizer().fit(rows)
        X = vectorizer.transform(rows)

        sample = _selection_sample(y, random_state)
        X_sel, y_sel = X[sample], y[sample]
        splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state).split(X_sel, y_sel))
        cv_auc, oof_scores = _cross_validate(names, X_sel, y_sel, splits, random_state)
        algorithm = _choose(cv_auc)
        oof = _cross_calibrate(oof_scores[algorithm], y_sel, splits, method)

        final = _calibrated(_make_candidate(algorithm, random_state), method, random_state).fit(X, y)
        explainer = _explainer_for(final.calibrated_classifiers_[0].estimator, X, random_state)
    pipeline = Pipeline([("features", vectorizer), ("classifier", final)])

    sampled = f"{y_sel.size:,} of {n:,} rows (stratified subsample)" if y_sel.size < n else f"all {n:,} rows"
    metrics = ModelMetrics(
        auc=float(roc_auc_score(y_sel, oof)),
        cv_auc=cv_auc,
        algorithm=algorithm,
        lift_by_decile=_lift_by_decile(y_sel, oof),
        calibration=_calibration_bins(y_sel, oof),
        brier=float(brier_score_loss(y_sel, oof)),
        training_size=n,
        positives=positives,
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        features=len(vectorizer.feature_names_),
        evaluation=f"{folds}-fold out-of-fold scores with a cross-fitted {method} calibrator on {sampled}",
    )
    return TrainedModel(algorithm=algorithm, metrics=metrics, pipeline=pipeline, explainer=explainer)


def _cross_validate(
    names: Sequence[str],
    X: np.ndarray,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    random_state: int,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Mean fold ROC AUC per candidate, plus each candidate's out-of-fold log-odds scores for later calibration."""
    cv_auc: dict[str, float] = {}
    oof_scores: dict[str, np.ndarray] = {}
    for name in names:
        scores = np.empty(y.size, dtype=np.float64)
        fold_auc = []
        for train_idx, test_idx in splits:
            model = _make_candidate(name, random_state).fit(X[train_idx], y[train_idx])
            scores[test_idx] = model.decision_function(X[test_idx])
            fold_auc.append(roc_auc_score(y[test_idx], scores[test_idx]))
        cv_auc[name] = float(np.mean(fold_auc))
        oof_scores[name] = scores
    return cv_auc, oof_scores


def _cross_calibrate(
    scores: np.ndarray, y: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]], method: str
) -> np.ndarray:
    """Calibrated out-of-fold probabilities from out-of-fold scores, without refitting any model.

    For each fold, a calibrator (isotonic regression, or Platt scaling for ``sigmoid``) is fitted on the other
    folds' out-of-fold scores and applied to this fold's scores. That mirrors what ``CalibratedClassifierCV``
    does for the final model (calibrator fitted on cross-validated scores) while reusing the model-selection fits,
    which keeps evaluation nearly free instead of multiplying the number of model fits by four.
    """
    probabilities = np.empty(y.size, dtype=np.float64)
    for train_idx, test_idx in splits:
        if method == "isotonic":
            isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            probabilities[test_idx] = isotonic.fit(scores[train_idx], y[train_idx]).predict(scores[test_idx])
        else:
            # Weak penalty on a single input: effectively unregularized Platt scaling.
            platt = LogisticRegression(C=1e4).fit(scores[train_idx, None], y[train_idx])
            probabilities[test_idx] = platt.predict_proba(scores[test_idx, None])[:, 1]
    return probabilities


def _choose(cv_auc: dict[str, float]) -> str:
    """Pick the algorithm with the best CV AUC, letting logistic regression win near-ties (see SELECTION_MARGIN)."""
    best = max(cv_auc, key=lambda name: (cv_auc[name], name == LOGISTIC_REGRESSION))
    if LOGISTIC_REGRESSION in cv_auc and cv_auc[best] - cv_auc[LOGISTIC_REGRESSION] <= SELECTION_MARGIN:
        return LOGISTIC_REGRESSION
    return best

