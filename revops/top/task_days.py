"""The follow-ups' roll-up (revops/top/models.py ``TaskDay``): per day of the leads' creation and combination of the
filters' dimensions (the lead's), the follow-ups counted by assignee, status and disposition, with those done on
time, and an open one's due day. The speed page sums a period's rows instead of joining a third of a million leads
with their tasks.

Kept in two ways (revops/top/dashboard_facts.py): with the roll-up of the days whose lead facts were rebuilt (a lead's
source, band or owner changed), and from the task history by a mark of its own (a follow-up done, snoozed or given to
someone else changes no lead): the days of the leads whose tasks changed are counted again. Both under the facts'
lock, so a day is never rebuilt twice at once."""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet
from django.db.models.functions import TruncDate

from routing.choices import TaskStatus
from routing.models import Task

DIMENSIONS = ["source", "campaign", "segment", "owner_id", "band"]


def task_days_select(facts: QuerySet) -> tuple[list[str], str, list]:
    """The columns of the roll-up's rows and the SQL that selects them from ``facts``: some days' live lead facts,
    annotated with their ``day`` (``dashboard_facts.days_rebuild`` inserts them, ``days_settle`` reads them)."""
    quote = connection.ops.quote_name
    leads_sql, leads_params = facts.order_by().values("id", "day", *DIMENSIONS).query.sql_with_params()
    tasks_sql, tasks_params = (Task.objects.exclude(status=TaskStatus.CANCELLED).order_by()
                               .annotate(due_day=TruncDate("due_at"))
                               .values("lead_id", "assignee_id", "status", "disposition", "due_day", "due_at",
                                       "completed_at").query.sql_with_params())
    keys = ", ".join(f"f.{quote(name)}" for name in ["day", *DIMENSIONS])
    columns = ["day", *DIMENSIONS, "assignee_id", "status", "disposition", "due_day", "n", "on_time"]
    sql = (f"SELECT {keys}, t.assignee_id, t.status, t.disposition, "
           "CASE WHEN t.status = %s THEN t.due_day ELSE NULL END, COUNT(*), "
           "SUM(CASE WHEN t.status = %s AND t.completed_at <= t.due_at THEN 1 ELSE 0 END) "
           f"FROM ({leads_sql}) f INNER JOIN ({tasks_sql}) t ON t.lead_id = f.id "
           "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10")
    return columns, sql, [TaskStatus.OPEN, TaskStatus.DONE, *leads_params, *tasks_params]
