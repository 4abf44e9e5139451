"""Rep workload now: per rep, open leads against capacity, open and overdue follow-ups, the oldest overdue; the team
and rep filters narrow the reps, the lead filters (source, campaign, segment) the leads and tasks counted. Three grouped
queries, whatever the number of leads."""

from __future__ import annotations

from django.db.models import Count, Min, Q
from django.utils import timezone

from routing.choices import TaskStatus
from routing.models import Task

from .dashboards_counts import dimension_counts, open_leads_per_owner
from .dashboards_stats import as_hours, pct


def workload_table(filters, leads, now=None) -> list[dict]:
    """One row per rep of the filter's team (or rep): team, active, open leads, capacity, utilisation %, open tasks,
    overdue tasks and the age in hours of the oldest overdue one."""
    now = now or timezone.now()
    reps = filters.rep_choices.select_related("team").order_by("team__name", "user__username")  # a manager's teams'
    if filters.team:
        reps = reps.filter(team=filters.team)
    if filters.rep:
        reps = reps.filter(pk=filters.rep.pk)
    open_leads = open_leads_per_owner(dimension_counts(filters, "owner_id", "outcome", "stage"))
    # Without a narrowing filter every open task's lead is one of them (a merge moves tasks to the survivor).
    tasks = filters.about(Task.objects.filter(status=TaskStatus.OPEN), leads)
    tasks = {row["assignee_id"]: row for row in tasks.values("assignee_id").annotate(
        open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now)),
        oldest_due=Min("due_at", filter=Q(due_at__lt=now))).order_by()}
    rows = []
    for rep in reps:
        mine = tasks.get(rep.user_id, {})
        count = open_leads.get(rep.user_id, 0)
        rows.append({
            "rep": rep.user.username, "name": str(rep), "team": rep.team.name, "active": rep.is_active,
            "open_leads": count, "capacity": rep.capacity, "utilisation_pct": pct(count, rep.capacity),
            "over_capacity": count > rep.capacity,
            "open_tasks": mine.get("open", 0), "overdue_tasks": mine.get("overdue", 0),
            "oldest_overdue_h": as_hours(now - mine["oldest_due"]) if mine.get("oldest_due") else None,
        })
    return rows
