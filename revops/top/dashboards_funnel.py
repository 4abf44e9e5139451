"""The cohort funnel from the lead history: of the leads created in the period, how many ever reached each stage.
A lead counts as having reached a stage when any of its history rows holds that stage or a later funnel stage, so a
lead that decayed out of MQL, was disqualified or suppressed later still counts as having reached MQL. Beside it, the
activity view (the leads that crossed into each stage during the period, whenever they were created) and the median
days between consecutive stages."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import Count, Q

from leads.choices import Stage
from leads.models import Lead

FUNNEL = [Stage.NEW, Stage.ENGAGED, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER]


def cohort_funnel(leads) -> list[dict]:
    """One row per funnel stage: leads of the cohort that ever reached it, the share of the cohort, and the
    conversion from the previous stage. One aggregate query over the history rows of the cohort."""
    history = Lead.history.model.objects.filter(id__in=leads.values("id"))
    counts = history.aggregate(**{
        stage: Count("id", distinct=True, filter=Q(stage__in=FUNNEL[index:]))
        for index, stage in enumerate(FUNNEL) if index
    })
    cohort = leads.count()
    counts[Stage.NEW] = cohort  # every lead of the cohort was created, whatever stage it was created in
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


# --- Activity view and time between stages: raw SQL over the history, one statement each -------------------------

def _rank_sql(column: str) -> str:
    """A stage's position in the funnel (0 = new … 5 = customer); -1 for stages outside it (nurture, disqualified,
    suppressed …)."""
    whens = " ".join(f"WHEN '{stage.value}' THEN {index}" for index, stage in enumerate(FUNNEL))
    return f"(CASE {column} {whens} ELSE -1 END)"


def _history_table() -> str:
    return connection.ops.quote_name(Lead.history.model._meta.db_table)


def _transitions_sql(leads) -> tuple[str, list]:
    """Every history row of ``leads`` with its funnel rank and the rank of the lead's previous row (-1 for the row
    that created the lead): the lead's moves, in order."""
    ids, params = leads.order_by().values("id").query.sql_with_params()
    sql = (
        f"SELECT h.id AS lead_id, h.history_date AS at, {_rank_sql('h.stage')} AS rank_now, "
        f"COALESCE(LAG({_rank_sql('h.stage')}) OVER (PARTITION BY h.id ORDER BY h.history_date, h.history_id), -1) "
        f"AS rank_before FROM {_history_table()} h WHERE h.id IN ({ids})"
    )
    return sql, list(params)


def activity_funnel(leads, start: datetime | None, end: datetime | None) -> list[dict]:
    """By activity: per funnel stage, the leads that crossed into it (or past it) during [start, end) — a move from
    below the stage to it or a later stage; "New" is the leads created in the period. A lead that decays and
    qualifies again in the period counts once. ``leads`` carries every filter but the period."""
    moves, params = _transitions_sql(leads)
    where, bounds = [], []
    if start is not None:
        where.append("m.at >= %s")
        bounds.append(connection.ops.adapt_datetimefield_value(start))
    if end is not None:
        where.append("m.at < %s")
        bounds.append(connection.ops.adapt_datetimefield_value(end))
    crossed = ", ".join(
        f"COUNT(DISTINCT CASE WHEN m.rank_before < {index} AND m.rank_now >= {index} THEN m.lead_id END)"
        for index in range(1, len(FUNNEL)))
    sql = f"SELECT {crossed} FROM ({moves}) m" + (f" WHERE {' AND '.join(where)}" if where else "")
    with connection.cursor() as cursor:
        cursor.execute(sql, params + bounds)
        counts = [_created_in(leads, start, end), *cursor.fetchone()]
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


def _days_between(end: str, start: str) -> str:
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 86400.0)"
    return f"(julianday({end}) - julianday({start}))"


def stage_times(leads) -> list[dict]:
    """Median (and 90th percentile) days between consecutive funnel stages, for the leads of ``leads`` that reached
    both: from the first time a lead reached a stage (or a later one) to the first time it reached the next. The
    database finds each lead's first dates, pairs them, ranks the pairs' durations and returns the middle rows."""
    moves, params = _transitions_sql(leads)
    firsts = ", ".join(f"MIN(CASE WHEN m.rank_now >= {index} THEN m.at END) AS r{index}"
                       for index in range(1, len(FUNNEL)))
    pairs = " UNION ALL ".join(
        f"SELECT {index} AS step, {_days_between(f'f.r{index}', 'f.r0' if index == 1 else f'f.r{index - 1}')} AS d "
        f"FROM f WHERE f.r{index} IS NOT NULL AND {'f.r0' if index == 1 else f'f.r{index - 1}'} IS NOT NULL"
        for index in range(1, len(FUNNEL)))
    sql = (
        f"WITH f AS (SELECT m.lead_id, MIN(m.at) AS r0, {firsts} FROM ({moves}) m GROUP BY m.lead_id), "
        f"p AS ({pairs}) "
        "SELECT step, d, rn, n FROM (SELECT p.step, p.d, ROW_NUMBER() OVER (PARTITION BY p.step ORDER BY p.d) AS rn, "
        "COUNT(*) OVER (PARTITION BY p.step) AS n FROM p) r "
        "WHERE rn = (n + 1) / 2 OR rn = (n + 2) / 2 OR rn = (9 * n + 9) / 10"
    )
    picked: dict[int, dict] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for step, days, rank, size in cursor.fetchall():
            entry = picked.setdefault(step, {"n": size, "middle": [], "p90": None})
            if rank in ((size + 1) // 2, (size + 2) // 2):
                entry["middle"].append(float(days))
            if rank == (9 * size + 9) // 10:
                entry["p90"] = float(days)
    rows = []
    for index in range(1, len(FUNNEL)):
        entry = picked.get(index)
        rows.append({
            "step": f"{Stage(FUNNEL[index - 1]).label} → {Stage(FUNNEL[index]).label}",
            "leads": entry["n"] if entry else 0,
            "median_days": round(sum(entry["middle"]) / len(entry["middle"]), 1) if entry else None,
            "p90_days": round(entry["p90"], 1) if entry else None,
        })
    return rows
