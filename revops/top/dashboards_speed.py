"""Speed-to-lead of the leads created in the period: time to assignment (creation → the lead's first routing decision
that gave it an owner), time to first touch (that assignment → the owner's first disposition or logged activity,
``Lead.first_touched_at``), SLA attainment (follow-ups done before their due time, of those done or overdue), by
team, rep, source and band; the distribution as histogram buckets with the median and 90th percentile; the reps'
dispositions.

The page reads its durations from the digest (``speed_digest``: the period's ``DurationDay`` rows summed,
duration_days.py): the leads counted per 5 % wide duration bucket, so each median and 90th percentile is within 2.5 %
of the exact value and the counts and histograms are exact. Without a digest, ``speed_by`` computes the exact
percentiles in the database (each grouping's in one statement, dashboards_stats.py). The follow-ups are counted once
by assignee, source, band, status and disposition (a few hundred rows), from which the SLA of every grouping and the
dispositions by rep are summed; the page reads them from the follow-ups' roll-up (``follow_ups_rolled_up``,
task_days.py)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import Coalesce, Collate
from django.utils import timezone

from routing.choices import Disposition, TaskStatus
from routing.models import Rep, Task, Team
from routing.services import first_assignments_refresh_quietly

from .dashboard_facts import day_start, is_facts, task_days_refresh_quietly
from .dashboards_counts import duration_buckets, lead_counts, period_split
from .dashboards_filters import DashboardFilters
from .dashboards_stats import HOURS_BUCKETS, as_hours, column_percentiles, duration_histogram, pct
from .duration_days import bucket_percentiles
from .models import DurationDay, TaskDay

#: Per dimension, what the percentiles group by: the owner's and the team's ids (read as names after), the source and
#: band themselves. The database sorts a period's leads by it, and a number sorts faster than a name.
GROUP_KEYS = {"team": "owner__rep__team_id", "rep": "owner_id", "source": "source", "band": "band"}


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


@dataclass(frozen=True)
class SpeedDigest:
    """The period's durations as the digest has them: ``buckets`` rows of (owner id, source, band, metric, duration
    bucket, histogram bucket, leads), ``leads`` the period's live leads counted by owner, source and band (the
    roll-up), ``teams`` each owner's team id."""

    buckets: list[tuple]
    leads: list[dict]
    teams: dict[int, int | None]

    def key(self, dimension: str | None) -> Callable[[int | None, str, str], object]:
        """What a row's (owner id, source, band) is keyed by under ``dimension``."""
        return {None: lambda owner, source, band: None, "team": lambda owner, source, band: self.teams.get(owner),
                "rep": lambda owner, source, band: owner, "source": lambda owner, source, band: source,
                "band": lambda owner, source, band: band}[dimension]


def speed_digest(filters: DashboardFilters) -> SpeedDigest:
    """The digest of the leads created in the period under ``filters``: the whole days' rows summed, and the first
    day's leads from a preset period's boundary on bucketed from their facts the same way."""
    buckets = duration_buckets(filters, (DurationDay.ASSIGNMENT, DurationDay.FIRST_TOUCH),
                               ["owner_id", "source", "band"])
    leads = lead_counts(filters, "owner_id", "source", "band")
    owners = {row["owner_id"] for row in leads if row["owner_id"]}
    teams = dict(Rep.objects.filter(user_id__in=owners).values_list("user_id", "team_id"))
    return SpeedDigest(buckets=buckets, leads=leads, teams=teams)


def digest_figures(digest: SpeedDigest, dimension: str | None) -> dict:
    """Per value of ``dimension`` (ids for team and rep), as ``column_percentiles`` gives them: ``rows`` (leads) and,
    per duration with values, its n, p50 and p90 read from the buckets."""
    key = digest.key(dimension)
    leads: dict = defaultdict(int)
    for row in digest.leads:
        leads[key(row["owner_id"], row["source"], row["band"])] += row["n"]
    counts: dict = defaultdict(Counter)
    for owner, source, band, metric, bucket, _, n in digest.buckets:
        counts[key(owner, source, band), metric][bucket] += n
    names = {DurationDay.ASSIGNMENT: "assign", DurationDay.FIRST_TOUCH: "touch"}
    found = {key: {"rows": n} for key, n in leads.items() if n}
    for (key, metric), buckets in counts.items():
        if key in found:
            found[key][names[metric]] = bucket_percentiles(buckets)
    return found


def speed_histograms(leads, digest: SpeedDigest | None = None) -> dict[str, list[dict]]:
    """How many leads took each bucket's time to be assigned, and to be touched after assignment: from the digest
    when given (its histogram column), else counted on ``leads``."""
    if digest is not None:
        counts = Counter()
        for *_, metric, _, hours, n in digest.buckets:
            counts[metric, hours] += n
        return {name: [{"bucket": label, "count": counts[metric, index]} for index, (label, _) in
                       enumerate(HOURS_BUCKETS)]
                for name, metric in (("assignment", DurationDay.ASSIGNMENT), ("first_touch", DurationDay.FIRST_TOUCH))}
    annotated = with_first_assignment(leads)
    return {"assignment": duration_histogram(annotated, "created_at", "first_assigned_at"),
            "first_touch": duration_histogram(annotated, "first_assigned_at", "first_touched_at")}


def follow_up_counts(leads, now, *, open_due_from=None) -> list[tuple]:
    """The follow-ups of ``leads`` (cancelled ones left out) counted in one grouped statement: rows of (assignee id,
    the lead's source, its band, status, disposition, count, of which done on time, open past due at ``now``). A
    few hundred rows, from which the SLA of every grouping and the dispositions by rep are summed; names are read
    after. ``open_due_from``: only the open ones due from then until ``now``."""
    leads_sql, leads_params = leads.order_by().values("id", "source", "band").query.sql_with_params()
    quote = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    due = "" if open_due_from is None else " AND t.status = %s AND t.due_at >= %s AND t.due_at < %s"
    # Grouped by the five columns only, the kinds counted by filters: the planner then sees a few hundred groups and
    # aggregates in parallel (a CASE in the grouping made it expect thousands).
    sql = ("SELECT t.assignee_id, f.source, f.band, t.status, t.disposition, COUNT(*), "
           "SUM(CASE WHEN t.status = %s AND t.completed_at <= t.due_at THEN 1 ELSE 0 END), "
           "SUM(CASE WHEN t.status = %s AND t.due_at < %s THEN 1 ELSE 0 END) "
           f"FROM {quote(Task._meta.db_table)} t INNER JOIN ({leads_sql}) f ON f.id = t.lead_id "
           f"WHERE t.status <> %s{due} GROUP BY t.assignee_id, f.source, f.band, t.status, t.disposition")
    params = [TaskStatus.DONE, TaskStatus.OPEN, adapt(now), *leads_params, TaskStatus.CANCELLED,
              *(() if open_due_from is None else (TaskStatus.OPEN, adapt(open_due_from), adapt(now)))]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A random read costed as on solid-state storage (the usual setting there; the default 4 is a spinning
            # disk's): a day's leads then read their tasks through the lead index instead of scanning every task.
            cursor.execute("SET LOCAL random_page_cost = 1.1")
        cursor.execute(sql, params)
        return cursor.fetchall()


def follow_ups_rolled_up(filters: DashboardFilters, now) -> list[tuple]:
    """``follow_up_counts``' rows for the leads created in the period under ``filters``, from the follow-ups' roll-up
    (revops/top/task_days.py): the whole days' rows summed, an open one overdue if due on an earlier day; the open
    ones of those days due earlier today read from the tasks (a day's worth, by the due-time index); and a preset
    period's first day counted from its leads' tasks. The same rows as counting the period's tasks at ``now``."""
    task_days_refresh_quietly()
    days, edge, whole_days = period_split(filters, TaskDay)
    today = day_start(timezone.localdate(now))
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])

    def add(rows, *, overdue_only: bool = False) -> None:
        for *key, n, on_time, overdue in rows:
            entry = totals[tuple(key)]
            if not overdue_only:
                entry[0] += n
                entry[1] += on_time or 0
            entry[2] += overdue or 0

    add(days.order_by().values_list("assignee_id", "source", "band", "status", "disposition").annotate(
        follow_ups=Sum("n"), on_time=Sum("on_time"),
        overdue=Sum("n", filter=Q(status=TaskStatus.OPEN, due_day__lt=timezone.localdate(now)))))
    if edge is not None:
        add(follow_up_counts(edge, now))
    due_today = Task.objects.filter(status=TaskStatus.OPEN, due_at__gte=today, due_at__lt=now).values("lead_id")
    add(follow_up_counts(whole_days.filter(pk__in=due_today), now, open_due_from=today),
        overdue_only=True)
    return [(*key, *counts) for key, counts in totals.items() if any(counts)]


def _assignees(counts: list[tuple]) -> dict[int, tuple[str, str | None]]:
    """Per assignee id of ``counts``: (username, team name or None)."""
    users = get_user_model().objects.filter(pk__in={row[0] for row in counts}).select_related("rep__team")
    return {user.pk: (user.username, user.rep.team.name if getattr(user, "rep", None) and user.rep.team_id else None)
            for user in users}


def sla_counts(leads, now, counts: list[tuple] | None = None) -> dict[str | None, dict]:
    """Per dimension (None: all leads, then team, rep, source, band) and value: the follow-ups of ``leads`` done,
    done on time, and open past their due time. The team and rep are the follow-up's assignee's; the source and band
    its lead's. ``counts``: ``follow_up_counts(leads, now)``, when a page has it."""
    counts = counts if counts is not None else follow_up_counts(leads, now)
    people = _assignees(counts)
    result: dict[str | None, dict] = {dimension: {} for dimension in (None, *GROUP_KEYS)}
    for assignee, source, band, status, _, n, on_time, overdue in counts:
        rep, team = people.get(assignee, (None, None))
        for dimension, value in ((None, ""), ("team", team), ("rep", rep), ("source", source), ("band", band)):
            entry = result[dimension].setdefault(value, {"done": 0, "on_time": 0, "overdue": 0})
            entry["done"] += n if status == TaskStatus.DONE else 0
            entry["on_time"] += on_time or 0
            entry["overdue"] += overdue or 0
    return result


def _group_key(dimension: str | None):
    if dimension is None:
        return Value("")
    if connection.vendor == "postgresql" and dimension in ("source", "band"):
        return Collate(F(GROUP_KEYS[dimension]), "C")  # the same groups, sorted bytewise, not by the locale's rules
    return F(GROUP_KEYS[dimension])


def _named(dimension: str | None, found: dict) -> dict:
    """``found`` keyed by the team's or owner's name instead of its id (the other dimensions are names already)."""
    if dimension == "team":
        names = dict(Team.objects.filter(pk__in=[key for key in found if key]).values_list("pk", "name"))
    elif dimension == "rep":
        names = dict(get_user_model().objects.filter(pk__in=[key for key in found if key])
                     .values_list("pk", "username"))
    else:
        return found
    return {names.get(key) if key is not None else None: entry for key, entry in found.items()}


def speed_by(leads, dimension: str | None, now=None, sla: dict | None = None,
             digest: SpeedDigest | None = None) -> list[dict]:
    """One row per value of ``dimension`` (team, rep, source, band; None: one row for all): leads, assigned, median
    and 90th percentile hours to assignment, touched, median and 90th percentile hours to first touch, follow-ups
    done or overdue, done on time, SLA attainment %. ``sla``: ``sla_counts(leads, now)``, when a page has it;
    ``digest``: ``speed_digest`` of the same filters (the durations read from it), else exact from ``leads``."""
    now = now or timezone.now()
    if digest is not None:
        found = _named(dimension, digest_figures(digest, dimension))
    else:
        annotated = with_first_assignment(leads)
        durations, params = annotated.order_by().values(g=_group_key(dimension), assign=_to_assignment(),
                                                        touch=_to_first_touch())\
            .query.sql_with_params()  # a duration is null where either time is: its count is the assigned, the touched
        found = _named(dimension, column_percentiles(durations, params, ["assign", "touch"],
                                                     grouped=dimension is not None))
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


def dispositions_by_rep(leads, counts: list[tuple] | None = None) -> list[dict]:
    """Per rep, the follow-ups of these leads closed with each disposition (contacted, no answer, …). ``counts``:
    ``follow_up_counts(leads, now)``, when a page has it."""
    counts = counts if counts is not None else follow_up_counts(leads, timezone.now())
    people = _assignees(counts)
    reps: dict[str, dict] = {}
    for assignee, _, _, status, disposition, n, _, _ in counts:
        if status != TaskStatus.DONE:
            continue
        rep = people.get(assignee, ("", None))[0]
        row = reps.setdefault(rep, {"rep": rep, "total": 0, **dict.fromkeys(Disposition.values, 0)})
        row["total"] += n
        if disposition in Disposition.values:
            row[disposition] += n
    return [reps[rep] for rep in sorted(reps)]
