"""Prediction: calibrated win probabilities for a batch of rows, and per-lead reason codes (:func:`predict`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .artefact import TrainedModel
from .threads import single_threaded

#: Prediction vectorizes this many rows at a time (~25 MB of features) so huge batches do not need huge matrices.
PREDICT_CHUNK_ROWS = 50_000


@dataclass
class Prediction:
    """One lead's calibrated win probability and its top reason codes ``(label, signed log-odds contribution)``."""

    probability: float
    reasons: list[tuple[str, float]]


def predict_proba(model: TrainedModel, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Calibrated win probabilities for a batch of rows, as a float64 array of shape ``(len(rows),)``.

    Rows are scored in chunks of :data:`PREDICT_CHUNK_ROWS` so memory stays flat for arbitrarily large batches.
    """
    probabilities = np.empty(len(rows), dtype=np.float64)
    with single_threaded():
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
        with single_threaded():
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

