"""Read leads and events as columns for the set-based paths (bulk rescoring, decay, preview, predictive features).

One query per chunk, no model instances: event times come back as exact integer microseconds computed in SQL (one
expression per database vendor), event properties are parsed only for the event types a rule filters on.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
from django.db import connection

from leads.models import Lead, LeadEvent

from .bulk_engine import EventColumns

EVENTS_CONSIDERED = 2000  # the newest events of a lead that count; older ones have decayed to nothing


def epoch_us_sql(column: str) -> str:
    """SQL for a datetime column as whole microseconds since the Unix epoch (exact on SQLite and PostgreSQL)."""
    if connection.vendor == "postgresql":
        return (f"(EXTRACT(EPOCH FROM date_trunc('second', {column}))::bigint * 1000000"
                f" + EXTRACT(MICROSECONDS FROM {column})::bigint % 1000000)")
    if connection.vendor == "sqlite":
        # Django stores 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC; the fraction, when present, has six digits.
        # '%%' because the statement always runs with parameters (Django turns %s into ? and %% into %).
        return f"(CAST(strftime('%%s', {column}) AS INTEGER) * 1000000 + CAST(substr({column}, 21, 6) AS INTEGER))"
    raise NotImplementedError(f"set-based scoring supports SQLite and PostgreSQL, not {connection.vendor}")


def load_events(
    lead_ids: np.ndarray,
    *,
    types: Collection[str] | None = None,
    property_types: Collection[str] = (),
    since_us: int | None = None,
    limit_per_lead: int | None = EVENTS_CONSIDERED,
) -> EventColumns:
    """Events of the given leads (sorted ids), newest first within each lead, as columns.

    Steps: 1) one range query over the leads' id span (the (lead, occurred_at) index), only the wanted ``types``
    and, with ``since_us``, only newer events; 2) drop events of leads in the span but not in ``lead_ids``;
    3) order by lead, newest first; 4) keep the newest ``limit_per_lead`` of each lead (as the per-lead scorer does);
    5) parse properties of ``property_types`` events only.
    """
    empty = EventColumns(lead_index=np.zeros(0, dtype=np.intp), type_code=np.zeros(0, dtype=np.int32),
                         type_names=[], at_us=np.zeros(0, dtype=np.int64), properties=[])
    if lead_ids.size == 0 or (types is not None and not types):
        return empty
    table = LeadEvent._meta.db_table
    at = epoch_us_sql("occurred_at")
    property_types = sorted(set(property_types))
    if property_types:
        placeholders = ", ".join(["%s"] * len(property_types))
        props = f"CASE WHEN type IN ({placeholders}) THEN properties END"
    else:
        props = "NULL"
    where = ["lead_id >= %s", "lead_id <= %s"]
    params: list[Any] = [*property_types, int(lead_ids[0]), int(lead_ids[-1])]
    if types is not None:
        wanted = sorted(set(types))
        where.append(f"type IN ({', '.join(['%s'] * len(wanted))})")
        params.extend(wanted)
    if since_us is not None:
        where.append(f"{at} >= %s")
        params.append(since_us)
    sql = f"SELECT lead_id, type, {at}, {props} FROM {table} WHERE {' AND '.join(where)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return empty
    owner_ids, type_values, at_values, raw_properties = zip(*rows, strict=True)
    owners = np.fromiter(owner_ids, dtype=np.int64, count=len(rows))
    position = np.searchsorted(lead_ids, owners)
    position[position >= lead_ids.size] = 0
    keep = lead_ids[position] == owners
    names: dict[str, int] = {}
    codes = np.fromiter((names.setdefault(t, len(names)) for t in type_values), dtype=np.int32, count=len(rows))
    at_us = np.fromiter(at_values, dtype=np.int64, count=len(rows))
    order = np.lexsort((-at_us, position))
    order = order[keep[order]]
    lead_index = position[order]
    if limit_per_lead is not None and lead_index.size:
        starts = np.flatnonzero(np.r_[True, lead_index[1:] != lead_index[:-1]])
        first = np.repeat(starts, np.diff(np.r_[starts, lead_index.size]))
        ranked = np.arange(lead_index.size) - first < limit_per_lead
        order, lead_index = order[ranked], lead_index[ranked]
    properties = [_parse(raw_properties[k]) for k in order.tolist()] if property_types else [None] * order.size
    return EventColumns(lead_index=lead_index.astype(np.intp), type_code=codes[order], type_names=list(names),
                        at_us=at_us[order], properties=properties)


def _parse(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = json.loads(raw)
    return raw if isinstance(raw, dict) else {}


def load_lead_columns(queryset, fields: Sequence[str]) -> tuple[np.ndarray, dict[str, list[Any]]]:
    """Lead columns in id order: ``fields`` are Lead field names, plus ``custom:NAME`` read from ``custom``.

    Goes through ``values_list`` so every value has the type the per-lead scorer sees (Decimal, int, str...).
    """
    custom_keys = [name.removeprefix("custom:") for name in fields if name.startswith("custom:")]
    plain = [name for name in dict.fromkeys(fields) if not name.startswith("custom:")]
    columns = ["id", *plain] + (["custom"] if custom_keys and "custom" not in plain else [])
    rows = list(queryset.order_by("id").values_list(*columns))
    if not rows:
        return np.zeros(0, dtype=np.int64), {name: [] for name in fields}
    transposed = list(zip(*rows, strict=True))
    ids = np.fromiter(transposed[0], dtype=np.int64, count=len(rows))
    result: dict[str, list[Any]] = {name: list(transposed[1 + k]) for k, name in enumerate(plain)}
    if custom_keys:
        customs = transposed[columns.index("custom")]
        for key in custom_keys:
            result[f"custom:{key}"] = [(c or {}).get(key) if isinstance(c, dict) else None for c in customs]
    return ids, result


def live_leads():
    """The leads the set-based paths score: not merged into another lead."""
    return Lead.objects.live()
