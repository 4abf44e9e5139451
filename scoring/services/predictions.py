"""Win probabilities of open leads from the active predictive model, one lead or a batch at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from leads.models import Lead

from ..bulk_engine import US_PER_DAY, to_us
from ..loaders import load_events, load_lead_columns
from ..predictive import (
    LEAD_FEATURE_FIELDS,
    RECENCY_DAYS,
    feature_rows,
    model_custom_keys,
    model_event_types,
    predict,
    predict_proba,
    scalar,
)
from ..selectors import LoadedPredictive

TOP_FEATURES = 3


def predictions_for(
    predictive: LoadedPredictive, lead_ids: Sequence[int] | np.ndarray, now: datetime, *, with_features: bool = True
) -> tuple[np.ndarray, list[list[tuple[str, float]]]]:
    """Probabilities (and top features) for the given leads, in ascending id order, as of ``now``.

    Steps: 1) read the leads' feature fields and custom attributes; 2) read their events of the last year (all
    types); 3) build rows as ``scoring.predictive.feature_rows`` does for training, zero-filling every event type the
    model knows; 4) predict in one call.
    """
    ids = np.asarray(sorted(int(i) for i in lead_ids), dtype=np.int64)
    if ids.size == 0:
        return np.zeros(0), []
    trained = predictive.trained
    field_names = trained.vectorizer.field_names
    custom_keys = model_custom_keys(field_names)
    queryset = (Lead.objects.filter(pk__in=ids.tolist()) if ids.size <= 500 else
                Lead.objects.filter(pk__gte=int(ids[0]), pk__lte=int(ids[-1])))
    loaded_ids, values = load_lead_columns(queryset, [*LEAD_FEATURE_FIELDS, *(f"custom:{k}" for k in custom_keys)])
    keep = np.isin(loaded_ids, ids)
    if not keep.all():
        positions = np.flatnonzero(keep).tolist()
        values = {name: [column[i] for i in positions] for name, column in values.items()}
        loaded_ids = loaded_ids[keep]
    customs = {key: [scalar(v) for v in values.pop(f"custom:{key}")] for key in custom_keys}
    now_us = to_us(now)
    event_types = model_event_types(field_names)
    events = load_events(loaded_ids, types=event_types, since_us=now_us - RECENCY_DAYS * US_PER_DAY,
                         limit_per_lead=None, ordered=False)
    rows = feature_rows(values, customs, np.full(loaded_ids.size, now_us, dtype=np.int64), events, event_types)
    probabilities = np.full(ids.size, np.nan)
    features: list[list[tuple[str, float]]] = [[] for _ in range(ids.size)]
    at = np.searchsorted(ids, loaded_ids).tolist()
    if not with_features:
        probabilities[at] = predict_proba(trained, rows)
        return probabilities, features
    for k, prediction in zip(at, predict(trained, rows, top_n=TOP_FEATURES), strict=True):
        probabilities[k] = prediction.probability
        features[k] = prediction.reasons
    return probabilities, features
