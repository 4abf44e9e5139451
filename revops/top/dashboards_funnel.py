"""The cohort funnel from the lead history: of the leads created in the period, how many ever reached each stage.
A lead counts as having reached a stage when any of its history rows holds that stage or a later funnel stage, so a
lead that decayed out of MQL, was disqualified or suppressed later still counts as having reached MQL. Beside it, the
activity view (the leads that crossed into each stage during the period, whenever they were created) and the median
days between consecutive stages.

All three read the funnel summary (leads/stage_models.py: per lead the first time it reached each stage, and the
history rows where its funnel rank changed), which leads/services/stage_summary.py keeps from the history: the
figures are those of the history, without scanning it. Each refreshes the summary first."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from django.db import connection
from django.db.models import Count, F

from leads.choices import Stage
from leads.services import stage_summary_refresh_quietly
from leads.stage_models import FUNNEL_STAGES as FUNNEL
from leads.stage_models import PREVIOUS_COLUMNS, REACHED_COLUMNS, StageMove, StageReach

from .dashboard_facts import is_facts, reach
from .dashboards_counts import duration_buckets
from .dashboards_filters import DashboardFilters
from .dashboards_stats import column_percentiles, days_between
from .duration_days import bucket_percentiles
from .models import DurationDay, LeadFacts


def cohort_funnel(leads) -> list[dict]:
    """One row per funnel stage: leads of the cohort that ever reached it, the share of the cohort, and the
    conversion from the previous stage. One aggregate query over the cohort's summary rows (leads/stage_models.py:
    the first time each lead reached each stage, kept from the history)."""
    stage_summary_refresh_quietly()
    counts = dict(zip(FUNNEL[1:], StageReach.objects.filter(lead__in=leads.order_by().values("id")).aggregate(
        **{column: Count(column) for column in REACHED_COLUMNS}).values(), strict=True))
    cohort = leads.count()
    return cohort_rows(cohort, counts)


def cohort_rows(cohort: int, counts: dict[str, int]) -> list[dict]:
    """The cohort funnel from the cohort's size and, per stage after "new", the leads that ever reached it."""
    counts = {**counts, Stage.NEW: cohort}  # every lead of the cohort was created, whatever stage it was created in
    rows, previous = [], None
    for stage in FUNNEL:
        reached = counts[stage]
        rows.append({
            "stage": Stage(stage).label, "reached": reached,
            "reached_pct": round(100 * reached / cohort, 1) if cohort else None,
            "from_previous_pct": (round(100 * reached / previous, 1) if previous else None)
            if previous is not None else None,
        })
        previous = reached
    return rows


# --- Activity view and time between stages: one statement each over the summary ----------------------------------

def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def activity_funnel(leads, start: datetime | None, end: datetime | None, *, narrow: bool = True,
                    created: int | None = None) -> list[dict]:
    """By activity: per funnel stage, the leads that crossed into it (or past it) during [start, end) — a move from
    below the stage to it or a later stage; "New" is the leads created in the period. A lead that decays and
    qualifies again in the period counts once. ``leads`` carries every filter but the period; ``narrow=False``:
    they are every live lead (the live facts, no filter), so a move counts unless its lead was merged, and the few
    merged leads are looked up instead of the million live ones. ``created``: the leads created in the period, when
    the caller has counted them (the cohort funnel's size)."""
    stage_summary_refresh_quietly()
    if narrow or not is_facts(leads):
        ids, params = leads.order_by().values("id").query.sql_with_params()
        where, bounds = [f"m.lead_id IN ({ids})"], list(params)
    else:
        ids, params = LeadFacts.objects.filter(merged=True).values("id").query.sql_with_params()
        where, bounds = [f"m.lead_id NOT IN ({ids})"], list(params)
    if start is not None:
        where.append("m.at >= %s")
        bounds.append(connection.ops.adapt_datetimefield_value(start))
    if end is not None:
        where.append("m.at < %s")
        bounds.append(connection.ops.adapt_datetimefield_value(end))
    # A lead counts once per stage: by its first crossing into the stage in the period, the crossing whose
    # previous one (leads/stage_models.py StageMove) is before the period or none. A count, not a sort of the moves.
    first = "m.{column} IS NULL" if start is None else "(m.{column} IS NULL OR m.{column} < %s)"
    crossed = ", ".join(
        f"SUM(CASE WHEN m.rank_before < {index} AND m.rank_now >= {index} AND {first.format(column=column)} "
        "THEN 1 ELSE 0 END)" for index, column in enumerate(PREVIOUS_COLUMNS, start=1))
    since = [] if start is None else [connection.ops.adapt_datetimefield_value(start)] * len(PREVIOUS_COLUMNS)
    where.append("m.rank_now > m.rank_before AND m.rank_now >= 1")  # up the funnel: the index stagemove_up
    sql = f"SELECT {crossed} FROM {_table(StageMove)} m WHERE {' AND '.join(where)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*since, *bounds])
        crossed_counts = [count or 0 for count in cursor.fetchone()]
    counts = [created if created is not None else _created_in(leads, start, end), *crossed_counts]
    rows, previous = [], None
    for stage, reached in zip(FUNNEL, counts, strict=True):
        rows.append({"stage": Stage(stage).label, "entered": reached,
                     "from_previous_pct": round(100 * reached / previous, 1) if previous else None})
        previous = reached
    return rows


def _created_in(leads, start, end) -> int:
    if start is not None:
        leads = leads.filter(created_at__gte=start)
    if end is not None:
        leads = leads.filter(created_at__lt=end)
    return leads.count()


def _stage_times_digest(filters: DashboardFilters) -> dict:
    """Per step (``d1``…), its leads and median and 90th percentile days, read from the durations' digest."""
    buckets: dict[int, Counter] = defaultdict(Counter)
    for metric, bucket, _, n in duration_buckets(filters, DurationDay.STAGE_STEPS, []):
        buckets[metric][bucket] += n
    found = {}
    for index, metric in enumerate(DurationDay.STAGE_STEPS, start=1):
        if buckets[metric]:
            read = bucket_percentiles(buckets[metric])
            found[f"d{index}"] = {"n": read["n"], "p50": read["p50"].total_seconds() / 86400,
                                  "p90": read["p90"].total_seconds() / 86400}
    return found


def stage_times(leads, filters: DashboardFilters | None = None) -> list[dict]:
    """Median (and 90th percentile) days between consecutive funnel stages, for the leads of ``leads`` that reached
    both: from the first time a lead reached a stage (or a later one) to the first time it reached the next. With
    ``filters`` (``leads`` being theirs), read from the durations' digest of the period (duration_days.py: each
    within 2.5 %, the counts exact); else the database finds each lead's first dates and takes the percentiles of
    each step's durations, in one pass."""
    if filters is not None:
        found = _stage_times_digest(filters)
    else:
        if not is_facts(leads):  # the facts carry the first times; a lead's are in the funnel summary
            stage_summary_refresh_quietly()
        firsts = {f"r{index}": F(reach(leads, column)) for index, column in
                  enumerate(["first_at", *REACHED_COLUMNS])}
        reached, params = leads.order_by().values(**firsts).query.sql_with_params()
        steps = ", ".join(f"{days_between(f'f.r{index}', f'f.r{index - 1}')} AS d{index}"
                          for index in range(1, len(FUNNEL)))
        found = column_percentiles(f"SELECT {steps} FROM ({reached}) f", params,
                                   [f"d{index}" for index in range(1, len(FUNNEL))], grouped=False).get(None, {})
    rows = []
    for index in range(1, len(FUNNEL)):
        entry = found.get(f"d{index}")
        rows.append({
            "step": f"{Stage(FUNNEL[index - 1]).label} → {Stage(FUNNEL[index]).label}",
            "leads": entry["n"] if entry else 0,
            "median_days": round(float(entry["p50"]), 1) if entry else None,
            "p90_days": round(float(entry["p90"]), 1) if entry else None,
        })
    return rows
