"""The figures of the scheduled reports: the daily scoring report (leads scored, band distribution, movements,
triggers, top reasons) and the weekly performance review (funnel, bands, speed-to-lead, SLA attainment, workload).

The funnel and the band table are the dashboard's own (dashboards_funnel.py, dashboards_bands.py); the rest are
grouped queries. Days and weeks are those of the settings' time zone; a week starts on Monday.

With a ``user`` the figures are that user's scope (``routing/scoping.py``: a manager's teams' leads, tasks and reps,
without the unowned queue leads); without one (the scheduled post and e-mail) they are company-wide.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import Count, F, Max, Min, Q
from django.utils import timezone

from leads.choices import Stage
from leads.models import Lead
from routing.choices import TaskStatus
from routing.models import Rep, Task
from routing.scoping import leads_visible_to, reps_visible_to, tasks_visible_to
from scoring.choices import TriggerKind
from scoring.models import ScoreChange, ScoreTrigger

from .dashboard_facts import day_start, live_facts
from .dashboards_bands import BAND_ORDER, non_separating
from .dashboards_counts import bands_counted, cohort_from, dimension_counts, lead_counts, open_leads_per_owner
from .dashboards_filters import DashboardFilters
from .dashboards_funnel import cohort_rows
from .dashboards_stats import days_between, json_objects, percentiles_of

BAND_WINDOW_DAYS = 90  # the weekly review's band table: leads created in the 90 days up to the end of the week
TOP = 10


def _leads(user=None):
    """The live leads as the dashboards count them (one narrow row per lead: dashboard_facts.py), in the user's
    scope."""
    leads = live_facts()
    return leads if user is None else leads_visible_to(user, leads, triage=False)


def _tasks(user=None):
    return Task.objects.all() if user is None else tasks_visible_to(user)


def _of_leads(queryset, user=None):
    """Rows of a lead (score changes, triggers) narrowed to the user's leads."""
    return queryset if user is None else queryset.filter(lead__in=_leads(user).values("pk"))


def week_monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _stage_label(value: str) -> str:
    return Stage(value).label if value in Stage.values else (value or "—")


def daily_scoring_figures(day: date, *, user=None) -> dict:
    """The scoring of one day: leads scored and score changes, up and down; the band distribution of the leads
    scored (each lead's last change of the day); stage movements; triggers fired; the reasons seen most often."""
    start, end = day_start(day), day_start(day + timedelta(days=1))
    changes = _of_leads(ScoreChange.objects.filter(at__gte=start, at__lt=end), user)
    totals = changes.aggregate(changes=Count("id"), leads=Count("lead", distinct=True),
                               up=Count("id", filter=Q(delta__gt=0)), down=Count("id", filter=Q(delta__lt=0)))
    last_of_day = changes.values("lead").annotate(last=Max("id")).values("last")
    band_counts = dict(ScoreChange.objects.filter(id__in=last_of_day).values("band").annotate(n=Count("id"))
                       .values_list("band", "n").order_by())
    bands = [{"band": band, "leads": band_counts.get(band, 0)} for band in BAND_ORDER]
    if band_counts.get(""):
        bands.append({"band": "—", "leads": band_counts[""]})
    movements = [
        {"from": _stage_label(row["old_stage"]), "to": _stage_label(row["new_stage"]), "leads": row["n"]}
        for row in changes.exclude(old_stage=F("new_stage")).exclude(new_stage="").values("old_stage", "new_stage")
        .annotate(n=Count("lead", distinct=True)).order_by("-n", "old_stage", "new_stage")[:TOP]
    ]
    triggers = [{"kind": TriggerKind(row["kind"]).label if row["kind"] in TriggerKind.values else row["kind"],
                 "count": row["n"]}
                for row in _of_leads(ScoreTrigger.objects.filter(fired_at__gte=start, fired_at__lt=end), user)
                .values("kind")
                .annotate(n=Count("id")).order_by("-n", "kind")]
    return {"day": day, "scored": totals["leads"], "changes": totals["changes"], "up": totals["up"],
            "down": totals["down"], "bands": bands, "movements": movements, "triggers": triggers,
            "reasons": top_reasons(changes)}


# Reasons whose label is about one lead ("predicted win probability 62 %", "3 smaller reasons"): shown under one label.
GROUP_LABELS = {
    "predicted_win": "predicted win probability (the predictive model's points)",
    "other_reasons": "smaller reasons, added up",
    "rounding": "rounding of decayed points",
}
# Reasons whose code is shared and whose label names what they are (the predictive model's features, by the side
# they push the win probability to): grouped by code and label, each feature on its own row.
FEATURE_SIDE = {"predicts_up": "raises", "predicts_down": "lowers"}
BY_LABEL = tuple(FEATURE_SIDE)


def top_reasons(changes) -> list[dict]:
    """The reasons named most often in the score changes (code, label, times, average points): the database
    unnests each change's JSON list of reasons and groups them by code (every change of the day, not a sample).

    A predictive feature is its own group (its code is shared by every feature: "predicts_up" / "predicts_down"),
    labelled with the feature and the side it pushes the win probability to; a reason whose label is about one
    lead (``GROUP_LABELS``) gets one label for its group."""
    inner, params = changes.order_by().values("reasons").query.sql_with_params()
    reasons = json_objects("c.reasons")
    code, label, points = reasons.text("code"), reasons.text("label"), reasons.number("points")
    by_label = ", ".join("%s" for _ in BY_LABEL)
    feature = f"CASE WHEN {code} IN ({by_label}) THEN COALESCE({label}, '') ELSE '' END"
    sql = (f"SELECT {code}, {feature}, MAX({label}), COUNT(*), SUM({points}) "
           f"FROM ({inner}) c CROSS JOIN {reasons.elements} "
           f"WHERE {reasons.is_object} AND COALESCE({code}, '') <> '' GROUP BY 1, 2 ORDER BY 4 DESC, 1, 2 LIMIT %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*BY_LABEL, *params, TOP])
        found = cursor.fetchall()
    return [{"code": str(found_code), "label": _reason_label(str(found_code), found_feature, found_label),
             "times": times, "avg_points": round(float(total or 0) / times, 1)}
            for found_code, found_feature, found_label, times, total in found]


def _reason_label(code: str, feature: str | None, label: str | None) -> str:
    if code in FEATURE_SIDE:
        return f"model: {feature or 'a feature'} ({FEATURE_SIDE[code]} the win probability)"
    return GROUP_LABELS.get(code) or str(label or code)


def _hours(entry: dict | None) -> dict:
    if not entry:
        return {"count": 0, "median": None, "p90": None}
    return {"count": entry["n"], "median": round(24 * float(entry["p50"]), 1),
            "p90": round(24 * float(entry["p90"]), 1)}


def speed_to_lead(cohort) -> dict:
    """Hours from a lead's arrival to its first assignment and to its first touch (a task accepted or done): the
    median and the 90th percentile (as on the speed page), with how many leads got there. The database finds each
    lead's first times and the percentiles (revops/top/dashboards_stats.py)."""
    firsts = cohort.order_by().annotate(
        assigned=Min("routing_decisions__created_at", filter=Q(routing_decisions__owner__isnull=False)),
        accepted=Min("tasks__accepted_at"), completed=Min("tasks__completed_at"),
    ).values("created_at", "assigned", "accepted", "completed")
    inner, params = firsts.query.sql_with_params()
    touched = ("CASE WHEN t.accepted IS NULL THEN t.completed "
               "WHEN t.completed IS NULL OR t.accepted < t.completed THEN t.accepted ELSE t.completed END")
    picked = percentiles_of(  # the lead's first times found once (a CTE read twice), then both durations
        f"WITH firsts AS ({inner}) SELECT u.g AS g, u.v AS v FROM (SELECT 'assignment' AS g, "
        f"{days_between('t.assigned', 't.created_at')} AS v FROM firsts t UNION ALL SELECT 'first_touch' AS g, "
        f"{days_between(touched, 't.created_at')} AS v FROM firsts t) u WHERE u.v >= 0", params)
    return {"leads": cohort.count(), "assignment": _hours(picked.get("assignment")),
            "first_touch": _hours(picked.get("first_touch"))}


def sla_attainment(start: datetime, end: datetime, *, now: datetime | None = None, user=None) -> list[dict]:
    """Follow-ups due in the period, per team and in total: done on time, done late, still open past due, and the
    share met (on time / all that are due). One grouped query."""
    now = now or timezone.now()
    on_time = Q(status=TaskStatus.DONE, completed_at__lte=F("due_at"))
    rows = list(_tasks(user).filter(due_at__gte=start, due_at__lt=end).values(team=F("assignee__rep__team__name"))
                .annotate(due=Count("id"), on_time=Count("id", filter=on_time),
                          late=Count("id", filter=Q(status=TaskStatus.DONE, completed_at__gt=F("due_at"))),
                          open_overdue=Count("id", filter=Q(status=TaskStatus.OPEN, due_at__lt=now)))
                .order_by("team"))
    total = {"team": "All teams", **{key: sum(row[key] for row in rows)
                                      for key in ("due", "on_time", "late", "open_overdue")}}
    result = []
    for row in rows + ([total] if rows else []):
        measured = row["on_time"] + row["late"] + row["open_overdue"]
        result.append({**row, "team": row["team"] or "(no team)",
                       "met_pct": round(100 * row["on_time"] / measured, 1) if measured else None})
    return result


def workload_rows(*, now: datetime | None = None, user=None) -> list[dict]:
    """Per active rep: open leads against capacity, open and overdue tasks. Two grouped queries and the reps."""
    now = now or timezone.now()
    open_leads = open_leads_per_owner(dimension_counts(DashboardFilters(user=user), "owner_id", "outcome", "stage"),
                                      closed_stages=True)  # from the daily roll-up
    tasks = {row["assignee_id"]: row for row in _tasks(user).filter(status=TaskStatus.OPEN).values("assignee_id")
             .annotate(open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now))).order_by()}
    rows = []
    reps = Rep.objects.all() if user is None else reps_visible_to(user)
    for rep in reps.filter(is_active=True).select_related("user", "team").order_by("team__name", "user__username"):
        leads = open_leads.get(rep.user_id, 0)
        rows.append({"rep": str(rep), "team": rep.team.name, "open_leads": leads, "capacity": rep.capacity,
                     "load_pct": round(100 * leads / rep.capacity) if rep.capacity else None,
                     "open_tasks": tasks.get(rep.user_id, {}).get("open", 0),
                     "overdue_tasks": tasks.get(rep.user_id, {}).get("overdue", 0)})
    return rows


def weekly_review_figures(monday: date, *, now: datetime | None = None, user=None) -> dict:
    """The week from ``monday``: the funnel of the leads created in it, the bands of the last 90 days up to its end
    (conversion, deal size, the non-separating warnings), speed-to-lead of its leads, SLA attainment of the
    follow-ups due in it, and today's workload."""
    start, end = day_start(monday), day_start(monday + timedelta(days=7))
    sunday = monday + timedelta(days=6)
    # The counts from the daily roll-up (whole days: dashboards_counts.py), the medians from the facts.
    week = DashboardFilters(created_from=monday, created_to=sunday, user=user)
    size, reached = cohort_from(lead_counts(week, "reached"))
    window = DashboardFilters(created_from=sunday - timedelta(days=BAND_WINDOW_DAYS - 1), created_to=sunday,
                              user=user)
    bands = bands_counted(window)
    cohort = week.apply(live_facts())
    return {"monday": monday, "sunday": sunday, "new_leads": size,
            "funnel": cohort_rows(size, reached), "bands": bands, "band_warnings": non_separating(bands),
            "band_window_days": BAND_WINDOW_DAYS,
            "speed": speed_to_lead(Lead.objects.filter(pk__in=cohort.values("pk"))),  # its decisions and tasks
            "sla": sla_attainment(start, end, now=now, user=user), "workload": workload_rows(now=now, user=user)}
