"""Business logic of the routing layer that reads: tasks, decisions, the loads of reps and the leads routing acts on.

The reads a routing decision makes on every call (open leads per rep, new leads per rep today and this week) are
written for speed; the others are plain querysets. Nothing here writes or schedules anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from leads.choices import CLOSED_STAGES, Outcome, Queue, Stage
from leads.models import Lead, LeadEvent
from revops.base.db.sql import rows_compiled_once
from revops.base.scoping import scoped

from .choices import NurtureStatus, RepRole, TaskKind, TaskStatus
from .models import NurtureEnrollment, NurtureProgram, Rep, RoutingDecision, StageSlaAlert, Task, Territory
from .priority import priority_expression
from .rules import CompiledTerritory
from .scoping import tasks_visible_to

# Queues a lead is routed out of automatically; a lead in review waits for a person.
ROUTABLE_QUEUES = frozenset({Queue.NONE, Queue.HOLDING, Queue.NURTURE})


def task_list_for(*, user) -> QuerySet[Task]:
    """The tasks a user may see (``routing.scoping.tasks_visible_to``: their own; a manager also their teams'
    reps'; a RevOps admin everyone's)."""
    return tasks_visible_to(user, Task.objects.select_related("lead", "assignee").order_by("status", "due_at", "id"))


TASK_SORTS = {"due": ("due_at", "id"), "-due": ("-due_at", "-id"), "priority": ("-priority", "due_at", "id"),
              "score": ("-lead__score", "due_at", "id"), "created": ("-created_at", "-id")}


@dataclass(frozen=True)
class TaskQuery:
    """The filters and sort of a task queue (the workspace page and ``GET /api/tasks/``); empty means any."""

    status: str = "open"
    band: str = ""
    stage: str = ""
    kind: str = ""
    disposition: str = ""
    overdue: bool = False
    reassign_requested: bool = False
    assignee: int | None = None
    sort: str = "priority"


def task_queue(*, user, query: TaskQuery, now: datetime) -> QuerySet[Task]:
    """The tasks a user may see (``task_list_for``), filtered and sorted, each with its ``priority``
    (``routing.priority``: one definition for the queue, the API and the messages)."""
    tasks = task_list_for(user=user).annotate(priority=priority_expression(now))
    if query.status in TaskStatus.values:
        tasks = tasks.filter(status=query.status)
    for field, value in (("lead__band", query.band), ("lead__stage", query.stage), ("kind", query.kind),
                         ("disposition", query.disposition), ("assignee_id", query.assignee)):
        if value:
            tasks = tasks.filter(**{field: value})
    if query.overdue:
        tasks = tasks.filter(status=TaskStatus.OPEN, due_at__lt=now)
    if query.reassign_requested:
        tasks = tasks.filter(status=TaskStatus.OPEN, reassign_requested_at__isnull=False)
    return tasks.order_by(*TASK_SORTS.get(query.sort, TASK_SORTS["priority"]))


def task_queue_counts(*, user, now: datetime) -> dict[str, int]:
    """The counts at the top of the queue: open, overdue, due today (24 h), snoozed, reassignment requests."""
    open_tasks = task_list_for(user=user).filter(status=TaskStatus.OPEN).order_by()
    return open_tasks.aggregate(
        open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now)),
        due_soon=Count("id", filter=Q(due_at__gte=now, due_at__lt=now + timedelta(hours=24))),
        snoozed=Count("id", filter=Q(snooze_count__gt=0)),
        reassign=Count("id", filter=Q(reassign_requested_at__isnull=False)),
    )


# Events a rep logs in the workspace (a call, an e-mail, a note) carry this source: the rep's work, not the lead's.
REP_LOGGED_EVENT_SOURCE = "rep"
# The dedup key of a re-engagement's task starts so (a cold trigger's re-engage task does not).
REENGAGE_TASK_KEY = "re_engage:lead:"


def lead_reengage_state(*, lead_id: int, event_ids: list[int]) -> Lead | None:
    """The open lead with ``previous_activity_at``: its last activity before the events ``event_ids`` (its newest
    other event, a task completed on it, a re-engage task, its assignment, its creation); None when not open.

    ``last_interaction_at`` cannot tell: recording the new events has moved it already. One query.
    """
    other_event = (LeadEvent.objects.filter(lead=OuterRef("pk")).exclude(pk__in=event_ids)
                   .order_by("-occurred_at").values("occurred_at")[:1])
    done = (Task.objects.filter(lead=OuterRef("pk"), completed_at__isnull=False).order_by("-completed_at")
            .values("completed_at")[:1])
    reengaged = (Task.objects.filter(lead=OuterRef("pk"), kind=TaskKind.RE_ENGAGE,
                                     dedup_key__startswith=REENGAGE_TASK_KEY)
                 .order_by("-created_at").values("created_at")[:1])
    lead = leads_open().filter(pk=lead_id).annotate(
        last_other_event=Subquery(other_event), last_done=Subquery(done), last_reengaged=Subquery(reengaged),
    ).first()
    if lead is not None:
        # Compared here, not with SQL GREATEST: SQLite's MAX(a, b) is NULL when either is.
        moments = [lead.last_other_event, lead.last_done, lead.last_reengaged, lead.assigned_at, lead.created_at]
        lead.previous_activity_at = max((m for m in moments if m is not None), default=None)
    return lead


def lead_reengage_candidate(*, lead_id: int, event_ids: list[int], quiet_days: int, now: datetime) -> bool:
    """Whether new activity may re-engage this lead (the job decides for sure, ``services.reengagement``): open, and
    with no activity for ``quiet_days`` before these events, or in the nurture stage."""
    lead = lead_reengage_state(lead_id=lead_id, event_ids=event_ids)
    if lead is None:
        return False
    if lead.previous_activity_at is not None and lead.previous_activity_at < now - timedelta(days=quiet_days):
        return True
    return lead.stage == Stage.NURTURE


def stage_sla_alerts_for(*, user) -> QuerySet[StageSlaAlert]:
    """The time-in-stage breaches of the leads a user's teams own (a superuser: all), newest first."""
    alerts = StageSlaAlert.objects.select_related("lead__owner").order_by("-created_at", "-id")
    return scoped(alerts, user)


def routing_decision_latest(*, lead_id: int) -> RoutingDecision | None:
    return RoutingDecision.objects.filter(lead_id=lead_id).select_related("rule", "rep__user").order_by(
        "-created_at", "-id"
    ).first()


# --- Leads routing acts on ----------------------------------------------------------------------------------------


def leads_open(queryset: QuerySet[Lead] | None = None) -> QuerySet[Lead]:
    """Live, open leads: the ones that count against a rep's capacity."""
    return (queryset if queryset is not None else Lead.objects.live()).filter(outcome=Outcome.OPEN).exclude(
        stage__in=CLOSED_STAGES
    )


def lead_waiting_for_routing(*, lead_id: int) -> bool:
    """Whether the lead waits for routing: live, no owner, in a queue routing takes leads out of (asked after every
    score: the statement is compiled once, the conditions read in Python as in ``leads_waiting_among``)."""
    rows = rows_compiled_once("lead waiting for routing",
                              lambda: Lead.objects.filter(pk=0).values_list("owner_id", "queue", "merged_into_id"),
                              [lead_id])
    return any(placement_waiting_for_routing(*row) for row in rows)


def placement_waiting_for_routing(owner_id: int | None, queue: str, merged_into_id: int | None) -> bool:
    """Whether a lead so placed waits for routing: live, no owner, in a queue routing takes leads out of."""
    return owner_id is None and merged_into_id is None and queue in ROUTABLE_QUEUES


def leads_waiting_among(*, lead_ids: list[int]) -> list[int]:
    """The leads of ``lead_ids`` waiting for routing (no owner, not merged, a routable queue), in the given order."""
    # Filtered here, not in SQL: with a condition on owner_id, SQLite (no statistics) may walk the owner index's
    # NULL bucket, every unrouted lead, instead of looking the batch up by primary key.
    rows = Lead.objects.filter(pk__in=lead_ids).values_list("pk", "owner_id", "queue", "merged_into_id")
    return [pk for pk, owner_id, queue, merged_into_id in rows
            if owner_id is None and merged_into_id is None and queue in ROUTABLE_QUEUES]


def leads_unrouted_ids() -> list[int]:
    """Ids of live scored leads with no owner in the none or holding queue (what routing skipped while off)."""
    return list(
        Lead.objects.live()
        .filter(owner__isnull=True, queue__in=[Queue.NONE, Queue.HOLDING], score__isnull=False)
        .values_list("pk", flat=True)
    )


def leads_waiting_for_routing(*, last: int | None = None) -> list[int]:
    """Ids of live leads waiting for routing (no owner, queue none or holding), oldest first; the last N only."""
    queryset = Lead.objects.live().filter(owner__isnull=True, queue__in=[Queue.NONE, Queue.HOLDING])
    if last:
        return sorted(queryset.order_by("-created_at", "-id").values_list("pk", flat=True)[:last])
    return list(queryset.order_by("created_at", "id").values_list("pk", flat=True))


def owner_is_sdr(*, owner_id: int | None) -> bool:
    """Whether the user owning a lead is an SDR (a lead of theirs that becomes SQL is handed over)."""
    return bool(owner_id) and Rep.objects.filter(user_id=owner_id, role=RepRole.SDR).exists()


def lead_owned_by_sdr(*, lead_id: int) -> bool:
    """Whether a live lead is owned by an SDR."""
    owner_id = Lead.objects.live().filter(pk=lead_id).values_list("owner_id", flat=True).first()
    return owner_is_sdr(owner_id=owner_id)


def leads_sdr_owned_among(*, lead_ids: list[int]) -> list[int]:
    """The leads of ``lead_ids`` an SDR owns that were not merged."""
    if not lead_ids:
        return []
    sdr_user_ids = set(Rep.objects.filter(role=RepRole.SDR).values_list("user_id", flat=True))
    rows = Lead.objects.filter(pk__in=lead_ids).values_list("pk", "owner_id", "merged_into_id")
    return [pk for pk, owner_id, merged_into_id in rows if owner_id in sdr_user_ids and merged_into_id is None]


def leads_sql_owned_by_sdr_ids(*, among: list[int] | None = None) -> list[int]:
    """Open SQL leads still owned by an SDR, in ascending id: the hand-offs due (all of them: those routing skipped
    while off; ``among``: of those leads only)."""
    sdr_users = Rep.objects.filter(role=RepRole.SDR).values("user_id")
    leads = leads_open().filter(stage=Stage.SQL, owner_id__in=sdr_users)
    if among is not None:
        leads = leads.filter(pk__in=among)
    return list(leads.order_by("pk").values_list("pk", flat=True))


def reps_inactive_with_open_leads_ids() -> list[int]:
    """Reps inactive (as reps or as users) who still own open leads."""
    open_owners = leads_open().filter(owner__isnull=False).values("owner_id")
    return list(Rep.objects.filter(Q(is_active=False) | Q(user__is_active=False), user_id__in=open_owners)
                .values_list("pk", flat=True))


def rep_leads_reroute_needed(*, rep_id: int) -> bool:
    """Whether a rep is inactive (as a rep or as a user) and still owns open leads."""
    rep = Rep.objects.select_related("user").filter(pk=rep_id).first()
    if rep is None or (rep.is_active and rep.user.is_active):
        return False
    return leads_open().filter(owner_id=rep.user_id).exists()


def rep_id_of_user(*, user_id: int) -> int | None:
    return Rep.objects.filter(user_id=user_id).values_list("pk", flat=True).first()


def rep_open_lead_ids(*, rep: Rep) -> list[int]:
    """Ids of the live open leads a rep owns, oldest first."""
    return list(leads_open().filter(owner_id=rep.user_id).order_by("pk").values_list("pk", flat=True))


def territory_lead_ids(*, territory: Territory) -> list[int]:
    """Open leads a territory change may affect: located in it now, or routed by a rule of it before.

    Leads waiting in review are left to the person reviewing them.
    """
    compiled = CompiledTerritory.of(territory)
    candidates = (
        leads_open()
        .filter(Q(owner__isnull=False) | Q(queue__in=list(ROUTABLE_QUEUES)))
        .filter(Q(country__in=list(compiled.countries))
                | Q(routing_decisions__rule__territory=territory, routing_decisions__undone_at__isnull=True))
        .values_list("pk", "country", "state", "postal_code")
        .distinct()
    )
    routed_here = set(
        RoutingDecision.objects.filter(rule__territory=territory, undone_at__isnull=True).values_list("lead_id",
                                                                                                      flat=True)
    )
    return sorted(
        pk for pk, country, state, postal in candidates
        if pk in routed_here or compiled.covers(country=country, state=state, postal_code=postal)
    )


# --- The loads of reps (read on every decision) -------------------------------------------------------------------


def rep_open_lead_counts(reps: list[Rep]) -> dict[int, int]:
    """Open leads owned by each rep (one query, written in SQL: it runs on every routing decision).

    The conditions are written as literals, exactly as the partial index ``lead_open_by_owner`` has them, so the
    count reads that index alone (SQLite uses a partial index only when the query repeats its terms as written,
    and PostgreSQL's planner proves the index's predicate from the literals).
    """
    if not reps:
        return {}
    quote = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(reps))
    closed = ", ".join(f"'{stage}'" for stage in CLOSED_STAGES)  # constants of ours, not input
    # SQLite without ANALYZE statistics would rather walk the outcome index (every open lead): name the index.
    indexed_by = " INDEXED BY lead_open_by_owner" if connection.vendor == "sqlite" else ""
    sql = (
        f"SELECT {quote('owner_id')}, COUNT(*) FROM {quote(Lead._meta.db_table)}{indexed_by} "
        f"WHERE {quote('owner_id')} IN ({marks}) AND {quote('merged_into_id')} IS NULL "
        f"AND {quote('outcome')} = '{Outcome.OPEN.value}' "
        f"AND NOT ({quote('stage')} IN ({closed})) GROUP BY {quote('owner_id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [r.user_id for r in reps])
        by_user = dict(cursor.fetchall())
    return {r.pk: by_user.get(r.user_id, 0) for r in reps}


def rep_assignment_counts(reps: list[Rep], now: datetime) -> tuple[dict[int, int], dict[int, int]]:
    """New leads given to each rep today and this week (in UTC days), not counting undone decisions.

    Only reps with a daily or weekly cap need it; with none in the pool no query runs.
    """
    capped = [r for r in reps if r.daily_cap is not None or r.weekly_cap is not None]
    if not capped:
        return {}, {}
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week_start = day_start - timedelta(days=day_start.weekday())
    rows = (
        RoutingDecision.objects.filter(rep_id__in=[r.pk for r in capped], created_at__gte=week_start,
                                       undone_at__isnull=True)
        .values("rep_id")
        .annotate(week=Count("id"), today=Count("id", filter=Q(created_at__gte=day_start)))
    )
    week = {row["rep_id"]: row["week"] for row in rows}
    today = {row["rep_id"]: row["today"] for row in rows}
    return today, week


def rep_performance_weights(reps: list[Rep], now: datetime) -> dict[int, float]:
    """1 + 10 × each rep's win rate over leads closed in the last 90 days."""
    since = now - timedelta(days=90)
    rows = (
        Lead.objects.filter(owner_id__in=[r.user_id for r in reps], closed_at__gte=since)
        .values("owner_id")
        .annotate(won=Count("id", filter=Q(outcome=Outcome.WON)), closed=Count("id"))
    )
    rate = {row["owner_id"]: row["won"] / row["closed"] for row in rows if row["closed"]}
    return {r.pk: 1.0 + 10.0 * rate.get(r.user_id, 0.0) for r in reps}


def rep_territory_ids(reps: list[Rep]) -> dict[int, set[int]]:
    """Rep id → the ids of the territories the rep covers."""
    result: dict[int, set[int]] = {r.pk: set() for r in reps}
    for rep_id, territory_id in Rep.territories.through.objects.filter(rep_id__in=list(result)).values_list(
        "rep_id", "territory_id"
    ):
        result[rep_id].add(territory_id)
    return result


def leads_territory_rule(*, lead_ids: list[int]) -> dict[int, int]:
    """Lead id → territory id, for leads whose latest decision came from a rule with ``match_rep_territory``."""
    rows = (RoutingDecision.objects.filter(lead_id__in=lead_ids, undone_at__isnull=True)
            .order_by("lead_id", "created_at", "id").values_list("lead_id", "rule__match_rep_territory",
                                                                  "rule__territory_id"))
    latest: dict[int, int | None] = {}
    for lead_id, match, territory_id in rows:
        latest[lead_id] = territory_id if match and territory_id else None
    return {lead_id: territory for lead_id, territory in latest.items() if territory}


# --- Nurture programs ----------------------------------------------------------------------------------------------


def nurture_program_for(*, lead: Lead) -> NurtureProgram | None:
    """The first active program (by order) with at least one step whose conditions hold for the lead and that the
    lead has not been through before (a lead back in nurture gets the next program, never the same e-mails twice)."""
    done = NurtureEnrollment.objects.filter(lead_id=lead.pk).values("program_id")
    programs = (NurtureProgram.objects.filter(active=True, steps__isnull=False).exclude(pk__in=done).distinct()
                .order_by("order", "name"))
    return next((program for program in programs if program.matches(lead)), None)


def decisions_nurture_moves(*, decision_ids: list[int]) -> tuple[list[int], list[tuple[int, bool]]]:
    """What routing decisions mean for nurture: the leads that landed in the nurture queue without an owner, and
    the leads that left it (``(lead_id, got_an_owner)``: an owner, or another queue). Only a lead that was in the
    nurture queue can have an active enrollment; one whose queue was changed outside routing is caught when its
    next step is due (``routing.services.nurture``)."""
    landed: list[int] = []
    left: list[tuple[int, bool]] = []
    rows = RoutingDecision.objects.filter(pk__in=decision_ids).values_list("lead_id", "owner_id", "queue",
                                                                            "previous_queue")
    for lead_id, owner_id, queue, previous_queue in rows:
        if owner_id is None and queue == Queue.NURTURE:
            landed.append(lead_id)
        elif previous_queue == Queue.NURTURE:
            left.append((lead_id, owner_id is not None))
    return landed, left


def nurture_enrollments_due_ids(*, now: datetime, limit: int) -> list[int]:
    """Active enrollments whose next step is due, oldest due first."""
    return list(NurtureEnrollment.objects.filter(status=NurtureStatus.ACTIVE, next_at__lte=now)
                .order_by("next_at", "pk").values_list("pk", flat=True)[:limit])


def leads_nurture_unenrolled_ids(*, limit: int = 10000) -> list[int]:
    """Live unowned leads in the nurture queue that were never enrolled (what a switched-off nurture workflow left
    to catch up)."""
    return list(Lead.objects.live().filter(queue=Queue.NURTURE, owner__isnull=True)
                .exclude(nurture_enrollments__isnull=False).order_by("pk").values_list("pk", flat=True)[:limit])
