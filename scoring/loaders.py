"""Read leads and events as columns for the set-based paths (bulk rescoring, decay, preview, predictive features),
and which of them the compiled models need (``event_scope``).

One query per chunk, no model instances: event times come back as exact integer microseconds computed in SQL (one
expression per database vendor), event properties are parsed only for the event types a rule filters on.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models
from django.db.models.expressions import RawSQL

from leads.models import Lead, LeadEvent

from .bulk_engine import EventColumns

EVENTS_CONSIDERED = 2000  # the newest events of a lead that count; older ones have decayed to nothing
# A lead's stored scoring state: the set-based paths read it to compare with what they compute.
STORED = ("stage", "consent", "score", "fit_score", "engagement_score", "band", "predicted_probability", "scored_at")


def event_scope(compiled_models: list) -> tuple[set[str], set[str], set[str]]:
    """The event types the compiled models score, and the types and property keys their filters read."""
    types, property_types, property_keys = set(), set(), set()
    for compiled in compiled_models:
        for rule in compiled.engagement_rules:
            types.add(rule.event_type)
            if rule.property_predicate is not None:
                property_types.add(rule.event_type)
                property_keys.add(rule.property_key)
    return types, property_types, property_keys


def epoch_us_sql(column: str) -> str:
    """SQL for a datetime column as whole microseconds since the Unix epoch (exact on SQLite and PostgreSQL).

    For statements run with parameters: a literal ``%`` is written ``%%``.
    """
    if connection.vendor == "postgresql":
        return (f"(EXTRACT(EPOCH FROM date_trunc('second', {column}))::bigint * 1000000"
                f" + EXTRACT(MICROSECONDS FROM {column})::bigint %% 1000000)")
    if connection.vendor == "sqlite":
        # Django stores 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC; the fraction, when present, has six digits.
        # '%%' because the statement always runs with parameters (Django turns %s into ? and %% into %).
        return f"(CAST(strftime('%%s', {column}) AS INTEGER) * 1000000 + CAST(substr({column}, 21, 6) AS INTEGER))"
    raise ImproperlyConfigured(f"set-based scoring supports SQLite and PostgreSQL, not {connection.vendor}")


def no_index(column: str) -> str:
    """The column in a condition SQLite must not drive the query with (its planner has no statistics here).

    SQLite's unary ``+`` keeps it from using an index on the column: an event-type index would make a range query
    over a few thousand leads scan every event of those types, chunk after chunk. PostgreSQL plans by statistics.
    """
    return f"+{column}" if connection.vendor == "sqlite" else column


def _json_key_sql(column: str, key: str) -> tuple[str, str, list[Any]]:
    """SQL for the JSON type and the value of one key of a JSON object column, and the params of each."""
    if connection.vendor == "postgresql":
        return f"jsonb_typeof({column} -> %s)", f"({column} ->> %s)", [key]
    path = '$."' + key.replace('"', '""') + '"'
    return f"json_type({column}, %s)", f"json_extract({column}, %s)", [path]


def _property_sql(key: str, property_types: list[str]) -> tuple[str, str, list[Any]]:
    """SQL for one event property's JSON type and value (only for ``property_types`` events), and its params."""
    only = f"type IN ({', '.join(['%s'] * len(property_types))})"
    kind_sql, value_sql, key_params = _json_key_sql("properties", key)
    return (f"CASE WHEN {only} THEN {kind_sql} END", f"CASE WHEN {only} THEN {value_sql} END",
            [*property_types, *key_params, *property_types, *key_params])


_TEXT = frozenset({"text", "string"})  # the JSON type of a string, as SQLite and PostgreSQL name it


def _property_value(kind: str | None, value: Any) -> Any:
    """The Python value ``json.loads`` would give for a property, from its JSON type and the value SQL returned."""
    if kind in ("text", "string"):
        return value
    if kind in ("integer", "real", "number"):
        return json.loads(value) if isinstance(value, str) else value
    if kind == "true" or (kind == "boolean" and value == "true"):
        return True
    if kind == "false" or kind == "boolean":
        return False
    if kind in ("object", "array"):
        return json.loads(value)
    return None


def load_events(
    lead_ids: np.ndarray,
    *,
    types: Collection[str] | None = None,
    property_keys: Collection[str] = (),
    property_types: Collection[str] = (),
    since_us: int | None = None,
    limit_per_lead: int | None = EVENTS_CONSIDERED,
    ordered: bool = True,
) -> EventColumns:
    """Events of the given leads (sorted ids), newest first within each lead, as columns.

    Steps: 1) one range query over the leads' id span (the (lead, occurred_at) index), only the wanted ``types``
    (coded to integers in SQL) and, with ``since_us``, only newer events; the ``property_keys`` rules filter on
    are read out of the JSON in SQL, only for ``property_types`` events (no JSON parsed in Python); 2) drop events
    of leads in the span but not in ``lead_ids``; 3) order by lead, newest first; 4) keep the newest
    ``limit_per_lead`` of each lead (as the per-lead scorer does). ``ordered=False`` (counts only: predictive
    features) skips steps 3 and 4.
    """
    keys = sorted(set(property_keys)) if property_types else []
    empty = EventColumns(lead_index=np.zeros(0, dtype=np.intp), type_code=np.zeros(0, dtype=np.int32),
                         type_names=[], at_us=np.zeros(0, dtype=np.int64), properties={key: [] for key in keys})
    if lead_ids.size == 0 or (types is not None and not types):
        return empty
    table = LeadEvent._meta.db_table
    at = epoch_us_sql("occurred_at")
    selects, params = [], []
    wanted = sorted(set(types)) if types is not None else None
    if wanted is not None:
        selects.append("CASE type " + " ".join(f"WHEN %s THEN {code}" for code in range(len(wanted))) + " END")
        params += wanted
    else:
        selects.append("type")
    for key in keys:
        kind_sql, value_sql, key_params = _property_sql(key, sorted(set(property_types)))
        selects += [kind_sql, value_sql]
        params += key_params
    where = ["lead_id >= %s", "lead_id <= %s"]
    params += [int(lead_ids[0]), int(lead_ids[-1])]
    if wanted is not None:
        where.append(f"{no_index('type')} IN ({', '.join(['%s'] * len(wanted))})")
        params.extend(wanted)
    if since_us is not None:
        where.append(f"{at} >= %s")
        params.append(since_us)
    sql = f"SELECT {', '.join(['lead_id', at, *selects])} FROM {table} WHERE {' AND '.join(where)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return empty
    columns = list(zip(*rows, strict=True))
    owners = np.fromiter(columns[0], dtype=np.int64, count=len(rows))
    at_us = np.fromiter(columns[1], dtype=np.int64, count=len(rows))
    if wanted is not None:
        names = wanted
        codes = np.fromiter(columns[2], dtype=np.int32, count=len(rows))
    else:
        coding: dict[str, int] = {}
        codes = np.fromiter((coding.setdefault(t, len(coding)) for t in columns[2]), dtype=np.int32, count=len(rows))
        names = list(coding)
    position = np.searchsorted(lead_ids, owners)
    position[position >= lead_ids.size] = 0
    keep = lead_ids[position] == owners
    if ordered:
        order = np.lexsort((-at_us, position))
        order = order[keep[order]]
    else:
        order, limit_per_lead = np.flatnonzero(keep), None
    lead_index = position[order]
    if limit_per_lead is not None and lead_index.size:
        starts = np.flatnonzero(np.r_[True, lead_index[1:] != lead_index[:-1]])
        first = np.repeat(starts, np.diff(np.r_[starts, lead_index.size]))
        ranked = np.arange(lead_index.size) - first < limit_per_lead
        order, lead_index = order[ranked], lead_index[ranked]
    properties: dict[str, list[Any]] = {}
    picked = order.tolist()
    for k, key in enumerate(keys):
        kinds, values = columns[3 + 2 * k], columns[4 + 2 * k]
        properties[key] = [values[row] if kinds[row] in _TEXT else None if kinds[row] is None
                           else _property_value(kinds[row], values[row]) for row in picked]
    return EventColumns(lead_index=lead_index.astype(np.intp), type_code=codes[order], type_names=list(names),
                        at_us=at_us[order], properties=properties)


def load_lead_columns(queryset, fields: Sequence[str], *, raw: Collection[str] = ()) -> tuple[np.ndarray,
                                                                                              dict[str, list[Any]]]:
    """Lead columns in id order: ``fields`` are Lead field names, plus ``custom:NAME`` read from ``custom``.

    The query is the queryset's own (``values_list``), run on a plain cursor with Django's converters applied column
    by column, so every value has the type the per-lead scorer sees (Decimal, bool, str...) without the per-row
    overhead. Fields in ``raw`` keep the database's value (``scored_at`` is only written back as a version check).
    Custom attributes are read out of the JSON in SQL, with their JSON type, so no JSON is parsed in Python.
    """
    custom_keys = list(dict.fromkeys(name.removeprefix("custom:") for name in fields if name.startswith("custom:")))
    plain = [name for name in dict.fromkeys(fields) if not name.startswith("custom:")]
    column = f"{connection.ops.quote_name(Lead._meta.db_table)}.{connection.ops.quote_name('custom')}"
    annotations = {}
    for k, key in enumerate(custom_keys):
        kind_sql, value_sql, params = _json_key_sql(column, key)
        annotations[f"custom_kind_{k}"] = RawSQL(kind_sql, params, output_field=models.TextField())
        annotations[f"custom_value_{k}"] = RawSQL(value_sql, params, output_field=models.TextField())
    query = queryset.annotate(**annotations).order_by("id").values_list("id", *plain, *annotations).query
    compiler = query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return np.zeros(0, dtype=np.int64), {name: [] for name in fields}
    transposed = [list(col) for col in zip(*rows, strict=True)]
    names = ["id", *plain, *annotations]
    expressions = [selected[0] for selected in compiler.select]
    for index, (converters, expression) in compiler.get_converters(expressions).items():
        if names[index] in raw:
            continue
        values = transposed[index]
        for converter in converters:
            values = [converter(value, expression, connection) for value in values]
        transposed[index] = values
    ids = np.fromiter(transposed[0], dtype=np.int64, count=len(rows))
    result: dict[str, list[Any]] = {name: transposed[1 + k] for k, name in enumerate(plain)}
    for k, key in enumerate(custom_keys):
        kinds, values = transposed[1 + len(plain) + 2 * k], transposed[2 + len(plain) + 2 * k]
        result[f"custom:{key}"] = [None if kind is None else value if kind == "text" else _property_value(kind, value)
                                   for kind, value in zip(kinds, values, strict=True)]
    return ids, result
