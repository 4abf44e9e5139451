"""Closed-loop predictive lead scoring.

Trains a win-probability model on closed leads (won / lost) from plain row dicts - lead fields, custom attributes
(``custom:*`` keys) and engagement aggregates - and scores open leads with calibrated probabilities plus per-lead
reason codes. This module is deliberately free of Django: the app extracts rows from the database, calls
:func:`train_model` / :func:`predict`, and stores :meth:`TrainedModel.to_bytes` and :meth:`ModelMetrics.to_dict`.

Design notes
------------
* Vectorization is a small hand-written :class:`LeadVectorizer` rather than ``DictVectorizer``: it works column by
  column over the dicts (fast enough for >50k leads/s end to end), keeps numeric missing values apart from zeros
  (median imputation + missing indicator), and folds rare categories into an ``(other)`` column the way
  ``OneHotEncoder(handle_unknown="ignore", min_frequency=...)`` would.
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
* Native thread pools are pinned to one thread while training and scoring: on shared two-core machines OpenMP's
  busy-waiting made gradient boosting many times slower with two threads than with one (see
  :func:`_single_threaded`).

Artefacts are pickles (joblib). Only load bytes this application produced itself.
"""

from __future__ import annotations

import io
import math
import pickle
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import ThreadpoolController

__all__ = [
    "ALGORITHMS",
    "FEATURE_VERSION",
    "LeadVectorizer",
    "ModelMetrics",
    "Prediction",
    "TrainedModel",
    "TrainingRefused",
    "predict",
    "predict_proba",
    "synthetic_closed_leads",
    "train_model",
]

#: Bump whenever the row -> feature mapping changes incompatibly; stored artefacts with another version are refused.
FEATURE_VERSION: int = 1

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
#: One-hot columns per categorical field are capped so free-text-like fields cannot blow up the feature space.
MAX_CATEGORIES_PER_FIELD = 50
CALIBRATION_BINS = 10
#: Prediction vectorizes this many rows at a time (~25 MB of features) so huge batches do not need huge matrices.
PREDICT_CHUNK_ROWS = 50_000

_MISSING = "(missing)"
_OTHER = "(other)"
_MAGIC = "leadflow.scoring.predictive"
_NUMERIC_TYPES = (int, float, np.integer, np.floating, np.bool_)


@cache
def _thread_controller() -> ThreadpoolController:
    """Inspect the loaded native thread pools (OpenMP, BLAS) once; the scan is too slow to repeat per call."""
    return ThreadpoolController()


@contextmanager
def _single_threaded() -> Iterator[None]:
    """Run native code (HistGradientBoosting's OpenMP loops, BLAS) on one thread.

    On this app's small machines the cores are shared with web and worker processes. OpenMP threads busy-wait at
    the barrier after every tree-building step, so when one of them is descheduled the other spins: measured on
    the 2-core box while other processes were busy, fitting boosting on 16k leads took 16.3 s with two threads
    and 1.4 s with one, and scoring 100k leads 2.1 s versus 0.5 s. Two threads can at best halve the time on an
    idle machine, so a steady single thread is the better trade for both training and scoring.
    """
    with _thread_controller().limit(limits=1):
        yield


class TrainingRefused(Exception):
    """Raised when the closed-lead history is not enough to train a trustworthy model.

    ``reason`` is a human sentence suitable for showing in the UI as is.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ModelVersionError(ValueError):
    """Raised when a stored model artefact cannot be used by this code (other feature version or not an artefact)."""


# --------------------------------------------------------------------------------------------------------------------
# Feature vectorization
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class _NumericField:
    """Fitted recipe for one numeric (or boolean) field."""

    name: str
    log: bool
    low: float
    high: float
    median: float
    indicator: bool


@dataclass
class _CategoricalField:
    """Fitted recipe for one categorical field: value -> one-hot column offset within the field's block."""

    name: str
    categories: list[str]
    has_other: bool
    lookup: dict[Any, int] = field(default_factory=dict)


def _to_float(value: Any) -> float:
    """Best-effort float conversion for one value; anything unconvertible is a missing value."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _numeric_array(values: list[Any]) -> np.ndarray:
    """Convert a column of raw values to float64 with NaN for missing, unconvertible and infinite values."""
    try:
        # numpy maps None to NaN for float dtype, so the common case is a single C-level conversion.
        arr = np.array(values, dtype=np.float64)
        if arr.ndim != 1:
            raise ValueError("nested values")
    except (TypeError, ValueError):
        arr = np.fromiter((_to_float(v) for v in values), dtype=np.float64, count=len(values))
    arr[~np.isfinite(arr)] = np.nan
    return arr


def _category_key(value: Any) -> str:
    """Normalize a categorical value: None and blank strings are missing, everything else is its string form."""
    if value is None:
        return _MISSING
    if isinstance(value, float) and math.isnan(value):
        return _MISSING
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else _MISSING


class LeadVectorizer(TransformerMixin, BaseEstimator):
    """Turn lead row dicts into a dense float matrix.

    Field kinds are inferred at fit time from the non-missing values: all numbers/booleans -> numeric, anything
    else -> categorical. Numeric fields become one column (heavy right tails log1p-compressed, clipped to the
    training range, missing -> training median) plus a missing indicator when training data had gaps. Categorical
    fields are one-hot encoded; values seen fewer than ``min_frequency`` times (and beyond
    :data:`MAX_CATEGORIES_PER_FIELD`) share an ``(other)`` column, which also receives unseen values at prediction
    time. Keys not seen during fit are ignored; absent keys are missing values.
    """

    def __init__(self, min_frequency: int | None = None) -> None:
        self.min_frequency = min_frequency

    def fit(self, rows: Sequence[Mapping[str, Any]], y: Any = None) -> LeadVectorizer:
        """Learn field kinds, category vocabularies, imputation medians and clipping ranges.

        Steps: 1) collect the union of keys (sorted, so column order is deterministic); 2) per key, classify the
        non-missing values; 3) numeric: decide on log1p, record range and median; 4) categorical: count values and
        keep the frequent ones. Fields with no non-missing value are dropped.
        """
        n = len(rows)
        min_count = self.min_frequency if self.min_frequency is not None else max(5, math.ceil(0.001 * n))
        keys: set[str] = set()
        for row in rows:
            keys.update(row.keys())
        fields: list[_NumericField | _CategoricalField] = []
        for key in sorted(keys, key=str):
            values = [row.get(key) for row in rows]
            present_types = {type(v) for v in values if v is not None}
            if present_types and all(issubclass(t, _NUMERIC_TYPES) for t in present_types):
                spec = self._fit_numeric(key, values)
            else:
                spec = self._fit_categorical(key, values, min_count)
            if spec is not None:
                fields.append(spec)
        self.fields_ = fields
        self._build_layout()
        return self

    @staticmethod
    def _fit_numeric(name: str, values: list[Any]) -> _NumericField | None:
        """Fit one numeric field, or None when it has no finite value at all."""
        arr = _numeric_array(values)
        present = arr[~np.isnan(arr)]
        if present.size == 0:
            return None
        median = float(np.median(present))
        p99 = float(np.percentile(present, 99))
        # Revenue- or headcount-like fields span orders of magnitude; on a log scale a linear model sees the
        # difference between 10 and 1,000 employees instead of only the few giants.
        log = bool(present.min() >= 0 and p99 > 10 * (median + 1))
        if log:
            present = np.log1p(present)
        return _NumericField(
            name=name,
            log=log,
            low=float(present.min()),
            high=float(present.max()),
            median=float(np.median(present)),
            indicator=bool(present.size < arr.size),
        )

    @staticmethod
    def _fit_categorical(name: str, values: list[Any], min_count: int) -> _CategoricalField | None:
        """Fit one categorical field, or None when every value is missing."""
        counts = Counter(_category_key(v) for v in values)
        if set(counts) == {_MISSING}:
            return None
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        kept = [value for value, count in ranked if count >= min_count][:MAX_CATEGORIES_PER_FIELD]
        has_other = len(kept) < len(ranked)
        return _CategoricalField(name=name, categories=kept, has_other=has_other)

    def _build_layout(self) -> None:
        """Assign column offsets, names and the column -> field map used to aggregate reason codes."""
        names: list[str] = []
        column_field: list[int] = []
        offsets: list[int] = []
        for index, spec in enumerate(self.fields_):
            offsets.append(len(names))
            if isinstance(spec, _NumericField):
                names.append(spec.name)
                if spec.indicator:
                    names.append(f"{spec.name} {_MISSING}")
            else:
                spec.lookup = {value: i for i, value in enumerate(spec.categories)}
                if _MISSING in spec.lookup:
                    # Raw None / "" map straight to the missing column without normalizing every value.
                    spec.lookup[None] = spec.lookup[_MISSING]
                    spec.lookup[""] = spec.lookup[_MISSING]
                names.extend(f"{spec.name}={value}" for value in spec.categories)
                if spec.has_other:
                    names.append(f"{spec.name}={_OTHER}")
            column_field.extend([index] * (len(names) - offsets[-1]))
        self.feature_names_ = names
        self.column_field_ = np.asarray(column_field, dtype=np.intp)
        self.offsets_ = offsets

    @property
    def field_names(self) -> list[str]:
        """Input field names (row keys) the model uses, in column order."""
        return [spec.name for spec in self.fields_]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Column labels such as ``employees``, ``employees (missing)`` or ``industry=Technology``."""
        return np.asarray(self.feature_names_, dtype=object)

    def transform(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Vectorize rows into an ``(n_rows, n_features)`` float64 matrix (see class docstring for the rules)."""
        n = len(rows)
        X = np.zeros((n, len(self.feature_names_)), dtype=np.float64)
        if n == 0:
            return X
        all_rows = np.arange(n)
        for spec, offset in zip(self.fields_, self.offsets_, strict=True):
            name = spec.name
            values = [row.get(name) for row in rows]
            if isinstance(spec, _NumericField):
                arr = _numeric_array(values)
                missing = np.isnan(arr)
                if spec.log:
                    arr = np.log1p(np.maximum(arr, 0.0))
                np.clip(arr, spec.low, spec.high, out=arr)
                arr[missing] = spec.median
                X[:, offset] = arr
                if spec.indicator:
                    X[:, offset + 1] = missing
            else:
                codes = self._category_codes(spec, values)
                hit = codes >= 0
                X[all_rows[hit], offset + codes[hit]] = 1.0
        return X

    @staticmethod
    def _category_codes(spec: _CategoricalField, values: list[Any]) -> np.ndarray:
        """Map raw values to one-hot offsets within the field block; -1 means no column (unseen, no other bucket)."""
        fallback = len(spec.categories) if spec.has_other else -1
        lookup = spec.lookup
        try:
            # Fast path: exact dictionary hits for string values; only misses get normalized below.
            codes = np.fromiter((lookup.get(v, -2) for v in values), dtype=np.intp, count=len(values))
        except TypeError:  # an unhashable value somewhere in the column
            codes = np.full(len(values), -2, dtype=np.intp)
        for i in np.flatnonzero(codes == -2):
            codes[i] = lookup.get(_category_key(values[i]), fallback)
        return codes

    def display_label(self, field_index: int, row: Mapping[str, Any]) -> str:
        """Label one field's value in a row: ``industry=Technology``, ``employees`` or ``employees (missing)``."""
        spec = self.fields_[field_index]
        value = row.get(spec.name)
        if isinstance(spec, _NumericField):
            return spec.name if math.isfinite(_to_float(value)) else f"{spec.name} {_MISSING}"
        return f"{spec.name}={_category_key(value)}"


# --------------------------------------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class ModelMetrics:
    """Evaluation of a trained model; stored as JSON next to the artefact.

    ``auc``, ``lift_by_decile``, ``calibration`` and ``brier`` come from out-of-fold calibrated predictions (see
    ``evaluation`` for the exact protocol). ``features`` counts model input columns after vectorization.
    """

    auc: float
    cv_auc: dict[str, float]
    algorithm: str
    lift_by_decile: list[float]
    calibration: list[dict]
    brier: float
    training_size: int
    positives: int
    trained_at: str
    features: int
    evaluation: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serializable dict (floats, ints, strings, lists, dicts only)."""
        return asdict(self)


@dataclass
class Prediction:
    """One lead's calibrated win probability and its top reason codes ``(label, signed log-odds contribution)``."""

    probability: float
    reasons: list[tuple[str, float]]


@dataclass
class _Explainer:
    """Linear attribution in log-odds: contribution of column j = coef[j] * (x[j] - mean[j]) / scale[j]."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    fidelity: float

    def field_contributions(self, X: np.ndarray, column_field: np.ndarray, n_fields: int) -> np.ndarray:
        """Per-field contributions ``(n_rows, n_fields)``: column contributions summed over each field's columns."""
        per_column = (X - self.mean) / self.scale * self.coef
        grouping = np.zeros((column_field.size, n_fields))
        grouping[np.arange(column_field.size), column_field] = 1.0
        return per_column @ grouping


@dataclass
class TrainedModel:
    """A fitted, calibrated lead-scoring model plus everything needed to explain and evaluate it.

    ``pipeline`` is an sklearn :class:`~sklearn.pipeline.Pipeline` (``LeadVectorizer`` -> calibrated classifier)
    whose ``predict_proba`` accepts row dicts directly.
    """

    algorithm: str
    metrics: ModelMetrics
    pipeline: Pipeline
    explainer: _Explainer
    feature_version: int = FEATURE_VERSION
    sklearn_version: str = sklearn.__version__

    @property
    def vectorizer(self) -> LeadVectorizer:
        """The fitted row -> matrix step."""
        return self.pipeline.named_steps["features"]

    @property
    def classifier(self) -> CalibratedClassifierCV:
        """The fitted calibrated classifier step."""
        return self.pipeline.named_steps["classifier"]

    @property
    def explanation_fidelity(self) -> float:
        """R^2 of the reason-code model against the scoring model's log-odds (1.0 for logistic regression)."""
        return self.explainer.fidelity

    def to_bytes(self) -> bytes:
        """Serialize for storage: a small header (feature version, sklearn version) around the joblib'd model.

        The header is unpickled before the model itself so a version mismatch is reported clearly instead of as
        an obscure unpickling error from changed classes.
        """
        inner = io.BytesIO()
        joblib.dump(self, inner, compress=3)
        outer = io.BytesIO()
        header = {
            "magic": _MAGIC,
            "feature_version": self.feature_version,
            "sklearn_version": self.sklearn_version,
            "model": inner.getvalue(),
        }
        pickle.dump(header, outer, protocol=pickle.HIGHEST_PROTOCOL)
        return outer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrainedModel:
        """Load a model produced by :meth:`to_bytes`; raise :class:`ModelVersionError` for foreign or stale bytes.

        Steps: 1) unpickle the header; 2) check magic and feature version against :data:`FEATURE_VERSION`;
        3) joblib-load the model. Only pass bytes this application stored itself (pickle can execute code).
        """
        try:
            header = pickle.loads(data)
        except Exception as exc:  # any failure here means "not one of our artefacts"
            raise ModelVersionError(f"not a Leadflow predictive model artefact ({exc.__class__.__name__})") from exc
        if not isinstance(header, dict) or header.get("magic") != _MAGIC:
            raise ModelVersionError("not a Leadflow predictive model artefact")
        version = header.get("feature_version")
        if version != FEATURE_VERSION:
            raise ModelVersionError(
                f"model was trained with feature version {version}, this code uses version {FEATURE_VERSION}; "
                "retrain the model"
            )
        model = joblib.load(io.BytesIO(header["model"]))
        if not isinstance(model, cls):
            raise ModelVersionError("artefact does not contain a TrainedModel")
        return model


# --------------------------------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------------------------------


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


def _explainer_for(base: BaseEstimator, X: np.ndarray, random_state: int) -> _Explainer:
    """Build the reason-code model for a fitted base estimator.

    Logistic regression: its own scaler and coefficients (exact). Gradient boosting: 1) take a subsample of at most
    :data:`SURROGATE_MAX_ROWS` training rows; 2) compute the boosted model's log-odds on them; 3) fit a ridge
    regression on standardized features to those log-odds; 4) record its R^2 as fidelity.
    """
    if isinstance(base, Pipeline):
        scaler: StandardScaler = base.named_steps["scale"]
        model: LogisticRegression = base.named_steps["model"]
        return _Explainer(mean=scaler.mean_, scale=scaler.scale_, coef=model.coef_[0].copy(), fidelity=1.0)
    rng = np.random.default_rng(random_state)
    rows = rng.choice(X.shape[0], size=min(SURROGATE_MAX_ROWS, X.shape[0]), replace=False)
    sample = X[np.sort(rows)]
    log_odds = base.decision_function(sample)
    scaler = StandardScaler().fit(sample)
    surrogate = Ridge(alpha=1.0).fit(scaler.transform(sample), log_odds)
    fidelity = float(surrogate.score(scaler.transform(sample), log_odds))
    return _Explainer(mean=scaler.mean_, scale=scaler.scale_, coef=surrogate.coef_.copy(), fidelity=fidelity)


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

    All native code runs single-threaded (see :func:`_single_threaded`). Cost on 100k rows: ``cv_folds`` x
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

    with _single_threaded():
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


# --------------------------------------------------------------------------------------------------------------------
# Prediction
# --------------------------------------------------------------------------------------------------------------------


def predict_proba(model: TrainedModel, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Calibrated win probabilities for a batch of rows, as a float64 array of shape ``(len(rows),)``.

    Rows are scored in chunks of :data:`PREDICT_CHUNK_ROWS` so memory stays flat for arbitrarily large batches.
    """
    probabilities = np.empty(len(rows), dtype=np.float64)
    with _single_threaded():
        for start, chunk in _chunks(rows):
            probabilities[start : start + len(chunk)] = _probabilities(model, model.vectorizer.transform(chunk))
    return probabilities


def _chunks(rows: Sequence[Mapping[str, Any]]) -> list[tuple[int, Sequence[Mapping[str, Any]]]]:
    """Split rows into ``(offset, slice)`` pairs of at most :data:`PREDICT_CHUNK_ROWS` rows."""
    return [(start, rows[start : start + PREDICT_CHUNK_ROWS]) for start in range(0, len(rows), PREDICT_CHUNK_ROWS)]


def _probabilities(model: TrainedModel, X: np.ndarray) -> np.ndarray:
    """Calibrated probabilities for an already vectorized matrix."""
    if X.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    return np.clip(model.classifier.predict_proba(X)[:, 1], 0.0, 1.0)


def predict(model: TrainedModel, rows: Sequence[Mapping[str, Any]], *, top_n: int = 3) -> list[Prediction]:
    """Score rows and attach the ``top_n`` reason codes per lead.

    Steps, per chunk of :data:`PREDICT_CHUNK_ROWS` rows: 1) vectorize; 2) calibrated probabilities; 3) per-field
    log-odds contributions from the explainer; 4) per row, the ``top_n`` fields by absolute contribution (ties
    broken by field order), labelled with the lead's own value, e.g. ``("pricing_visits_30d", 0.84)`` or
    ``("industry=Government", -0.41)``.
    """
    vectorizer = model.vectorizer
    n_fields = len(vectorizer.fields_)
    top = max(0, min(top_n, n_fields))
    results: list[Prediction] = []
    for _, chunk in _chunks(rows):
        X = vectorizer.transform(chunk)
        with _single_threaded():
            probabilities = _probabilities(model, X)
        if top == 0:
            results.extend(Prediction(probability=float(p), reasons=[]) for p in probabilities)
            continue
        contributions = model.explainer.field_contributions(X, vectorizer.column_field_, n_fields)
        order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :top]
        for i, row in enumerate(chunk):
            reasons = [(vectorizer.display_label(int(j), row), round(float(contributions[i, j]), 4)) for j in order[i]]
            results.append(Prediction(probability=float(probabilities[i]), reasons=reasons))
    return results


# --------------------------------------------------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------------------------------------------------

_COUNTRIES = ["US", "GB", "DE", "FR", "CA", "AU", "NL", "IN", "BR", "SE", "ES", "JP"]
_COUNTRY_P = [0.38, 0.12, 0.09, 0.07, 0.06, 0.05, 0.04, 0.06, 0.04, 0.03, 0.03, 0.03]
_INDUSTRIES = {
    "Technology": 0.5,
    "Financial Services": 0.3,
    "Healthcare": 0.1,
    "Manufacturing": 0.0,
    "Retail": -0.1,
    "Professional Services": 0.15,
    "Media": -0.1,
    "Education": -0.4,
    "Government": -0.5,
    "Non-profit": -0.6,
}
_INDUSTRY_P = [0.26, 0.12, 0.10, 0.11, 0.09, 0.10, 0.06, 0.06, 0.05, 0.05]
_SENIORITY = {"c_level": 0.5, "vp": 0.7, "director": 0.4, "manager": 0.1, "individual_contributor": -0.4}
_SENIORITY_P = [0.06, 0.12, 0.2, 0.27, 0.35]
_DEPARTMENTS = ["sales", "marketing", "engineering", "finance", "operations", "it", "hr"]
_DEPARTMENT_P = [0.22, 0.2, 0.18, 0.1, 0.12, 0.12, 0.06]
_SOURCES = {
    "referral": 0.8,
    "partner": 0.5,
    "event": 0.4,
    "webinar": 0.3,
    "organic": 0.1,
    "paid_search": 0.0,
    "content_download": -0.2,
    "outbound": -0.4,
}
_SOURCE_P = [0.07, 0.06, 0.08, 0.14, 0.2, 0.18, 0.15, 0.12]
_PLANS = {"enterprise": 0.4, "pro": 0.2, "free": -0.3}
_SIZE_BANDS = [(10, "1-10"), (50, "11-50"), (200, "51-200"), (1000, "201-1000"), (5000, "1001-5000")]


def _size_band(employees: int) -> str:
    """Headcount band label as CRMs usually store it."""
    for upper, label in _SIZE_BANDS:
        if employees <= upper:
            return label
    return "5000+"


def synthetic_closed_leads(n: int, *, seed: int = 0) -> tuple[list[dict], list[bool]]:
    """Generate ``n`` realistic closed leads and their outcomes (True = won), deterministic per ``seed``.

    Steps: 1) draw firmographics (country, industry, log-normal headcount with derived size band and revenue),
    persona (seniority, department), lead source and a ``custom:plan_interest`` attribute; 2) draw a latent
    engagement level that drives email opens, pricing-page visits, events, recency and demo requests; 3) build the
    win log-odds from a few planted effects - pricing-page visits strongest, then seniority, source, industry, a
    mid-market size sweet spot and recency (the last two non-linear, so boosting has something to find) - plus
    Gaussian noise; 4) sample outcomes (about 20% won, achievable AUC around 0.8) and blank out some values so
    missing-value handling is exercised.
    """
    rng = np.random.default_rng(seed)
    country = rng.choice(_COUNTRIES, size=n, p=_COUNTRY_P)
    industry = rng.choice(list(_INDUSTRIES), size=n, p=_INDUSTRY_P)
    employees = np.clip(np.round(rng.lognormal(np.log(150), 1.5, size=n)), 1, 250_000).astype(int)
    revenue = employees * rng.lognormal(np.log(160_000), 0.5, size=n)
    seniority = rng.choice(list(_SENIORITY), size=n, p=_SENIORITY_P)
    department = rng.choice(_DEPARTMENTS, size=n, p=_DEPARTMENT_P)
    source = rng.choice(list(_SOURCES), size=n, p=_SOURCE_P)
    plan = rng.choice(list(_PLANS), size=n, p=[0.2, 0.45, 0.35])

    engagement = rng.gamma(2.0, 0.5, size=n)
    email_opens = rng.poisson(2.5 * engagement)
    pricing_visits = rng.poisson(0.7 * engagement)
    events = rng.poisson(6.0 * engagement)
    days_since = np.round(rng.exponential(20.0 / (0.3 + engagement), size=n)).astype(int)
    demo = rng.random(n) < 0.05 + 0.1 * engagement
    personal_email = rng.random(n) < 0.15

    log_odds = (
        -2.2
        + 0.6 * np.minimum(pricing_visits, 6)
        + np.vectorize(_SENIORITY.get)(seniority)
        + np.vectorize(_SOURCES.get)(source)
        + np.vectorize(_INDUSTRIES.get)(industry)
        + np.vectorize(_PLANS.get)(plan)
        # Enterprise interest only converts where there is an enterprise to sell to.
        + np.where(plan == "enterprise", np.where(employees >= 1000, 0.9, -0.7), 0.0)
        # Pricing-page visits from a decision maker weigh more than from an individual contributor.
        + 0.25 * np.minimum(pricing_visits, 4) * np.isin(seniority, ["c_level", "vp"])
        - 0.2 * (np.log(employees) - np.log(800)) ** 2
        + 1.5 * np.exp(-days_since / 7.0) * (events > 0)
        + 0.5 * demo
        - 0.6 * personal_email
        + 0.1 * engagement
        + rng.normal(0.0, 0.5, size=n)
    )
    won = rng.random(n) < 1.0 / (1.0 + np.exp(-log_odds))

    missing_revenue = rng.random(n) < 0.25
    missing_seniority = rng.random(n) < 0.08
    missing_plan = rng.random(n) < 0.3
    rows: list[dict] = []
    for i in range(n):
        row: dict[str, Any] = {
            "country": str(country[i]),
            "industry": str(industry[i]),
            "size_band": _size_band(int(employees[i])),
            "employees": int(employees[i]),
            "seniority": None if missing_seniority[i] else str(seniority[i]),
            "department": str(department[i]),
            "source": str(source[i]),
            "annual_revenue": None if missing_revenue[i] else round(float(revenue[i]), -3),
            "email_opens_30d": int(email_opens[i]),
            "pricing_visits_30d": int(pricing_visits[i]),
            "events_90d": int(events[i]),
            "days_since_last_event": None if events[i] == 0 else int(days_since[i]),
            "demo_requested": bool(demo[i]),
            "personal_email": bool(personal_email[i]),
            "custom:plan_interest": None if missing_plan[i] else str(plan[i]),
        }
        rows.append(row)
    return rows, [bool(w) for w in won]
