"""The dashboards' per-lead facts (revops/top/models.py ``LeadFacts``), kept from the lead history, set-based.

At a million leads the lead table is wide (names, addresses, reasons, flags): a dashboard statement that reads a third
of it spends most of its time reading columns no figure needs. The facts are one narrow row per lead with the columns
the figures filter and count by, joined once with the funnel summary (the first time at each stage), the first
assignment and the lead's segment (its last scoring), so a figure reads one small table instead of three joins.

Every path that changes a lead writes a history row (a model save, or the SQL copies of leads/writes.py), so the
same mechanism as the funnel summary keeps the facts (revops/base/db/summary.py: a mark on the history, rows read
again until they settle): a refresh rebuilds the facts of the leads with new history rows, then the roll-up rows
(``LeadDay``), speed-to-lead's digest (``DurationDay``, duration_days.py) and the follow-ups' roll-up (``TaskDay``,
task_days.py) of the days those leads were and are created on, each in one statement; the follow-ups' roll-up is
also kept from the task history (a mark of its own: the days of the leads whose tasks changed). The funnel summary
and the first assignments are refreshed first, since the facts copy them; the experiments summary after. Runs every
minute (RQ cron, kill switch "Dashboard summaries") and before a page reads; ``manage.py dashboard_summaries
--rebuild`` starts over.

A figure counts facts as it counts leads (the names are the lead's); ``reach`` and ``is_facts`` cover the two
columns whose path differs from a lead's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateField,
    DateTimeField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from leads.models import Lead
from leads.services import stage_summary_rebuild, stage_summary_refresh, stage_summary_refresh_quietly
from leads.services.stage_summary import STAGE_SUMMARY
from leads.stage_models import REACHED_COLUMNS
from revops.base.choices import Workflow
from revops.base.db.summary import (
    Summary,
    SummaryReport,
    SummaryTable,
    refresh_quietly_once,
    summary_rebuild,
    summary_refresh,
    summary_refresh_quietly,
    summary_settle,
    tables_prepare,
    tables_rebuild,
)
from revops.base.jobs import NothingToDo, periodic_job
from revops.base.models import SummaryMark
from routing.models import Task
from routing.services import first_assignments_rebuild, first_assignments_refresh, first_assignments_refresh_quietly
from scoring.models import ScoreChange

from .duration_days import duration_days_select
from .experiment_summary import experiment_leads_rebuild, experiment_leads_refresh, experiment_outcomes_copy
from .models import DurationDay, FilterDimensions, LeadDay, LeadFacts, TaskDay
from .task_days import task_days_select

#: The roll-up's dimensions (revops/top/models.py LeadDay): every dashboard filter and what the counted figures
#: group by.
DAY_DIMENSIONS = ["source", "campaign", "segment", "owner", "band", "stage", "outcome", "reached", "queue"]
FIRSTS = ["first_at", *REACHED_COLUMNS]  # copied from the funnel summary
_COPIED = ["source", "campaign", "owner_id", "band", "stage", "outcome", "score", "predicted_probability",
           "deal_value", "closed_at", "queue", "queue_reason", "assigned_at", "first_touched_at"]
FACTS_COLUMNS = ("id", "merged", "created_at", *_COPIED, "segment", "first_assigned_at", *FIRSTS, "reached")


def lead_segment():
    """The segment of the scoring model that last scored the lead (a lead's segment is decided at scoring)."""
    return Subquery(ScoreChange.objects.filter(lead=OuterRef("pk"), model__isnull=False)
                    .order_by("-at", "-id").values("model__segment")[:1])


def _facts_select(leads_sql: str, params: list) -> tuple[str, list]:
    """The facts of the leads ``leads_sql`` selects, in ``FACTS_COLUMNS`` order: (SELECT, parameters)."""
    derived = {
        "merged": ExpressionWrapper(Q(merged_into__isnull=False), output_field=BooleanField()),
        "segment_name": Coalesce(lead_segment(), Value("")),
        "first_assigned": Coalesce(F("first_assignment__at"), F("assigned_at"), output_field=DateTimeField()),
        **{f"reached_{column}": F(f"stage_reach__{column}") for column in FIRSTS},
        "reached_rank": Case(*(When(**{f"stage_reach__{column}__isnull": False}, then=Value(rank))
                               for rank, column in reversed(list(enumerate(REACHED_COLUMNS, start=1)))),
                             default=Value(0), output_field=IntegerField()),
    }
    # In creation order: a rebuilt table then holds a period's facts on neighbouring pages (a refresh appends new
    # leads in about that order anyway), so a page reading "the last 90 days" reads a third of the table, not all.
    select = (Lead.objects.filter(id__in=RawSQL(leads_sql, params)).order_by("created_at", "id").annotate(**derived)
              .values_list("id", "merged", "created_at", *_COPIED, "segment_name", "first_assigned",
                           *(f"reached_{column}" for column in FIRSTS), "reached_rank"))
    sql, select_params = select.query.sql_with_params()
    return sql, list(select_params)


def _days_of(leads_sql: str, params: list) -> set[date]:
    """The days (the settings' time zone) the live leads ``leads_sql`` selects were created on, as the facts say."""
    return set(LeadFacts.objects.filter(id__in=RawSQL(leads_sql, params), merged=False).order_by()
               .annotate(day=TruncDate("created_at")).values_list("day", flat=True).distinct())


def day_start(day: date) -> datetime:
    """Midnight starting ``day`` in the settings' time zone: the dashboards' and the reports' day boundary."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _facts_created(first: date, last: date) -> QuerySet[LeadFacts]:
    """The live facts created from the start of ``first`` to the end of ``last`` (the settings' time zone)."""
    return LeadFacts.objects.filter(merged=False, created_at__gte=day_start(first),
                                    created_at__lt=day_start(last + timedelta(days=1)))


def _facts_of_days(days: set[date]) -> QuerySet[LeadFacts]:
    """The live facts created on ``days``, annotated with their ``day``."""
    return _facts_created(min(days), max(days)).annotate(day=TruncDate("created_at")).filter(day__in=days)


def _facts_of_day(day: date) -> QuerySet[LeadFacts]:
    """The live facts created on ``day``, annotated with it: selected by the range of their creation time, the day
    a constant (``TruncDate`` converts every row's time to its day in the settings' time zone: on SQLite a Python
    function per row, three quarters of a roll-up's time)."""
    return _facts_created(day, day).annotate(day=Value(day, output_field=DateField()))


def _facts_groups(days: set[date]) -> list[QuerySet[LeadFacts]]:
    """The facts of ``days`` in the groups their roll-ups are selected by: today and yesterday each on its own, the
    day a constant (the minute's refresh settles today again and again while it fills: a statement per day costs
    little against reading its thousands of facts); the other days together, by ``TruncDate`` (a rebuild or the
    nightly decay settles hundreds of days, most of them small: one statement, not three per day)."""
    recent = {day for day in days if day >= timezone.localdate() - timedelta(days=1)}
    groups = [_facts_of_day(day) for day in sorted(recent)]
    return groups + ([_facts_of_days(days - recent)] if days - recent else [])


def days_rebuild(days: set[date]) -> None:
    """The roll-up rows of ``days`` again from the facts, with speed-to-lead's digest and the follow-ups' roll-up
    of them: a grouped statement each over those days' leads, inside the caller's transaction."""
    if not days:
        return
    quote = connection.ops.quote_name
    _roll_ups_delete(days)
    with connection.cursor() as cursor:
        for roll_up, columns, select, params in _roll_up_selects(days):
            cursor.execute(f"INSERT INTO {quote(roll_up._meta.db_table)} "
                           f"({', '.join(quote(c) for c in columns)}) {select}", params)


def _roll_ups_delete(days: set[date]) -> None:
    for roll_up in (LeadDay, DurationDay, TaskDay):
        roll_up.objects.filter(day__in=days).delete()


def _roll_up_selects(days: set[date]) -> list[tuple[type, list[str], str, list]]:
    """Per group of ``days`` (``_facts_groups``) and roll-up: the model, its columns and the SQL selecting its rows
    from those days' facts."""
    columns = ["day", *(f"{name}_id" if name == "owner" else name for name in DAY_DIMENSIONS), "n", "deal_n",
               "deal_sum"]
    selects = []
    for facts in _facts_groups(days):
        rows = (facts.order_by()
                .values("day", *DAY_DIMENSIONS).annotate(leads=Count("id"), deals=Count("deal_value"),
                                                          deal_total=Sum("deal_value"))
                .values_list("day", *DAY_DIMENSIONS, "leads", "deals", "deal_total"))
        select, select_params = rows.query.sql_with_params()
        selects += [(LeadDay, columns, select, list(select_params)), (DurationDay, *duration_days_select(facts)),
                    (TaskDay, *task_days_select(facts))]
    return selects


# The days whose roll-ups wait to be rebuilt: a mark row each ("lead_day:2026-12-05"), its settled_id a version
# raised by every write of those days' facts or follow-ups. See ``days_settle``.
PENDING_DAY = "lead_day:"


def _pending_day(name: str) -> date:
    return date.fromisoformat(name.removeprefix(PENDING_DAY))


def days_pending_add(days: set[date]) -> None:
    """Inside the transaction that changed the facts (or the follow-ups) of ``days``: their roll-ups wait for
    ``days_settle``, each day's version raised."""
    for day in days:
        name = f"{PENDING_DAY}{day.isoformat()}"
        if not SummaryMark.objects.filter(name=name).update(settled_id=F("settled_id") + 1):
            SummaryMark.objects.create(name=name, settled_id=1)


def days_settle() -> int:
    """Rebuild the roll-ups of the days waiting for it, reading them outside a write transaction.

    The roll-up of a day is grouped from all that day's facts; rebuilt in the facts' own transaction, it held
    SQLite's one writer for a time that grows with the day's leads, every minute. Here the waiting days and their
    versions are read, their rows are selected with no write lock, then one short transaction (under the facts'
    lock) replaces the rows of the days whose version has not moved since and forgets them; a day written again
    meanwhile is rebuilt in that transaction from the facts as they now are (rare: two refreshes at once).
    Returns how many days were rebuilt."""
    read = _days_read()
    return _days_write(*read) if read else 0


def _days_read() -> tuple[dict[str, int], set[date], list] | None:
    """The waiting days with their versions, and their roll-ups' rows selected now (no write lock)."""
    waiting = dict(SummaryMark.objects.filter(name__startswith=PENDING_DAY).values_list("name", "settled_id"))
    if not waiting:
        return None
    days = {_pending_day(name) for name in waiting}
    selected = []
    with connection.cursor() as cursor:
        for roll_up, columns, select, params in _roll_up_selects(days):
            cursor.execute(select, params)
            selected.append((roll_up, columns, cursor.fetchall()))
    return waiting, days, selected


def _days_write(waiting: dict[str, int], days: set[date], selected: list) -> int:
    """One short transaction: the rows read of the days not written since replace theirs; a day written since is
    rebuilt from the facts as they now are; the days are forgotten."""
    quote = connection.ops.quote_name
    with transaction.atomic():
        SummaryMark.objects.select_for_update().filter(name=LEAD_FACTS.name).first()  # the facts' lock
        now = dict(SummaryMark.objects.filter(name__in=list(waiting)).values_list("name", "settled_id"))
        moved = {_pending_day(name) for name, version in waiting.items() if now.get(name) != version}
        settled = days - moved
        _roll_ups_delete(settled)
        with connection.cursor() as cursor:
            for roll_up, columns, rows in selected:
                rows = [row for row in rows if _as_date(row[0]) in settled]
                if rows:
                    cursor.executemany(f"INSERT INTO {quote(roll_up._meta.db_table)} "
                                       f"({', '.join(quote(c) for c in columns)}) "
                                       f"VALUES ({', '.join(['%s'] * len(columns))})", rows)
        # Written again meanwhile (two refreshes at once; an erasure's rebuild): rebuilt here from the facts.
        days_rebuild({_pending_day(name) for name in now} & moved)
        SummaryMark.objects.filter(name__in=list(now)).delete()
    return len(days)


def _as_date(value) -> date:
    """A day as a selected row carries it (a date on PostgreSQL, ISO text on SQLite)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def days_settle_quietly() -> None:
    """Before a page reads: settle the waiting days, or (database busy) read the roll-ups as they are; once per page
    (``summaries_refreshed_once``), so every figure reads the same roll-ups."""
    refresh_quietly_once("lead days", days_settle)


FACTS_TABLE = SummaryTable(LeadFacts, "id", FACTS_COLUMNS, _facts_select)


def _rebuild(leads_sql: str, params: list) -> int:
    """The facts of the leads ``leads_sql`` selects, in the refresh's transaction."""
    return _written(leads_sql, params, lambda: tables_rebuild((FACTS_TABLE,), leads_sql, params))


def _prepare(leads_sql: str, params: list) -> Callable[[], int]:
    """The facts of the leads ``leads_sql`` selects, read now; written by the function returned."""
    write = tables_prepare((FACTS_TABLE,), leads_sql, params)
    return lambda: _written(leads_sql, params, write)


def _written(leads_sql: str, params: list, write: Callable[[], int]) -> int:
    """``write`` replaces the facts of the leads ``leads_sql`` selects; the days they were and are created on are
    marked for their roll-up (``days_settle``, after this transaction), and their experiments' outcomes copied."""
    days = _days_of(leads_sql, params)
    count = write()
    days_pending_add(days | _days_of(leads_sql, params))  # their roll-ups: days_settle, after this transaction
    experiment_outcomes_copy(leads_sql, params)
    return count


LEAD_FACTS = Summary(name="lead_facts", source=Lead.history.model, key="id", pk="history_id", date="history_date",
                     rebuild=_rebuild, tables=(LeadFacts, LeadDay, DurationDay, TaskDay), prepare=_prepare,
                     copies=STAGE_SUMMARY)


def _task_days_rebuild(leads_sql: str, params: list) -> int:
    """The follow-ups' roll-up of the days the leads ``leads_sql`` selects (whose tasks changed) were created on:
    those days wait for ``days_settle`` (under the facts' lock, as their refresh marks the same days)."""
    SummaryMark.objects.select_for_update().filter(name=LEAD_FACTS.name).first()
    days = _days_of(leads_sql, params)
    days_pending_add(days)  # rebuilt by days_settle, after this transaction
    return len(days)


TASK_DAYS = Summary(name="task_days", source=Task.history.model, key="lead_id", pk="history_id",
                    date="history_date", rebuild=_task_days_rebuild, tables=())


def task_days_refresh_quietly() -> None:
    """Before the speed page reads the follow-ups' roll-up: the facts, then the days of the leads whose tasks
    changed (or, database busy, the roll-up as the last refresh left it)."""
    lead_facts_refresh_quietly()
    summary_refresh_quietly(TASK_DAYS)
    refresh_quietly_once("lead days after task days", days_settle)  # the days the follow-ups' refresh marked


def lead_facts_refresh() -> SummaryReport:
    """The funnel summary and the first assignments, then the facts, brought up to the history's last row."""
    stage_summary_refresh()
    first_assignments_refresh()
    report = summary_refresh(LEAD_FACTS)
    summary_refresh(TASK_DAYS)  # the days of the leads whose follow-ups changed
    days_settle()  # the roll-ups of the days those two marked
    experiment_leads_refresh()  # the experiments page's summary, kept with the rest
    return report


def lead_facts_rebuild_leads(lead_ids: list[int]) -> int:
    """These leads' facts (and their days' roll-up) again from the leads as they are now, whatever the mark: a
    person's erasure does not wait for the next refresh."""
    if not lead_ids:
        return 0
    leads_sql, params = Lead.objects.filter(pk__in=lead_ids).values("id").query.sql_with_params()
    with transaction.atomic():
        # The refresh's lock: a refresh rebuilding the same leads or days at the same time would otherwise insert
        # them twice (its mark row serialises the refreshes; this takes the same row). Its time moves: a refresh
        # that read its rows before this then rebuilds in its transaction instead of writing what it read.
        SummaryMark.objects.filter(name=LEAD_FACTS.name).update(refreshed_at=timezone.now())
        count = _rebuild(leads_sql, list(params))
    days_settle()
    return count


def lead_facts_refresh_quietly() -> None:
    """Before a page reads: refresh, or (database busy) read the facts as the last refresh left them."""
    stage_summary_refresh_quietly()
    first_assignments_refresh_quietly()
    summary_refresh_quietly(LEAD_FACTS)
    days_settle_quietly()


def lead_facts_rebuild() -> SummaryReport:
    """Start over: the funnel summary, the first assignments, the facts with their roll-up and the experiments
    summary, from the whole history and the score changes."""
    stage_summary_rebuild()
    first_assignments_rebuild()
    report = summary_rebuild(LEAD_FACTS)
    summary_settle(TASK_DAYS)  # the follow-ups' roll-up is rebuilt with the facts' days
    days_settle()
    experiment_leads_rebuild()
    return report


@periodic_job(workflow=Workflow.STAGE_SUMMARY)
def lead_facts_refresh_job() -> str:
    """Every minute: the dashboards' facts catch up with the lead history (a page then rebuilds little)."""
    report = lead_facts_refresh()
    result = f"{report.keys} leads' facts rebuilt, settled at history row {report.settled_id}"
    return result if report.keys else NothingToDo(result)


def live_facts() -> QuerySet[LeadFacts]:
    """The facts of the live leads (not merged), refreshed first: what a page counts instead of ``Lead.objects
    .live()``."""
    lead_facts_refresh_quietly()
    return LeadFacts.objects.filter(merged=False)


def all_facts() -> QuerySet[LeadFacts]:
    """The facts of every lead, merged ones too (decisions and experiments about leads merged since)."""
    lead_facts_refresh_quietly()
    return LeadFacts.objects.all()


def is_facts(queryset: QuerySet) -> bool:
    """Rows of the dashboards' summaries (the facts, the roll-ups), which carry the lead's segment as a column."""
    return issubclass(queryset.model, FilterDimensions)


def reach(queryset: QuerySet, column: str) -> str:
    """The path to a funnel first time (``mql_at``…) from these rows: a column of the facts, the summary's from a
    lead."""
    return column if is_facts(queryset) else f"stage_reach__{column}"
