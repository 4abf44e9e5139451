"""Rows for the predictive model: lead fields, custom attributes and engagement aggregates, as of a moment.

The same function builds training rows (closed leads, as of the day they closed: nothing after the outcome leaks
in) and prediction rows (open leads, as of now), so the model sees at scoring time exactly what it learned from.

Row keys: the fields of :data:`LEAD_FEATURE_FIELDS`; ``custom:NAME`` per custom attribute (scalar values only);
``events_30d:TYPE`` and ``events_90d:TYPE`` per event type (0 when none); ``days_since_last_event`` (missing when
there was no event within :data:`RECENCY_DAYS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from leads.choices import EventType

from ..bulk_engine import US_PER_DAY, EventColumns

LEAD_FEATURE_FIELDS = (
    "country", "industry", "employees", "size_band", "annual_revenue", "seniority", "department", "source",
    "utm_medium", "data_quality",
)
DECIMAL_FIELDS = frozenset({"annual_revenue"})  # read as Decimal; the model takes numbers as floats
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


def model_custom_keys(field_names: Sequence[str]) -> list[str]:
    """The custom attributes a trained model reads (prediction reads only these out of the JSON)."""
    return sorted({name.removeprefix("custom:") for name in field_names if name.startswith("custom:")})


def custom_columns(customs: Sequence[dict[str, Any] | None]) -> dict[str, list[Any]]:
    """Every custom attribute of the leads as a column (training): scalar values only, None where absent."""
    keys = sorted({key for custom in customs if isinstance(custom, dict) for key in custom})
    return {key: [scalar((custom or {}).get(key)) if isinstance(custom, dict) else None for custom in customs]
            for key in keys}


def scalar(value: Any) -> Any:
    """A custom attribute as a feature value: numbers, text and booleans as they are; anything else is missing."""
    return value if isinstance(value, str | int | float | bool) else None


def feature_rows(
    values: dict[str, list[Any]],
    customs: dict[str, list[Any]],
    reference_us: np.ndarray,
    events: EventColumns,
    event_types: Sequence[str],
) -> list[dict[str, Any]]:
    """One row per lead (in the order of ``reference_us``).

    ``values`` holds lead columns (only :data:`LEAD_FEATURE_FIELDS` are used; decimals become floats),
    ``customs`` one column per custom attribute. Steps: 1) per event, its age relative to its lead's reference
    moment (later events are ignored); 2) counts per type within each window with ``np.bincount``; 3) the newest
    event per lead for the recency; 4) assemble the rows column-wise (``dict(zip(...))``, no per-key Python work).
    """
    n = int(reference_us.size)
    age = reference_us[events.lead_index] - events.at_us if len(events) else np.zeros(0, dtype=np.int64)
    valid = (age >= 0) & (age <= RECENCY_DAYS * US_PER_DAY)
    names: list[str] = []
    columns: list[list[Any]] = []
    for name in LEAD_FEATURE_FIELDS:
        if name in values:
            column = values[name]
            if name in DECIMAL_FIELDS:
                column = [None if v is None else float(v) for v in column]
            names.append(name)
            columns.append(column)
    for key, column in customs.items():
        names.append(f"custom:{key}")
        columns.append(column)
    for type_name in event_types:
        try:
            code = events.type_names.index(type_name)
        except ValueError:
            code = -1
        of_type = valid & (events.type_code == code)
        for days, prefix in zip(COUNT_WINDOWS_DAYS, EVENT_PREFIXES, strict=True):
            within = of_type & (age <= days * US_PER_DAY)
            names.append(prefix + type_name)
            columns.append(np.bincount(events.lead_index[within], minlength=n).tolist())
    newest = np.full(n, -1, dtype=np.int64)
    if valid.any():
        np.maximum.at(newest, events.lead_index[valid], events.at_us[valid])
    recency = np.round((reference_us - newest) / US_PER_DAY, 2).astype(object)
    recency[newest < 0] = None
    names.append("days_since_last_event")
    columns.append(recency.tolist())
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)] if n else []
