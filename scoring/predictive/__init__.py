"""Closed-loop predictive lead scoring, free of the database: every public name is importable from here.

Trains a win-probability model on closed leads (won / lost) from plain row dicts - lead fields, custom attributes
(``custom:*`` keys) and engagement aggregates - and scores open leads with calibrated probabilities plus per-lead
reason codes. No module here imports a model: the app reads the database (``scoring.services.closed_loop``,
``scoring.services.predictions``), builds rows with :func:`feature_rows`, calls :func:`train_model` /
:func:`predict`, and stores :meth:`TrainedModel.to_bytes` and :meth:`ModelMetrics.to_dict`.

- ``features``: rows from lead columns and events, as of a moment (the same for training and prediction);
- ``vectorizer``: :class:`LeadVectorizer`, rows to the float matrix the models read;
- ``training``: model selection, calibration, evaluation and the reason-code explainer (:func:`train_model`);
- ``prediction``: probabilities and reason codes for a batch of rows (:func:`predict_proba`, :func:`predict`);
- ``artefact``: :class:`TrainedModel` and its stored form (feature version check, :class:`ModelVersionError`);
- ``threads``: native thread pools pinned to one thread while training and scoring.
"""

from .artefact import FEATURE_VERSION, Explainer, ModelMetrics, ModelVersionError, TrainedModel
from .features import (
    LEAD_FEATURE_FIELDS,
    RECENCY_DAYS,
    custom_columns,
    default_event_types,
    feature_rows,
    model_custom_keys,
    model_event_types,
    scalar,
)
from .prediction import Prediction, predict, predict_proba
from .training import ALGORITHMS, SELECTION_MARGIN, TrainingRefused, train_model
from .vectorizer import LeadVectorizer

# Artefacts stored before this package was split out of one module pickled their classes as
# ``scoring.predictive.<name>``; unpickling looks them up here, so those names must stay.
from .vectorizer import _CategoricalField as _CategoricalField  # noqa: I001 - kept apart with its reason
from .vectorizer import _NumericField as _NumericField

_Explainer = Explainer

__all__ = [
    "ALGORITHMS", "FEATURE_VERSION", "LEAD_FEATURE_FIELDS", "RECENCY_DAYS", "SELECTION_MARGIN", "Explainer",
    "LeadVectorizer", "ModelMetrics", "ModelVersionError", "Prediction", "TrainedModel", "TrainingRefused",
    "custom_columns", "default_event_types", "feature_rows", "model_custom_keys", "model_event_types", "predict",
    "predict_proba", "scalar", "train_model",
]
