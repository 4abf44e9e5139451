"""Statistics the dashboard pages share, computed by the database: medians and 90th percentiles per group (ordered-set
aggregates on PostgreSQL, a windowed query that returns at most three rows per group on SQLite), histogram buckets of
a duration, reading a JSON list column as rows, and the two-proportion test of an A/B result. Works on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from math import erfc, sqrt

from django.db import connection
from django.db.models import Count, F, Q

from .dashboards_bands import wilson_interval

__all__ = ["as_days", "as_hours", "grouped_percentiles", "percentiles_of", "column_percentiles", "days_between",
           "json_objects", "duration_histogram", "two_proportion_test", "wilson_interval", "pct", "HOURS_BUCKETS"]

#: Histogram buckets of a speed-to-lead duration: (label, upper bound); the last bucket is open-ended.
HOURS_BUCKETS = [("< 5 min", timedelta(minutes=5)), ("5–30 min", timedelta(minutes=30)),
                 ("30 min–2 h", timedelta(hours=2)), ("2–8 h", timedelta(hours=8)), ("8–24 h", timedelta(hours=24)),
                 ("1–3 days", timedelta(days=3)), ("> 3 days", None)]


def pct(part: int | float, whole: int | float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _seconds(value) -> float | None:
    """A duration as the database returned it: a timedelta (PostgreSQL, or the ORM's converter) or microseconds
    (SQLite's raw timestamp difference)."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value) / 1_000_000


def as_days(value) -> float | None:
    seconds = _seconds(value)
    return None if seconds is None else round(seconds / 86400, 1)


def as_hours(value) -> float | None:
    seconds = _seconds(value)
    return None if seconds is None else round(seconds / 3600, 2)


def grouped_percentiles(rows) -> dict:
    """Per group, the median (mean of the middle one or two values) and the 90th percentile (nearest rank:
    the value at rank ceil(0.9 n)) of ``rows``, a ``values(g=..., v=...)`` queryset (group, orderable value)."""
    inner, params = rows.query.sql_with_params()
    return percentiles_of(inner, params)


def percentiles_of(sql: str, params, median_only: bool = False) -> dict:
    """Per group ``g`` of the rows ``sql`` selects (columns ``g`` and ``v``; a null ``v`` is left out): the number
    of values ``n``, the median ``p50`` and the 90th percentile ``p90`` (``None`` if ``median_only``), computed by the
    database. The raw values come back as given (a timedelta or microseconds for durations, numbers otherwise).

    PostgreSQL: the ordered-set aggregates, one sort per group (``percentile_cont(0.5)`` is the mean of the middle
    values, ``percentile_disc(0.9)`` the value at rank ceil(0.9 n)). SQLite has neither: each group's values are
    ranked by a window and only the rows at those ranks come back."""
    if connection.vendor == "postgresql":
        p90 = "NULL" if median_only else "percentile_disc(0.9) WITHIN GROUP (ORDER BY t.v)"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT t.g, COUNT(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY t.v), {p90} "
                           f"FROM ({sql}) t WHERE t.v IS NOT NULL GROUP BY t.g", params)
            return {group: {"n": size, "p50": median, "p90": high}
                    for group, size, median, high in cursor.fetchall()}
    ranked = (
        "SELECT g, v, rn, n FROM (SELECT t.g AS g, t.v AS v, ROW_NUMBER() OVER (PARTITION BY t.g ORDER BY t.v) AS rn,"
        f" COUNT(*) OVER (PARTITION BY t.g) AS n FROM ({sql}) t WHERE t.v IS NOT NULL) r"
        " WHERE rn = (n + 1) / 2 OR rn = (n + 2) / 2" + ("" if median_only else " OR rn = (9 * n + 9) / 10")
    )
    picked: dict = {}
    with connection.cursor() as cursor:
        cursor.execute(ranked, params)
        for group, value, rank, size in cursor.fetchall():
            entry = picked.setdefault(group, {"n": size, "middle": [], "p90": None})
            if rank in ((size + 1) // 2, (size + 2) // 2):
                entry["middle"].append(value)
            if not median_only and rank == (9 * size + 9) // 10:
                entry["p90"] = value
    result = {}
    for group, entry in picked.items():
        middle = entry["middle"]
        if all(isinstance(v, timedelta) for v in middle):
            median = sum(middle, timedelta()) / len(middle)
        else:
            median = sum(float(v) for v in middle) / len(middle)
        result[group] = {"n": entry["n"], "p50": median, "p90": entry["p90"]}
    return result


def column_percentiles(sql: str, params, columns: list[str], grouped: bool = True) -> dict:
    """Per group ``g`` of the rows ``sql`` selects (``grouped=False``: one group, ``None``, and no ``g`` column): its
    number of rows (``rows``) and per value column of ``columns`` ``percentiles_of``'s n, p50 and p90 of that column's
    non-null values (a column with none is left out). A group without rows is left out. PostgreSQL reads the rows
    once, each column's aggregates sorting its own values; SQLite counts, then ranks each column, a statement
    each."""
    group = "t.g" if grouped else "NULL"
    grouping = " GROUP BY t.g" if grouped else ""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {group}, COUNT(*) FROM ({sql}) t{grouping}", params)
            result: dict = {key: {"rows": rows} for key, rows in cursor.fetchall() if rows}
        for column in columns:
            for key, entry in percentiles_of(f"SELECT {group} AS g, t.{column} AS v FROM ({sql}) t", params).items():
                result[key][column] = entry
        return result
    aggregates = ", ".join(f"COUNT(t.{column}), percentile_cont(0.5) WITHIN GROUP (ORDER BY t.{column}), "
                           f"percentile_disc(0.9) WITHIN GROUP (ORDER BY t.{column})" for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {group}, COUNT(*), {aggregates} FROM ({sql}) t{grouping}", params)
        found = cursor.fetchall()
    return {key: {"rows": rows, **{column: {"n": values[3 * index], "p50": values[3 * index + 1],
                                            "p90": values[3 * index + 2]}
                                   for index, column in enumerate(columns) if values[3 * index]}}
            for key, rows, *values in found if rows}


def days_between(end: str, start: str) -> str:
    """SQL for the days between two timestamp columns, as a float, in the database's own arithmetic (PostgreSQL's
    ``date_part`` is a double; ``EXTRACT`` would be a numeric, many times slower to sort)."""
    if connection.vendor == "postgresql":
        return f"(date_part('epoch', {end} - {start}) / 86400.0)"
    return f"(julianday({end}) - julianday({start}))"


@dataclass(frozen=True)
class JsonObjects:
    """SQL reading a JSON list column as one row per element, in the database's own JSON functions: ``elements`` is
    the table function to CROSS JOIN (its alias ``r``; a value that is not a list reads as empty), ``is_object`` the
    condition that an element is an object; ``text(key)`` and ``number(key)`` read one of its keys (a number that is
    not one reads as 0)."""

    elements: str
    is_object: str
    text: Callable[[str], str]
    number: Callable[[str], str]


def json_objects(column: str) -> JsonObjects:
    if connection.vendor == "postgresql":
        return JsonObjects(
            elements=f"jsonb_array_elements(CASE WHEN jsonb_typeof({column}) = 'array' THEN {column} "
                     "ELSE '[]'::jsonb END) AS r(value)",
            is_object="jsonb_typeof(r.value) = 'object'", text=lambda key: f"r.value ->> '{key}'",
            number=lambda key: f"CASE WHEN jsonb_typeof(r.value -> '{key}') = 'number' "
                               f"THEN (r.value ->> '{key}')::numeric ELSE 0 END")
    return JsonObjects(
        elements=f"json_each(CASE WHEN json_type({column}) = 'array' THEN {column} ELSE '[]' END) AS r",
        is_object="r.type = 'object'", text=lambda key: f"json_extract(r.value, '$.{key}')",
        number=lambda key: f"CASE WHEN json_type(r.value, '$.{key}') IN ('integer', 'real') "
                           f"THEN json_extract(r.value, '$.{key}') ELSE 0 END")


def duration_histogram(rows, start: str, end: str, buckets=HOURS_BUCKETS) -> list[dict]:
    """How many of ``rows`` took each bucket's time from ``start`` to ``end`` (one aggregate query)."""
    done = Q(**{f"{end}__isnull": False, f"{start}__isnull": False})
    filters, lower = {}, None
    for index, (_, upper) in enumerate(buckets):
        condition = done
        if lower is not None:
            condition &= Q(**{f"{end}__gte": F(start) + lower})
        if upper is not None:
            condition &= Q(**{f"{end}__lt": F(start) + upper})
        filters[f"b{index}"] = Count("pk", filter=condition)
        lower = upper
    counts = rows.aggregate(**filters)
    return [{"bucket": label, "count": counts[f"b{index}"]} for index, (label, _) in enumerate(buckets)]


def two_proportion_test(successes_a: int, trials_a: int, successes_b: int, trials_b: int) -> dict | None:
    """The pooled two-proportion z-test of B against A (two-sided): z, p and a sentence a manager can act on."""
    if not trials_a or not trials_b:
        return None
    p_a, p_b = successes_a / trials_a, successes_b / trials_b
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    spread = sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))
    if spread == 0:
        z, p_value = 0.0, 1.0
    else:
        z = (p_b - p_a) / spread
        p_value = erfc(abs(z) / sqrt(2))
    significant = p_value < 0.05
    direction = "better" if p_b > p_a else "worse" if p_b < p_a else "the same"
    text = (f"B {100 * p_b:.1f} % ({successes_b}/{trials_b}) against A {100 * p_a:.1f} % ({successes_a}/{trials_a}): "
            f"z = {z:.2f}, p = {p_value:.3f}. "
            + (f"B converts {direction} than A (significant at 5 %)." if significant
               else "Not significant at 5 %: the difference may be chance; keep the experiment running."))
    return {"z": round(z, 2), "p": round(p_value, 4), "significant": significant, "text": text}
