"""The durations' digest (revops/top/models.py ``DurationDay``): per day and combination of the filters' dimensions, the
live leads counted per bucket of each duration (to assignment, to first touch, between funnel stages), kept with the
roll-up of the days whose facts were rebuilt (revops/top/dashboard_facts.py), in one statement per rebuild.

A duration of d milliseconds falls in bucket k = floor(log(d) / log(1.05)) + 1, the durations from 1.05^(k-1) to
1.05^k ms (a negative one in -k, one under a millisecond in 0). A bucket stands for 2 · 1.05^k / 2.05 ms, which is
within (1.05 - 1) / (1.05 + 1) < 2.5 % of every duration in it: a percentile read from merged buckets (any days, any
filters) is within 2.5 % of the exact one (and 1 ms; a median of two middle values of opposite signs, which only a
negative duration can give, within 2.5 % of the larger). At a million leads a quarter's digest is tens of thousands
of rows against a third of a million leads, and the pages sum it instead of sorting them. The histogram bucket
(``HOURS_BUCKETS``) is a column of its own, so the histograms are exact."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from math import log

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from leads.stage_models import REACHED_COLUMNS

from .dashboards_stats import HOURS_BUCKETS
from .models import DurationDay

GROWTH = 1.05
#: The relative error of a duration read from its bucket: (1.05 - 1) / (1.05 + 1).
RELATIVE_ERROR = (GROWTH - 1) / (GROWTH + 1)
DIMENSIONS = ["source", "campaign", "segment", "owner_id", "band"]
#: Per metric, the durations' (end, start) columns of the facts.
METRICS = {DurationDay.ASSIGNMENT: ("first_assigned_at", "created_at"),
           DurationDay.FIRST_TOUCH: ("first_touched_at", "first_assigned_at"),
           **{metric: (end, start) for metric, (start, end) in
              zip(DurationDay.STAGE_STEPS, pairwise(["first_at", *REACHED_COLUMNS]), strict=True)}}


def bucket_value(bucket: int) -> timedelta:
    """The duration bucket ``bucket`` stands for: 2 · 1.05^k / 2.05 ms, signed; 0 for bucket 0."""
    if bucket == 0:
        return timedelta(0)
    magnitude = 2 * GROWTH ** abs(bucket) / (1 + GROWTH) / 1000
    return timedelta(seconds=magnitude if bucket > 0 else -magnitude)


def bucket_percentiles(counts: dict[int, int]) -> dict:
    """n, median (the mean of the middle one or two values) and 90th percentile (rank ceil(0.9 n)) of bucketed
    values (leads per bucket), as ``dashboards_stats.percentiles_of`` gives them exactly, each value read as its
    bucket's (a timedelta)."""
    n = sum(counts.values())
    wanted = {(n + 1) // 2, (n + 2) // 2, (9 * n + 9) // 10}
    found, seen = {}, 0
    for bucket in sorted(counts):
        below, seen = seen, seen + counts[bucket]
        for rank in wanted:
            if below < rank <= seen:
                found[rank] = bucket_value(bucket)
    return {"n": n, "p50": (found[(n + 1) // 2] + found[(n + 2) // 2]) / 2, "p90": found[(9 * n + 9) // 10]}


def _milliseconds(end: str, start: str) -> str:
    """SQL for the milliseconds from ``start`` to ``end`` (columns), as a float exact to the microsecond: PostgreSQL's
    epoch of the interval; on SQLite the microseconds between the two stored texts in SQLite's own functions.

    SQLite stores a datetime as ``YYYY-MM-DD HH:MM:SS[.ffffff]`` in UTC: whole seconds from ``strftime('%s')`` of its
    first 19 characters and the six digits after the dot (none: 0). The same value as Django's
    ``django_timestamp_diff``, which parses both texts in Python for every row: on the roll-up of a day of thousands
    of leads that function was most of the minute's refresh, and the refresh holds SQLite's one writer."""
    if connection.vendor == "postgresql":
        return f"(date_part('epoch', {end} - {start}) * 1000.0)"
    return f"(({_sqlite_microseconds(end)} - {_sqlite_microseconds(start)}) / 1000.0)"


def _sqlite_microseconds(column: str) -> str:
    # The seconds from the text without its fraction (SQLite would round .999999 up to the next second); "%%s": the
    # statement is run with parameters, so a literal percent sign is doubled.
    return (f"(CAST(strftime('%%s', substr({column}, 1, 19)) AS INTEGER) * 1000000"
            f" + CAST(substr({column}, 21, 6) AS INTEGER))")


def _bucket(ms: str) -> str:
    step = repr(log(GROWTH))
    return (f"CASE WHEN {ms} >= 1 THEN CAST(FLOOR(LN({ms}) / {step}) AS INTEGER) + 1 "
            f"WHEN {ms} <= -1 THEN -(CAST(FLOOR(LN(-({ms})) / {step}) AS INTEGER) + 1) ELSE 0 END")


def _hours(ms: str) -> str:
    bounds = [upper for _, upper in HOURS_BUCKETS if upper is not None]
    cases = " ".join(f"WHEN {ms} < {int(upper.total_seconds() * 1000)} THEN {index}"
                     for index, upper in enumerate(bounds))
    return f"CASE {cases} ELSE {len(bounds)} END"


def digest_select(facts: QuerySet, by: list[str], metrics=tuple(METRICS)) -> tuple[str, list]:
    """SQL counting the rows of ``facts`` (lead facts, filtered) per ``by`` (some of their columns or annotations),
    metric (of ``metrics``), duration bucket and histogram bucket: columns ``*by, metric, bucket, hours, n``."""
    table = connection.ops.quote_name(facts.model._meta.db_table)
    columns = {name: f"{table}.{connection.ops.quote_name(name)}" for name in
               {column for pair in METRICS.values() for column in pair}}
    annotations = {f"m{metric}": _milliseconds(*(columns[name] for name in METRICS[metric])) for metric in metrics}
    rows = facts.order_by().annotate(**{name: RawSQL(sql, ()) for name, sql in annotations.items()})\
        .values(*by, *annotations)
    inner, params = rows.query.sql_with_params()
    keys = "".join(f"t.{connection.ops.quote_name(name)}, " for name in by)
    grouping = ", ".join(str(position) for position in [*range(1, len(by) + 1), len(by) + 2, len(by) + 3])
    parts = []
    for metric in metrics:
        ms = f"t.m{metric}"
        parts.append(f"SELECT {keys}{metric} AS metric, {_bucket(ms)} AS bucket, {_hours(ms)} AS hours, "
                     f"COUNT(*) AS n FROM t WHERE {ms} IS NOT NULL GROUP BY {grouping}")
    # The rows and their durations computed once (a materialized CTE), then bucketed per metric: written as a
    # subquery per part, the database put each duration's expression in every place the bucket reads it, a dozen
    # times per row and metric.
    return f"WITH t AS MATERIALIZED ({inner}) " + " UNION ALL ".join(parts), list(params)


def duration_days_select(facts: QuerySet) -> tuple[list[str], str, list]:
    """The columns of the digest's rows and the SQL that selects them from ``facts``: some days' live facts,
    annotated with their ``day`` (``dashboard_facts.days_rebuild`` inserts them, ``days_settle`` reads them)."""
    sql, params = digest_select(facts, ["day", *DIMENSIONS])
    return ["day", *DIMENSIONS, "metric", "bucket", "hours", "n"], sql, params
