"""Rows for the predictive model: lead fields, custom attributes and engagement aggregates, as of a moment.

The same function builds training rows (closed leads, as of the day they closed: nothing after the outcome leaks
in) and prediction rows (open leads, as of now), so the model sees at scoring time exactly what it learned from.

Row keys: the fields of :data:`LEAD_FEATURE_FIELDS`; ``custom:NAME`` per custom attribute (scalar values only);
``events_30d:TYPE`` and ``events_90d:TYPE`` per event type (0 when none); ``days_since_last_event`` (missing when
there was no event within :data:`RECENCY_DAYS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from leads.choices import EventType

from .bulk_engine import US_PER_DAY, EventColumns

LEAD_FEATURE_FIELDS = (
    "country", "industry", "employees", "size_band", "annual_revenue", "seniority", "department", "source",
    "utm_medium", "data_quality",
)
COUNT_WINDOWS_DAYS = (30, 90)
RECENCY_DAYS = 365
EVENT_PREFIXES = tuple(f"events_{days}d:" for days in COUNT_WINDOWS_DAYS)


def default_event_types(events: EventColumns) -> list[str]:
    """The known event types plus every type present in the events (training: the model learns them all)."""
    return sorted(set(EventType.values) | set(events.type_names))


def model_event_types(field_names: Sequence[str]) -> list[str]:
    """The event types a trained model knows, from its input field names (prediction fills their zeros)."""
    types = {name.split(":", 1)[1] for name in field_names if name.startswith(EVENT_PREFIXES)}
    return sorted(types)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


def feature_rows(
    values: dict[str, list[Any]],
    customs: Sequence[dict[str, Any] | None],
    reference_us: np.ndarray,
    events: EventColumns,
    event_types: Sequence[str],
) -> list[dict[str, Any]]:
    """One row per lead (in the order of ``reference_us``).

    Steps: 1) per event, its age relative to its lead's reference moment (later events are ignored); 2) counts per
    type within each window with ``np.bincount``; 3) the newest event per lead for the recency; 4) assemble dicts.
    """
    n = int(reference_us.size)
    age = reference_us[events.lead_index] - events.at_us if len(events) else np.zeros(0, dtype=np.int64)
    valid = (age >= 0) & (age <= RECENCY_DAYS * US_PER_DAY)
    counts: dict[str, list[int]] = {}
    for type_name in event_types:
        try:
            code = events.type_names.index(type_name)
        except ValueError:
            code = -1
        of_type = valid & (events.type_code == code)
        for days, prefix in zip(COUNT_WINDOWS_DAYS, EVENT_PREFIXES, strict=True):
            within = of_type & (age <= days * US_PER_DAY)
            counts[prefix + type_name] = np.bincount(events.lead_index[within], minlength=n).tolist()
    newest = np.full(n, -1, dtype=np.int64)
    if valid.any():
        np.maximum.at(newest, events.lead_index[valid], events.at_us[valid])
    recency = np.where(newest >= 0, (reference_us - newest) / US_PER_DAY, np.nan).tolist()
    columns = [(name, [_plain(v) for v in column]) for name, column in values.items() if name in LEAD_FEATURE_FIELDS]
    rows: list[dict[str, Any]] = []
    for i in range(n):
        row: dict[str, Any] = {name: column[i] for name, column in columns}
        for key, value in (customs[i] or {}).items():
            if value is None or isinstance(value, str | int | float | bool):
                row[f"custom:{key}"] = value
        for name, column in counts.items():
            row[name] = column[i]
        row["days_since_last_event"] = None if recency[i] != recency[i] else round(recency[i], 2)
        rows.append(row)
    return rows
