"""Speed-to-lead of the leads created in the period: time to assignment (creation → the lead's first routing decision
that gave it an owner), time to first touch (that assignment → the owner's first disposition or logged activity,
``Lead.first_touched_at``), SLA attainment (follow-ups done before their due time, of those done or overdue), by team,
rep, source and band; the distribution as histogram buckets with the median and 90th percentile; the reps'
dispositions. Aggregate SQL only: each grouping's counts and percentiles in one statement (dashboards_stats.py), and
the follow-up counts of every grouping in one more."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, DateTimeField, DurationField, ExpressionWrapper, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from routing.choices import Disposition, TaskStatus
from routing.models import Task
from routing.services import first_assignments_refresh_quietly

from .dashboard_facts import is_facts
from .dashboards_stats import as_hours, column_percentiles, duration_histogram, pct

#: Per dimension: the path from a lead.
DIMENSIONS = {"team": "owner__rep__team__name", "rep": "owner__username", "source": "source", "band": "band"}
#: The dimensions a follow-up takes from its assignee (the path from the task); the others from its lead.
TASK_DIMENSIONS = {"team": "assignee__rep__team__name", "rep": "assignee__username"}


def with_first_assignment(leads):
    """``leads`` annotated with ``first_assigned_at``: the first routing decision that gave the lead an owner (a
    reassignment later does not reset the clock), or ``assigned_at`` for a lead given an owner by hand. The first
    decision is read from its summary (routing/summary_models.py, refreshed here), one joined row per lead."""
    if is_facts(leads):  # the facts carry it (revops/top/dashboard_facts.py)
        return leads
    first_assignments_refresh_quietly()
    return leads.annotate(first_assigned_at=Coalesce(F("first_assignment__at"), F("assigned_at"),
                                                     output_field=DateTimeField()))


def _to_assignment():
    return ExpressionWrapper(F("first_assigned_at") - F("created_at"), output_field=DurationField())


def _to_first_touch():
    return ExpressionWrapper(F("first_touched_at") - F("first_assigned_at"), output_field=DurationField())


def speed_histograms(leads) -> dict[str, list[dict]]:
    """How many leads took each bucket's time to be assigned, and to be touched after assignment."""
    annotated = with_first_assignment(leads)
    return {"assignment": duration_histogram(annotated, "created_at", "first_assigned_at"),
            "first_touch": duration_histogram(annotated, "first_assigned_at", "first_touched_at")}


def sla_counts(leads, now) -> dict[str | None, dict]:
    """Per dimension (None: all leads, then team, rep, source, band) and value: the follow-ups of ``leads`` done,
    done on time, and open past their due time. One statement: the follow-ups joined once with the leads (their
    source and band) and the assignee's team (a CTE), then grouped once per dimension."""
    lead_side = [dimension for dimension in DIMENSIONS if dimension not in TASK_DIMENSIONS]
    tasks_sql, tasks_params = Task.objects.exclude(status=TaskStatus.CANCELLED).order_by().values(
        "lead_id", "status", "completed_at", "due_at", **{dimension: F(path) for dimension, path in
                                                          TASK_DIMENSIONS.items()}).query.sql_with_params()
    leads_sql, leads_params = leads.order_by().values("id", *(DIMENSIONS[d] for d in lead_side)).query.sql_with_params()
    counts = ("SUM(CASE WHEN s.status = %s THEN 1 ELSE 0 END), "
              "SUM(CASE WHEN s.status = %s AND s.completed_at <= s.due_at THEN 1 ELSE 0 END), "
              "SUM(CASE WHEN s.status = %s AND s.due_at < %s THEN 1 ELSE 0 END)")
    count_params = [TaskStatus.DONE, TaskStatus.DONE, TaskStatus.OPEN, connection.ops.adapt_datetimefield_value(now)]
    groups = [f"SELECT '', '', {counts} FROM s",  # every follow-up: no grouping
              *(f"SELECT '{dimension}', s.{dimension}, {counts} FROM s GROUP BY s.{dimension}"
                for dimension in DIMENSIONS)]
    columns = ", ".join([*(f"t.{dimension}" for dimension in TASK_DIMENSIONS),
                         *(f"f.{DIMENSIONS[dimension]} AS {dimension}" for dimension in lead_side)])
    sql = (f"WITH s AS (SELECT t.status, t.completed_at, t.due_at, {columns} "
           f"FROM ({tasks_sql}) t INNER JOIN ({leads_sql}) f ON f.id = t.lead_id) " + " UNION ALL ".join(groups))
    result: dict[str | None, dict] = {dimension: {} for dimension in (None, *DIMENSIONS)}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*tasks_params, *leads_params, *count_params * len(groups)])
        for dimension, value, done, on_time, overdue in cursor.fetchall():
            result[dimension or None][value] = {"done": done or 0, "on_time": on_time or 0, "overdue": overdue or 0}
    return result


def speed_by(leads, dimension: str | None, now=None, sla: dict | None = None) -> list[dict]:
    """One row per value of ``dimension`` (team, rep, source, band; None: one row for all): leads, assigned, median
    and 90th percentile hours to assignment, touched, median and 90th percentile hours to first touch, follow-ups
    done or overdue, done on time, SLA attainment %. ``sla``: ``sla_counts(leads, now)``, when a page has it."""
    now = now or timezone.now()
    lead_path = DIMENSIONS[dimension] if dimension else None
    group = F(lead_path) if lead_path else Value("")
    annotated = with_first_assignment(leads)
    durations, params = annotated.order_by().values(g=group, assign=_to_assignment(), touch=_to_first_touch())\
        .query.sql_with_params()  # a duration is null where either time is: its count is the assigned, the touched
    found = column_percentiles(durations, params, ["assign", "touch"], grouped=dimension is not None)
    sla = (sla if sla is not None else sla_counts(leads, now))[dimension]
    rows = []
    for found_key, entry in found.items():
        key = found_key if dimension else ""
        tasks = sla.get(key, {})
        to_assign, to_touch = entry.get("assign", {}), entry.get("touch", {})
        finished = tasks.get("done", 0) + tasks.get("overdue", 0)
        rows.append({
            dimension or "scope": key if key not in (None, "") else "(none)" if dimension else "All leads",
            "leads": entry["rows"], "assigned": to_assign.get("n", 0),
            "assign_p50_h": as_hours(to_assign.get("p50")), "assign_p90_h": as_hours(to_assign.get("p90")),
            "touched": to_touch.get("n", 0),
            "touch_p50_h": as_hours(to_touch.get("p50")), "touch_p90_h": as_hours(to_touch.get("p90")),
            "tasks_due": finished, "on_time": tasks.get("on_time", 0),
            "sla_pct": pct(tasks.get("on_time", 0), finished),
        })
    rows.sort(key=lambda r: (-r["leads"], str(r[dimension or "scope"])))
    return rows


def dispositions_by_rep(leads) -> list[dict]:
    """Per rep, the follow-ups of these leads closed with each disposition (contacted, no answer, …)."""
    tasks = Task.objects.filter(lead__in=leads.order_by().values("pk"), status=TaskStatus.DONE)
    figures = tasks.values("assignee__username").annotate(
        total=Count("id"), **{value: Count("id", filter=Q(disposition=value)) for value in Disposition.values},
    ).order_by("assignee__username")
    return [{"rep": row.pop("assignee__username"), **row} for row in figures]
