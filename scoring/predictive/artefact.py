"""The trained model and its stored form: :class:`TrainedModel` (pipeline, explainer, metrics) and its artefact.

``TrainedModel.to_bytes`` wraps the joblib'd model in a small header (feature version, sklearn version) that
``TrainedModel.from_bytes`` checks before loading, so a stale artefact is refused with a clear reason.
Artefacts are pickles (joblib). Only load bytes this application produced itself.
"""

from __future__ import annotations

import io
import pickle  # only artefacts this application stored itself are loaded  # nosec B403
from dataclasses import asdict, dataclass
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import Pipeline

from .vectorizer import LeadVectorizer

#: Bump whenever the row -> feature mapping changes incompatibly; stored artefacts with another version are refused.
FEATURE_VERSION: int = 1

_MAGIC = "leadflow.scoring.predictive"


class ModelVersionError(ValueError):
    """Raised when a stored model artefact cannot be used by this code (other feature version or not an artefact)."""


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
class Explainer:
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
    explainer: Explainer
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
            header = pickle.loads(data)  # only artefacts this application stored itself are loaded  # nosec B301
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

