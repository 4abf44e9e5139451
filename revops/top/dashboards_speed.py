"""Speed-to-lead of the leads created in the period: time to assignment (creation → the lead's first routing decision
that gave it an owner), time to first touch (that assignment → the owner's first disposition or logged activity,
``Lead.first_touched_at``), SLA attainment (follow-ups done before their due time, of those done or overdue), by team,
rep, source and band; the distribution as histogram buckets with the median and 90th percentile; the reps'
dispositions. Aggregate SQL only: grouped counts, and windowed queries that return three rows per group."""

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

#: Per dimension: the path from a lead, and from a task.
DIMENSIONS = {
    "team": ("owner__rep__team__name", "assignee__rep__team__name"),
    "rep": ("owner__username", "assignee__username"),
    "source": ("source", "lead__source"),
    "band": ("band", "lead__band"),
}
#: The dimensions that are columns of the lead (and of its facts).
LEAD_COLUMNS = ("source", "band")


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


def _sla_counts(leads, dimension: str | None, now) -> dict:
    """Per value of ``dimension``: the follow-ups of ``leads`` done, done on time, and open past their due time."""
    lead_path, task_path = DIMENSIONS[dimension] if dimension else (None, None)
    tasks = Task.objects.exclude(status=TaskStatus.CANCELLED)
    if is_facts(leads) and lead_path in LEAD_COLUMNS:
        return _sla_counts_by_fact(tasks, leads, lead_path, now)
    tasks = tasks.filter(lead__in=leads.order_by().values("pk"))
    done = Q(status=TaskStatus.DONE)
    figures = tasks.values(g=F(task_path) if task_path else Value("")).annotate(
        done=Count("id", filter=done), on_time=Count("id", filter=done & Q(completed_at__lte=F("due_at"))),
        overdue=Count("id", filter=Q(status=TaskStatus.OPEN, due_at__lt=now)),
    ).order_by()
    return {row["g"]: row for row in figures}


def _sla_counts_by_fact(tasks, facts, column: str, now) -> dict:
    """The same counts grouped by a column of the lead facts (source, band): the tasks joined with the facts once,
    instead of with the wide lead table."""
    tasks_sql, tasks_params = tasks.order_by().values("lead_id", "status", "completed_at", "due_at")\
        .query.sql_with_params()
    facts_sql, facts_params = facts.order_by().values("id", g=F(column)).query.sql_with_params()
    sql = ("SELECT f.g, SUM(CASE WHEN t.status = %s THEN 1 ELSE 0 END), "
           "SUM(CASE WHEN t.status = %s AND t.completed_at <= t.due_at THEN 1 ELSE 0 END), "
           "SUM(CASE WHEN t.status = %s AND t.due_at < %s THEN 1 ELSE 0 END) "
           f"FROM ({tasks_sql}) t INNER JOIN ({facts_sql}) f ON f.id = t.lead_id GROUP BY f.g")
    params = [TaskStatus.DONE, TaskStatus.DONE, TaskStatus.OPEN, connection.ops.adapt_datetimefield_value(now),
              *tasks_params, *facts_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {group: {"done": done, "on_time": on_time, "overdue": overdue}
                for group, done, on_time, overdue in cursor.fetchall()}


def speed_by(leads, dimension: str | None, now=None) -> list[dict]:
    """One row per value of ``dimension`` (team, rep, source, band; None: one row for all): leads, assigned, median
    and 90th percentile hours to assignment, touched, median and 90th percentile hours to first touch, follow-ups
    done or overdue, done on time, SLA attainment %."""
    now = now or timezone.now()
    lead_path = DIMENSIONS[dimension][0] if dimension else None
    group = F(lead_path) if lead_path else Value("")
    annotated = with_first_assignment(leads)
    durations, params = annotated.order_by().values(g=group, assign=_to_assignment(), touch=_to_first_touch())\
        .query.sql_with_params()  # a duration is null where either time is: its count is the assigned, the touched
    found = column_percentiles(durations, params, ["assign", "touch"], grouped=dimension is not None)
    sla = _sla_counts(leads, dimension, now)
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
