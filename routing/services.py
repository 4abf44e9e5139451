"""Business logic of the routing layer that writes: route a lead, hand it over, reassign, undo, rebalance, tasks.

``lead_route`` explains every decision: the rules tried and why each did or did not match, the candidates of the
chosen pool and why each was skipped, and the strategy's state. When data a rule needs is missing the lead waits
in the holding queue and is routed again when the data arrives; when no rule matches, or a pool has nobody
available and no overflow, it goes to the review queue: never to a random rep, never to nobody.

Locks are always taken in one order, so two workers (or a worker and an admin action) can never deadlock:
the lead rows (ascending id) → the reps of every pool the decision may use, overflow teams included (ascending id,
one statement) → the round-robin pointer → the lead's tasks. Capacity, caps and the round-robin turn are read
only after the rep rows are locked, so two decisions for the same pool run one after the other.
"""

from __future__ import annotations

import json
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Q
from django.db.transaction import TransactionManagementError
from django.utils import timezone
from django.utils.dateparse import parse_datetime, parse_time

from leads.choices import CLOSED_STAGES, Outcome, Queue, Stage
from leads.history import lead_save_with_history, leads_history_record_all
from leads.models import Account, Lead
from leads.selectors import lead_locked
from revops.base.db.instances import instance_new
from revops.base.db.sql import bulk_insert, history_copy_all
from revops.base.jobs import TRANSIENT_ERRORS, enqueue_after_commit
from revops.base.notifications import notification_queue, notifications_send_schedule

from . import strategies
from .choices import RepRole, RuleAction, Strategy, TaskKind, TaskStatus
from .languages import lead_language
from .models import Rep, RoutingDecision, RoutingPointer, RoutingRule, SlaPolicy, Task, Team, Territory, split_csv
from .rules import CompiledRule, RuleCheck, RuleSet, routing_rule_set, rule_check  # noqa: F401 - re-exported

User = get_user_model()

# Queues a lead is routed out of automatically; a lead in review waits for a person.
ROUTABLE_QUEUES = frozenset({Queue.NONE, Queue.HOLDING, Queue.NURTURE})
DEFAULT_SLA_MINUTES = {"A": 60, "B": 240, "C": 1440, "D": 2880}
PREVIEW_MAX_LEADS = 5000
# A decision lists this many rules tried in full; further rules that did not match are counted by the condition
# that failed (and their ids kept), so a decision under hundreds of rules stays a few kilobytes.
EXPLAIN_RULES_IN_FULL = 30

CAUSE_STAGE_HANDOFF = "stage handoff"
CAUSE_REASSIGN = "manual reassign"
CAUSE_REBALANCE = "rebalance"
CAUSE_REP_DEACTIVATED = "rep deactivated"
CAUSE_TERRITORY = "territory change"


# --- Availability -------------------------------------------------------------------------------------------------


def rep_unavailable_reason(rep: Rep | PoolRep, now: datetime, open_leads: int, today: int, week: int) -> str | None:
    """Why a rep cannot take a lead now, or None when they can."""
    return _rep_absent_reason(rep, now) or _rep_full_reason(rep, open_leads, today, week)


def _rep_absent_reason(rep: Rep | PoolRep, now: datetime) -> str | None:
    """The time-bound half of availability: inactive, out of office, outside working hours."""
    if not rep.is_active or not rep.user.is_active:
        return "inactive"
    if rep.out_of_office_from and rep.out_of_office_until and rep.out_of_office_from <= now <= rep.out_of_office_until:
        return f"out of office until {rep.out_of_office_until:%Y-%m-%d %H:%M} UTC"
    if rep.out_of_office_until and not rep.out_of_office_from and now <= rep.out_of_office_until:
        return f"out of office until {rep.out_of_office_until:%Y-%m-%d %H:%M} UTC"
    local = now.astimezone(zoneinfo.ZoneInfo(rep.time_zone)).time()
    start, end = rep.working_hours_start, rep.working_hours_end
    inside = start <= local <= end if start <= end else (local >= start or local <= end)
    if not inside:
        return f"outside working hours ({local:%H:%M} in {rep.time_zone}, works {start:%H:%M}–{end:%H:%M})"
    return None


def _rep_full_reason(rep: Rep | PoolRep, open_leads: int, today: int, week: int) -> str | None:
    """The load-bound half of availability: capacity, daily and weekly caps."""
    if open_leads >= rep.capacity:
        return f"at capacity ({open_leads}/{rep.capacity} open leads)"
    if rep.daily_cap is not None and today >= rep.daily_cap:
        return f"daily cap reached ({today}/{rep.daily_cap})"
    if rep.weekly_cap is not None and week >= rep.weekly_cap:
        return f"weekly cap reached ({week}/{rep.weekly_cap})"
    return None


def _open_leads(queryset=None):
    """Live, open leads: the ones that count against a rep's capacity."""
    return (queryset if queryset is not None else Lead.objects.live()).filter(outcome=Outcome.OPEN).exclude(
        stage__in=CLOSED_STAGES
    )


def _counts_against_capacity(lead: Lead) -> bool:
    return lead.merged_into_id is None and lead.outcome == Outcome.OPEN and lead.stage not in CLOSED_STAGES


def rep_open_lead_counts(reps: list[Rep] | list[PoolRep]) -> dict[int, int]:
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


def _assignment_counts(reps: list[PoolRep], now: datetime) -> tuple[dict[int, int], dict[int, int]]:
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


def _performance_weights(reps: list[PoolRep], now: datetime) -> dict[int, float]:
    """1 + 10 × each rep's win rate over leads closed in the last 90 days."""
    since = now - timedelta(days=90)
    rows = (
        Lead.objects.filter(owner_id__in=[r.user_id for r in reps], closed_at__gte=since)
        .values("owner_id")
        .annotate(won=Count("id", filter=Q(outcome=Outcome.WON)), closed=Count("id"))
    )
    rate = {row["owner_id"]: row["won"] / row["closed"] for row in rows if row["closed"]}
    return {r.pk: 1.0 + 10.0 * rate.get(r.user_id, 0.0) for r in reps}


# --- Choosing a rep -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PoolUser:
    """The user fields a routing decision reads."""

    id: int
    is_active: bool
    username: str
    first_name: str
    last_name: str

    @property
    def pk(self) -> int:
        return self.id

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_username(self) -> str:
        return self.username


@dataclass(slots=True, eq=False)
class PoolRep:
    """A rep as a routing decision sees it: read (and locked) in one SQL statement for the whole pool.

    Building full model instances for every rep of a pool on every decision cost more than the rest of the
    decision; this carries the same attribute names, so availability and strategies take either.
    """

    id: int
    user_id: int
    team_id: int
    role: str
    is_active: bool
    out_of_office_from: datetime | None
    out_of_office_until: datetime | None
    time_zone: str
    working_hours_start: dt_time
    working_hours_end: dt_time
    capacity: int
    daily_cap: int | None
    weekly_cap: int | None
    weight: int
    skills: str
    languages: str
    slack_user_id: str
    user: PoolUser

    @property
    def pk(self) -> int:
        return self.id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PoolRep | Rep) and other.pk == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.username


_POOL_REP_FIELDS = ("id", "user_id", "team_id", "role", "is_active", "out_of_office_from", "out_of_office_until",
                    "time_zone", "working_hours_start", "working_hours_end", "capacity", "daily_cap", "weekly_cap",
                    "weight", "skills", "languages", "slack_user_id")
_POOL_USER_FIELDS = ("id", "is_active", "username", "first_name", "last_name")


def _as_datetime(value: Any) -> datetime | None:
    """A datetime column read in raw SQL: SQLite gives naive UTC (text or datetime), PostgreSQL an aware one."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else parse_datetime(value)
    return parsed.replace(tzinfo=UTC) if parsed is not None and parsed.tzinfo is None else parsed


def _as_time(value: Any) -> dt_time:
    return value if isinstance(value, dt_time) else parse_time(value)


def _lock_reps(*, team_ids: list[int], rep_ids: tuple[int, ...] = ()) -> list[PoolRep]:
    """Lock every rep of the given teams (and the given reps) in one statement, in id order: the pool lock.

    Written in SQL because it runs on every decision for every rep of the pool. On PostgreSQL the rows are locked
    ``FOR UPDATE OF`` the rep table (rows lock in id order, so two decisions never deadlock); SQLite serializes
    writing transactions instead.
    """
    if not team_ids and not rep_ids:
        return []
    if not connection.in_atomic_block:
        raise TransactionManagementError("the pool lock is only taken inside a transaction")
    quote = connection.ops.quote_name
    rep_table, user_table = quote(Rep._meta.db_table), quote(User._meta.db_table)
    columns = [f"{rep_table}.{quote(Rep._meta.get_field(name).column)}" for name in _POOL_REP_FIELDS]
    columns += [f"{user_table}.{quote(User._meta.get_field(name).column)}" for name in _POOL_USER_FIELDS]
    where = []
    if team_ids:
        where.append(f"{rep_table}.{quote('team_id')} IN ({', '.join(['%s'] * len(team_ids))})")
    if rep_ids:
        where.append(f"{rep_table}.{quote('id')} IN ({', '.join(['%s'] * len(rep_ids))})")
    sql = (f"SELECT {', '.join(columns)} FROM {rep_table} INNER JOIN {user_table} "
           f"ON {rep_table}.{quote('user_id')} = {user_table}.{quote('id')} WHERE {' OR '.join(where)} "
           f"ORDER BY {rep_table}.{quote('id')}")
    if connection.features.has_select_for_update_of:
        sql += f" FOR UPDATE OF {rep_table}"
    elif connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*team_ids, *rep_ids])
        rows = cursor.fetchall()
    width = len(_POOL_REP_FIELDS)
    reps = []
    for row in rows:
        (pk, user_id, team_id, role, active, ooo_from, ooo_until, tz, start, end, capacity, daily, weekly, weight,
         skills, languages, slack) = row[:width]
        user = PoolUser(row[width], bool(row[width + 1]), *row[width + 2:])
        reps.append(PoolRep(pk, user_id, team_id, role, bool(active), _as_datetime(ooo_from), _as_datetime(ooo_until),
                            tz, _as_time(start), _as_time(end), capacity, daily, weekly, weight, skills, languages,
                            slack, user))
    return reps


def _pointer_locked(pool_key: str) -> RoutingPointer:
    """The pool's round-robin pointer, locked (created on the pool's first turn)."""
    quote = connection.ops.quote_name
    table = quote(RoutingPointer._meta.db_table)
    sql = (f"SELECT {quote('id')}, {quote('last_rep_id')}, {quote('turns')}, {quote('credits')} FROM {table} "
           f"WHERE {quote('pool_key')} = %s" + (" FOR UPDATE" if connection.features.has_select_for_update else ""))
    with connection.cursor() as cursor:
        cursor.execute(sql, [pool_key])
        row = cursor.fetchone()
    if row is None:
        pointer, _ = RoutingPointer.objects.select_for_update().get_or_create(pool_key=pool_key)
        return pointer
    credits = json.loads(row[3]) if isinstance(row[3], str) else (row[3] or {})
    return RoutingPointer(id=row[0], pool_key=pool_key, last_rep_id=row[1], turns=row[2], credits=credits)


def _pointer_save(pointer: RoutingPointer) -> None:
    quote = connection.ops.quote_name
    table = quote(RoutingPointer._meta.db_table)
    cast = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {quote('last_rep_id')} = %s, {quote('turns')} = %s, "
                       f"{quote('credits')} = {cast} WHERE {quote('id')} = %s",
                       [pointer.last_rep_id, pointer.turns, json.dumps(pointer.credits), pointer.pk])


@dataclass
class _Pools:
    """The locked reps a decision may use with their loads, read once after the lock."""

    reps: list[PoolRep]
    open_counts: dict[int, int]
    today: dict[int, int]
    week: dict[int, int]
    # Per rep, for this pool's moment: the time-bound reason (None: present) and the label; a batch routes many
    # leads with one pool, and the time-zone arithmetic and names were most of the per-lead cost.
    absent: dict[int, str | None] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls, reps: list[PoolRep], lead: Lead | None, now: datetime) -> _Pools:
        open_counts = rep_open_lead_counts(reps)
        if lead is not None and lead.owner_id and _counts_against_capacity(lead):
            # The lead is being re-routed: its current owner's count must not include it.
            for rep in reps:
                if rep.user_id == lead.owner_id:
                    open_counts[rep.pk] = max(0, open_counts[rep.pk] - 1)
        today, week = _assignment_counts(reps, now)
        return cls(reps, open_counts, today, week)

    def unavailable(self, rep: PoolRep, now: datetime) -> str | None:
        if rep.pk not in self.absent:
            self.absent[rep.pk] = _rep_absent_reason(rep, now)
        return self.absent[rep.pk] or _rep_full_reason(rep, self.open_counts[rep.pk], self.today.get(rep.pk, 0),
                                                       self.week.get(rep.pk, 0))

    def candidate(self, rep: PoolRep, team: Team | None, reason: str | None) -> dict[str, Any]:
        if rep.pk not in self.labels:
            self.labels[rep.pk] = str(rep)
        return {"rep": rep.pk, "name": self.labels[rep.pk], "team": team.name if team else "", "role": rep.role,
                "open_leads": self.open_counts[rep.pk], "skipped": reason}


class _PoolSource:
    """Where one decision gets its locked pool and round-robin pointers: locked now, for this decision alone."""

    def __init__(self, lead: Lead, now: datetime) -> None:
        self.lead, self.now = lead, now

    def pools(self, *, team_ids: list[int], rep_ids: tuple[int, ...] = ()) -> _Pools:
        return _Pools.load(_lock_reps(team_ids=team_ids, rep_ids=rep_ids), self.lead, self.now)

    def rep_team(self, rep_id: int) -> int:
        return Rep.objects.values_list("team_id", flat=True).get(pk=rep_id)

    def pointer(self, pool_key: str) -> RoutingPointer:
        return _pointer_locked(pool_key)

    def pointer_taken(self, pointer: RoutingPointer) -> None:
        _pointer_save(pointer)


class _BatchPoolSource(_PoolSource):
    """A batch's pools (``leads_route_many``): every rep its matched rules may use, locked once in one statement
    before the first choice; the loads counted on as the batch assigns; each pointer read once and saved once."""

    def __init__(self, pools: _Pools, rep_teams: dict[int, int], now: datetime) -> None:
        super().__init__(None, now)
        self._pools, self._rep_teams = pools, rep_teams
        self._pointers: dict[str, RoutingPointer] = {}

    def pools(self, *, team_ids: list[int], rep_ids: tuple[int, ...] = ()) -> _Pools:
        return self._pools

    def rep_team(self, rep_id: int) -> int:
        return self._rep_teams[rep_id]

    def pointer(self, pool_key: str) -> RoutingPointer:
        if pool_key not in self._pointers:
            self._pointers[pool_key] = _pointer_locked(pool_key)
        return self._pointers[pool_key]

    def pointer_taken(self, pointer: RoutingPointer) -> None:
        pass  # saved once by flush()

    def assigned(self, rep: PoolRep) -> None:
        """A lead of the batch went to ``rep``: the next choices see it in the rep's load and caps."""
        pools = self._pools
        pools.open_counts[rep.pk] = pools.open_counts.get(rep.pk, 0) + 1
        if rep.daily_cap is not None or rep.weekly_cap is not None:
            pools.today[rep.pk] = pools.today.get(rep.pk, 0) + 1
            pools.week[rep.pk] = pools.week.get(rep.pk, 0) + 1

    def flush(self) -> None:
        for pointer in self._pointers.values():
            _pointer_save(pointer)


@dataclass
class _Choice:
    """What the strategy needs to know about the lead being routed, and where its pools come from."""

    lead: Lead
    language: str
    now: datetime
    keep_current_owner: bool
    explanation: dict[str, Any]
    source: _PoolSource


def _choose_from_chain(rule: RoutingRule, chain: list[Team], pools: _Pools, choice: _Choice) -> PoolRep | None:
    """Pick a rep of the first team in ``chain`` with someone available, by the rule's strategy; None if nobody.

    Steps per team: the team's reps (narrowed to the rule's roles and, with ``match_rep_territory``, to reps of
    the rule's territory); skip the unavailable ones, saying why; keep the current owner when asked and still
    available; else apply the strategy (skills and language narrow the pool first) under the pool's locked
    round-robin pointer. A team with nobody available overflows to the next.
    """
    explanation, now, lead = choice.explanation, choice.now, choice.lead
    roles = set(split_csv(rule.rep_roles))
    in_territory: set[int] | None = None
    if rule.match_rep_territory and rule.territory_id:
        in_territory = set(
            Rep.territories.through.objects.filter(rep_id__in=[r.pk for r in pools.reps],
                                                   territory_id=rule.territory_id).values_list("rep_id", flat=True)
        )
    for team in chain:
        pool = [r for r in pools.reps if r.team_id == team.pk]
        if roles:
            pool = [r for r in pool if r.role in roles]
        if in_territory is not None:
            pool = [r for r in pool if r.pk in in_territory]
        available = []
        for rep in pool:
            reason = pools.unavailable(rep, now)
            explanation.setdefault("candidates", []).append(pools.candidate(rep, team, reason))
            if reason is None:
                available.append(rep)
        if not available:
            explanation.setdefault("overflow", []).append(f"nobody available in {team.name}")
            continue
        if choice.keep_current_owner and lead.owner_id:
            current = next((r for r in available if r.user_id == lead.owner_id), None)
            if current is not None:
                explanation["strategy_state"] = {"strategy": "kept current owner", "rep": current.pk}
                return current
        return _apply_strategy(rule, team, available, pools, choice)
    return None


def _apply_strategy(rule: RoutingRule, team: Team, available: list[PoolRep], pools: _Pools,
                    choice: _Choice) -> PoolRep:
    """Choose among available reps of one team by the rule's strategy, under the pool's locked pointer."""
    lead, explanation = choice.lead, choice.explanation
    pool_key = f"team:{team.pk}:{rule.strategy}"
    chosen_pool = available
    if rule.strategy == Strategy.SKILLS:
        skills: dict[str, Any] = {}
        if lead.industry:
            skilled = [r for r in chosen_pool if lead.industry.lower() in split_csv(r.skills)]
            skills.update(industry=lead.industry, industry_matching=[r.pk for r in skilled])
            if skilled:
                chosen_pool = skilled
                pool_key += f":{lead.industry.lower()}"
        if choice.language:
            speakers = [r for r in chosen_pool if choice.language in split_csv(r.languages)]
            skills.update(language=choice.language, language_matching=[r.pk for r in speakers])
            if speakers:
                chosen_pool = speakers
                pool_key += f":lang={choice.language}"
        skills["matching"] = [r.pk for r in chosen_pool]
        explanation["skills"] = skills
    if rule.strategy == Strategy.ACCOUNT and lead.account_id and lead.account.owner_id:
        owner_rep = next((r for r in available if r.user_id == lead.account.owner_id), None)
        explanation["account_owner"] = lead.account.owner_id
        if owner_rep is not None:
            explanation["strategy_state"] = {"strategy": "account", "account": lead.account_id}
            return owner_rep
    pointer = choice.source.pointer(pool_key[:100])
    if rule.strategy == Strategy.WEIGHTED:
        chosen, state = strategies.weighted_round_robin(chosen_pool, pointer)
    elif rule.strategy == Strategy.PERFORMANCE:
        chosen, state = strategies.weighted_round_robin(chosen_pool, pointer,
                                                        _performance_weights(chosen_pool, choice.now))
    elif rule.strategy == Strategy.CAPACITY:
        chosen, state = strategies.fewest_open(chosen_pool, pointer, pools.open_counts)
    else:
        chosen, state = strategies.round_robin(chosen_pool, pointer)
    choice.source.pointer_taken(pointer)
    explanation["strategy_state"] = state
    return chosen


# --- Routing one lead ---------------------------------------------------------------------------------------------


@dataclass
class RouteOutcome:
    """What ``lead_route`` did: ``assigned``, ``queued``, ``noop`` (nothing to do or nothing changed), ``dry_run``."""

    decision: RoutingDecision | None
    action: str


def _user_label(user) -> str:
    return user.get_username() if user is not None else ""


def _tasks_cancel_open(lead: Lead, assignee_id: int, *, reason: str, user=None) -> list[int]:
    """Cancel the open tasks of a lead assigned to one user (their owner changed); returns the task ids."""
    cancelled = []
    for task in Task.objects.select_for_update().filter(lead=lead, assignee_id=assignee_id, status=TaskStatus.OPEN):
        task.status = TaskStatus.CANCELLED
        task.outcome_note = reason[:500]
        task._history_user = user
        task._change_reason = (reason if user else f"automation:routing {reason}")[:1000]
        task.save(update_fields=["status", "outcome_note"])
        cancelled.append(task.pk)
    return cancelled


def _before(lead: Lead) -> dict[str, Any]:
    """The routing state of a lead before a decision, kept in the decision for undo."""
    return {"queue_reason": lead.queue_reason, "assigned_at": lead.assigned_at.isoformat() if lead.assigned_at
            else None}


def lead_route(
    *,
    lead_id: int,
    cause: str = "new lead",
    force: bool = False,
    dry_run: bool = False,
    include_drafts: bool = False,
    keep_current_owner: bool = False,
    user=None,
) -> RouteOutcome:
    """Route one lead by the ordered rules and record why.

    Steps:
    1. lock the lead; skip it when it already has an owner, waits in review, or was merged (unless ``force``);
    2. try the rules in order (the live ones; with ``include_drafts`` the preview set), noting each result;
    3. act on the first match: a rep (availability checked, overflow to their team's overflow), a team through its
       strategy with overflow teams, or a queue; no match → holding when a rule lacked data, else review;
    4. with ``keep_current_owner``, an owner still eligible in the chosen pool keeps the lead, and a decision that
       changes nothing is not written (territory re-route, stage handoff, preview);
    5. write the decision, cancel the previous owner's open tasks when the owner changes, save the owner or queue
       (with history) and schedule the new owner's follow-up task after commit.
    A dry run does all the choosing inside a savepoint that is rolled back.
    """
    now = timezone.now()
    with transaction.atomic():
        lead = lead_locked(lead_id=lead_id)
        if lead.merged_into_id or (not force and (lead.owner_id or lead.queue not in ROUTABLE_QUEUES)):
            return RouteOutcome(None, "noop")
        rule_set = routing_rule_set(include_drafts=include_drafts)
        tried = _try_rules(lead, rule_set, now)
        matched_rule = tried.matched.rule if tried.matched else None
        explanation = tried.explanation
        owner_rep, queue, summary = _act(matched_rule, rule_set, tried, keep_current_owner, _PoolSource(lead, now))
        owner_id = owner_rep.user_id if owner_rep else None
        if keep_current_owner and owner_id == lead.owner_id and queue == lead.queue:
            return RouteOutcome(None, "noop")
        if not force and owner_rep is None and queue == lead.queue and lead.queue_reason == summary:
            return RouteOutcome(None, "noop")
        explanation["before"] = _before(lead)
        decision = RoutingDecision(
            lead=lead, rule=matched_rule, rep_id=owner_rep.pk if owner_rep else None, owner_id=owner_id,
            previous_owner_id=lead.owner_id, previous_queue=lead.queue, queue=queue,
            strategy=matched_rule.strategy if matched_rule and matched_rule.action == RuleAction.ASSIGN_TEAM else "",
            summary=summary[:500], explanation=explanation, cause=cause[:100], user=user,
        )
        if dry_run:
            transaction.set_rollback(True)
            return RouteOutcome(decision, "dry_run")
        if lead.owner_id and lead.owner_id != owner_id:
            explanation["cancelled_tasks"] = _tasks_cancel_open(
                lead, lead.owner_id, reason=f"lead moved ({cause}): {summary}"[:500], user=user
            )
        decision.save()
        lead.owner_id = owner_id
        lead.queue = queue
        lead.queue_reason = "" if owner_rep else summary[:500]
        if owner_rep:
            lead.assigned_at = now
        lead_save_with_history(
            lead, ["owner", "queue", "queue_reason", "assigned_at"], user=user,
            reason=(f"{cause}: {summary}" if user else f"automation:routing ({cause}) {summary}")[:1000],
        )
        if owner_rep is not None:
            from .jobs import task_create_job

            enqueue_after_commit(task_create_job, decision.pk)
    return RouteOutcome(decision, "assigned" if owner_rep else "queued")


@dataclass
class _Tried:
    """The rules tried for one lead: the first that matched (if any), the data rules lacked, the explanation."""

    lead: Lead
    language: str
    now: datetime
    matched: CompiledRule | None
    missing_data: list[str]
    explanation: dict[str, Any]


def _try_rules(lead: Lead, rule_set: RuleSet, now: datetime) -> _Tried:
    """Try the rules in order until one matches, noting each result (30 in full, the rest counted)."""
    language = lead_language(custom=lead.custom, country=lead.country)
    explanation: dict[str, Any] = {"rules": [], "at": now.isoformat(), "language": language}
    if rule_set.drafts:
        explanation["drafts"] = list(rule_set.drafts)
    matched: CompiledRule | None = None
    missing_data: list[str] = []
    for index, compiled in enumerate(rule_set.rules):
        check = compiled.check(lead, language)
        if index < EXPLAIN_RULES_IN_FULL or check.matched is not False:
            explanation["rules"].append({"rule": compiled.rule.pk, "name": compiled.rule.name,
                                         "matched": check.matched, "detail": check.detail})
        else:
            _omit(explanation, compiled.rule.pk, check.condition)
        if check.matched:
            matched = compiled
            break
        if check.matched is None:
            missing_data.extend(m for m in check.missing if m not in missing_data)
    return _Tried(lead, language, now, matched, missing_data, explanation)


def _omit(explanation: dict[str, Any], rule_id: int, condition: str) -> None:
    """Count a rule that did not match beyond the first EXPLAIN_RULES_IN_FULL, by the condition that failed."""
    more = explanation.setdefault("more_rules", {"not_matching": 0, "by_condition": {}, "ids": []})
    more["not_matching"] += 1
    more["by_condition"][condition] = more["by_condition"].get(condition, 0) + 1
    more["ids"].append(rule_id)


def _act(rule: RoutingRule | None, rule_set: RuleSet, tried: _Tried, keep_current_owner: bool,
         source: _PoolSource) -> tuple[PoolRep | None, str, str]:
    """Carry out the matched rule's action: returns (rep or None, queue, summary)."""
    lead, language, now, missing_data = tried.lead, tried.language, tried.now, tried.missing_data
    explanation = tried.explanation
    if rule is None:
        if missing_data:
            return None, Queue.HOLDING, f"holding: waiting for {', '.join(missing_data)}"
        return None, Queue.REVIEW, "review: no routing rule matched"
    if rule.action == RuleAction.QUEUE:
        return None, rule.queue, f"{rule.queue} queue by rule '{rule.name}'"
    choice = _Choice(lead, language, now, keep_current_owner, explanation, source)
    if rule.action == RuleAction.ASSIGN_REP:
        target_team = rule_set.teams.get(source.rep_team(rule.rep_id))
        overflow = rule_set.team_chain(target_team.overflow_team_id if target_team else None)
        pools = source.pools(team_ids=[t.pk for t in overflow], rep_ids=(rule.rep_id,))
        rep = next(r for r in pools.reps if r.pk == rule.rep_id)
        reason = pools.unavailable(rep, now)
        explanation["candidates"] = [pools.candidate(rep, None, reason)]
        if reason is None:
            return rep, Queue.NONE, f"assigned to {rep} by rule '{rule.name}'"
        owner_rep = _choose_from_chain(rule, overflow, pools, choice) if overflow else None
        if owner_rep is None:
            return None, Queue.REVIEW, f"review: {rep} unavailable ({reason}) and no overflow by rule '{rule.name}'"
        return owner_rep, Queue.NONE, f"assigned to {owner_rep} by rule '{rule.name}' ({rep} {reason}: overflow)"
    chain = rule_set.team_chain(rule.team_id)
    pools = source.pools(team_ids=[t.pk for t in chain])
    owner_rep = _choose_from_chain(rule, chain, pools, choice)
    if owner_rep is None:
        team_name = chain[0].name if chain else "?"
        return None, Queue.REVIEW, f"review: nobody available in {team_name} or its overflow (rule '{rule.name}')"
    return owner_rep, Queue.NONE, (
        f"assigned to {owner_rep} by rule '{rule.name}' ({rule.get_strategy_display().lower()})"
    )


# --- Routing a batch (a bulk import's leads) ------------------------------------------------------------------------

BATCH_CHUNK = 1000
# What a routing decision reads of a lead: the rules' conditions, the language, the strategies, the routing state.
ROUTING_LEAD_FIELDS = ("id", "country", "state", "postal_code", "employees", "industry", "seniority", "score", "band",
                       "stage", "source", "custom", "account_id", "owner_id", "queue", "queue_reason", "assigned_at",
                       "merged_into_id", "outcome")


class _LeadRow:
    """A lead as the batch router reads it: the attributes of ``ROUTING_LEAD_FIELDS`` (and ``account`` for the
    account strategy), read as values; building a model instance for each lead was the batch's largest cost."""

    __slots__ = (*ROUTING_LEAD_FIELDS, "account")

    def __init__(self, values: tuple) -> None:
        for name, value in zip(ROUTING_LEAD_FIELDS, values, strict=True):
            setattr(self, name, value)
        self.account = None

    @property
    def pk(self) -> int:
        return self.id


@dataclass
class RouteManyResult:
    """What ``leads_route_many`` did."""

    considered: int = 0
    assigned: int = 0
    queued: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return (f"{self.considered} leads: {self.assigned} assigned, {self.queued} queued, {self.unchanged} "
                f"unchanged")


def _batch_pools(tried: list[_Tried], rule_set: RuleSet, now: datetime) -> _BatchPoolSource:
    """Lock, in one statement and id order, every rep the matched rules of a batch may use, with their loads."""
    rep_rules = {t.matched.rule.rep_id for t in tried
                 if t.matched and t.matched.rule.action == RuleAction.ASSIGN_REP}
    rep_teams = dict(Rep.objects.filter(pk__in=rep_rules).values_list("pk", "team_id")) if rep_rules else {}
    team_ids: set[int] = set()
    for t in tried:
        rule = t.matched.rule if t.matched else None
        if rule is None or rule.action == RuleAction.QUEUE:
            continue
        if rule.action == RuleAction.ASSIGN_REP:
            target = rule_set.teams.get(rep_teams.get(rule.rep_id))
            chain = rule_set.team_chain(target.overflow_team_id if target else None)
        else:
            chain = rule_set.team_chain(rule.team_id)
        team_ids.update(team.pk for team in chain)
    reps = _lock_reps(team_ids=sorted(team_ids), rep_ids=tuple(sorted(rep_rules)))
    return _BatchPoolSource(_Pools.load(reps, None, now), rep_teams, now)


def leads_route_many(*, lead_ids: list[int], cause: str = "new lead") -> RouteManyResult:
    """Route a batch of leads waiting for routing (a bulk import's) with the rules, strategies and explanations of
    ``lead_route``, set-based: 1,000 leads per transaction.

    Steps per chunk: lock the leads (ascending id) and keep those still waiting (no owner, routable queue, not
    merged); try the rules for each; lock every rep the matched rules may use in one statement (the same lock order
    as one decision: leads, then reps, then pointers); choose lead by lead in id order, each choice seeing the
    loads, caps and round-robin turns of the ones before it; then write the decisions (one insert), the leads (one
    statement) and their history rows, and save each pointer once. The follow-up tasks of the assignments are
    created by one job after commit. A lead already routed (a second delivery) is left alone.
    """
    result = RouteManyResult()
    ids = sorted(set(lead_ids))
    for start in range(0, len(ids), BATCH_CHUNK):
        chunk = ids[start:start + BATCH_CHUNK]
        with transaction.atomic():
            _route_chunk(chunk, cause, result)
    return result


def _route_chunk(chunk: list[int], cause: str, result: RouteManyResult) -> None:
    now = timezone.now()
    rows = Lead.objects.select_for_update().filter(pk__in=chunk).order_by("pk").values_list(*ROUTING_LEAD_FIELDS)
    leads = [lead for lead in map(_LeadRow, rows)
             if not lead.merged_into_id and not lead.owner_id and lead.queue in ROUTABLE_QUEUES]
    result.considered += len(leads)
    rule_set = routing_rule_set()
    tried = [_try_rules(lead, rule_set, now) for lead in leads]
    by_account = [t.lead for t in tried
                  if t.lead.account_id and t.matched and t.matched.rule.strategy == Strategy.ACCOUNT]
    accounts = Account.objects.in_bulk({lead.account_id for lead in by_account})  # the account strategy's owners
    for lead in by_account:
        lead.account = accounts[lead.account_id]
    source = _batch_pools(tried, rule_set, now)
    decisions: list[RoutingDecision] = []
    histories: list[tuple[int, str]] = []
    updates: list[tuple] = []
    adapt = connection.ops.adapt_datetimefield_value
    now_value = adapt(now)
    for attempt in tried:
        lead, rule = attempt.lead, attempt.matched.rule if attempt.matched else None
        owner_rep, queue, summary = _act(rule, rule_set, attempt, False, source)
        if owner_rep is None and queue == lead.queue and lead.queue_reason == summary:
            result.unchanged += 1
            continue
        if owner_rep is not None:
            source.assigned(owner_rep)
        attempt.explanation["before"] = _before(lead)
        decisions.append(instance_new(RoutingDecision, dict(
            lead_id=lead.pk, rule=rule, rep_id=owner_rep.pk if owner_rep else None,
            owner_id=owner_rep.user_id if owner_rep else None, previous_owner_id=None, previous_queue=lead.queue,
            queue=queue, strategy=rule.strategy if rule and rule.action == RuleAction.ASSIGN_TEAM else "",
            summary=summary[:500], explanation=attempt.explanation, cause=cause[:100],
        )))
        updates.append((owner_rep.user_id if owner_rep else None, queue, "" if owner_rep else summary[:500],
                        now_value if owner_rep else adapt(lead.assigned_at), now_value, lead.pk))
        histories.append((lead.pk, f"automation:routing ({cause}) {summary}"[:1000]))
    source.flush()
    if not decisions:
        return
    bulk_insert(decisions)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {quote(Lead._meta.db_table)} SET {quote('owner_id')} = %s, {quote('queue')} = %s, "
            f"{quote('queue_reason')} = %s, {quote('assigned_at')} = %s, {quote('updated_at')} = %s "
            f"WHERE {quote('id')} = %s", updates)
    by_reason: dict[str, list[int]] = {}
    for lead_id, reason in histories:  # a batch has a few distinct reasons (rule and rep): one statement each
        by_reason.setdefault(reason, []).append(lead_id)
    for reason, ids in by_reason.items():
        leads_history_record_all(ids, reason=reason, now=now)
    assigned = [d.pk for d in decisions if d.owner_id is not None]
    result.assigned += len(assigned)
    result.queued += len(decisions) - len(assigned)
    if assigned:
        from .jobs import tasks_create_batch_job

        enqueue_after_commit(tasks_create_batch_job, assigned)


def leads_route_many_failed(lead_ids: list[int], workflow: str, message: str) -> None:
    """The batch failed: each lead gets its own routing job (own retries, own way to the review queue)."""
    from .jobs import lead_route_job

    for lead_id in lead_ids:
        enqueue_after_commit(lead_route_job, lead_id, "new lead")


def leads_after_scoring_many_schedule(*, lead_ids: list[int], stage_moves: dict[int, tuple[str, str]]) -> dict:
    """After a batch was scored: route the leads waiting for routing as one batch; hand over, one by one, the
    leads an SDR owns that just became SQL (as ``lead_after_scoring_schedule`` does for one lead)."""
    # Filtered here, not in SQL: with a condition on owner_id, SQLite (no statistics) may walk the owner index's
    # NULL bucket, every unrouted lead, instead of looking the batch up by primary key.
    rows = Lead.objects.filter(pk__in=lead_ids).values_list("pk", "owner_id", "queue", "merged_into_id")
    waiting = [pk for pk, owner_id, queue, merged_into_id in rows
               if owner_id is None and merged_into_id is None and queue in ROUTABLE_QUEUES]
    if waiting:
        from .jobs import leads_route_batch_job

        enqueue_after_commit(leads_route_batch_job, waiting, "new lead")
    routed = set(waiting)
    became_sql = [lead_id for lead_id, (old, new) in stage_moves.items()
                  if new == Stage.SQL and old != Stage.SQL and lead_id not in routed]
    handoffs = []
    if became_sql:
        from .jobs import lead_stage_handoff_job

        sdr_user_ids = set(Rep.objects.filter(role=RepRole.SDR).values_list("user_id", flat=True))
        rows = Lead.objects.filter(pk__in=became_sql).values_list("pk", "owner_id", "merged_into_id")
        handoffs = [pk for pk, owner_id, merged_into_id in rows if owner_id in sdr_user_ids and merged_into_id is None]
        for lead_id in handoffs:
            enqueue_after_commit(lead_stage_handoff_job, lead_id)
    return {"route": len(waiting), "handoff": len(handoffs)}


def tasks_create_for_decisions(*, decision_ids: list[int]) -> list[Task]:
    """The follow-up tasks of a batch of assignments (``leads_route_many``), and one Slack digest per rep.

    The same task ``task_create_for_decision`` creates for one decision (same key, title, SLA and history reason),
    created in one insert for the batch; a decision undone since, or whose lead has moved on, gets none; a task
    that exists already is not created again. Each rep gets one message listing their new leads instead of one
    message per lead: an import of 300 leads is one notification, not 300.
    """
    with transaction.atomic():
        decisions = list(RoutingDecision.objects.filter(pk__in=decision_ids, undone_at__isnull=True,
                                                        owner__isnull=False).order_by("pk")
                         .values_list("pk", "lead_id", "owner_id", "rep_id"))
        leads = {row["id"]: row for row in Lead.objects.select_for_update().filter(pk__in=[d[1] for d in decisions])
                 .values("id", "owner_id", "band", "stage", "first_name", "last_name", "email", "phone", "company",
                         "score")}
        reps = Rep.objects.select_related("team").in_bulk({d[3] for d in decisions if d[3]})
        keys = {d[0]: f"follow_up:decision:{d[0]}" for d in decisions}
        existing = set(Task.objects.filter(dedup_key__in=keys.values()).values_list("dedup_key", flat=True))
        sla: dict[tuple[str, str], int] = {}
        now = timezone.now()
        tasks, task_reps = [], {}
        for decision_id, lead_id, owner_id, rep_id in decisions:
            lead = leads.get(lead_id)
            if lead is None or lead["owner_id"] != owner_id or keys[decision_id] in existing:
                continue
            band, stage = lead["band"], lead["stage"]
            if (band, stage) not in sla:
                sla[(band, stage)] = sla_minutes_for(band, stage)[0]
            minutes = sla[(band, stage)]
            name = " ".join(filter(None, [lead["first_name"], lead["last_name"]])) or lead["email"] or lead["phone"]
            task = instance_new(Task, dict(lead_id=lead_id, assignee_id=owner_id, decision_id=decision_id,
                                           kind=TaskKind.FOLLOW_UP, title=_follow_up_title(name, lead["company"]),
                                           due_at=now + timedelta(minutes=minutes), dedup_key=keys[decision_id]))
            task._change_reason = _follow_up_reason(minutes, band)
            tasks.append(task)
            task_reps[task.dedup_key] = reps.get(rep_id)
        if not tasks:
            return []
        created = bulk_insert(tasks)
        by_reason: dict[str, list[int]] = {}
        for task in created:
            by_reason.setdefault(task._change_reason, []).append(task.pk)
        for reason, task_ids in by_reason.items():
            history_copy_all(Task, task_ids, reason=reason, now=now, history_type="+")
        by_rep: dict[int, list[Task]] = {}
        for task in created:
            rep = task_reps[task.dedup_key]
            by_rep.setdefault(rep.pk if rep else 0, []).append(task)
        digests = [_tasks_digest(rep_tasks, task_reps[rep_tasks[0].dedup_key], leads) for rep_tasks in by_rep.values()]
        notifications_send_schedule([pk for pk in digests if pk is not None])
    return created


DIGEST_LINES = 10


def _tasks_digest(tasks: list[Task], rep: Rep | None, leads: dict[int, dict[str, Any]]) -> int | None:
    """One Slack message for a rep's new leads of a batch (a single task gets the usual per-lead message); returns
    the new outbox row's id for the batch's send job."""
    if len(tasks) == 1:
        return _task_notify(tasks[0], Lead.objects.get(pk=tasks[0].lead_id), rep, send=False)
    base = settings.LEADFLOW_BASE_URL
    lines = []
    for task in tasks[:DIGEST_LINES]:
        lead = leads[task.lead_id]
        name = " ".join(filter(None, [lead["first_name"], lead["last_name"]])) or lead["email"]
        who = name + (f" at {lead['company']}" if lead["company"] else "")
        score = lead["score"] if lead["score"] is not None else "-"
        due = timezone.localtime(task.due_at).strftime("%H:%M %Z")
        lines.append(f"• {who}: score {score} (band {lead['band'] or '-'}), follow up by {due}: "
                     f"{base}/workspace/leads/{task.lead_id}/")
    more = len(tasks) - DIGEST_LINES
    text = (f"{len(tasks)} new leads for you from an import:\n" + "\n".join(lines)
            + (f"\n…and {more} more in your queue: {base}/workspace/" if more > 0 else ""))
    recipient = (rep.slack_user_id if rep else "") or (rep.team.slack_channel if rep else "")
    notification, created = notification_queue(dedup_key=f"tasks:{tasks[0].pk}+{len(tasks) - 1}:assigned",
                                               recipient=recipient, text=text, object_type="task",
                                               object_id=tasks[0].pk, send=False)
    return notification.pk if created else None


def tasks_create_batch_failed(decision_ids: list[int], workflow: str, message: str) -> None:
    """The batch failed: each decision gets its own task job."""
    from .jobs import task_create_job

    for decision_id in decision_ids:
        enqueue_after_commit(task_create_job, decision_id)


def lead_route_failed(lead_id: int, workflow: str, message: str) -> None:
    """Routing crashed: the lead goes to the review queue with the error, never to a random rep."""
    from leads.services import lead_send_to_review

    lead_send_to_review(lead_id, workflow, message)


def lead_route_schedule(lead_id: int, cause: str) -> None:
    """Route the lead after the current transaction commits."""
    from .jobs import lead_route_job

    enqueue_after_commit(lead_route_job, lead_id, cause)


def lead_route_if_waiting(*, lead_id: int, cause: str) -> bool:
    """Schedule routing when the lead is waiting for it (no owner, not in review); True when scheduled."""
    waiting = (
        Lead.objects.live()
        .filter(pk=lead_id, owner__isnull=True, queue__in=list(ROUTABLE_QUEUES))
        .exists()
    )
    if waiting:
        lead_route_schedule(lead_id, cause)
    return waiting


def leads_unrouted_schedule(*, cause: str) -> int:
    """Schedule routing for every live lead waiting for it (after the routing switch comes back on)."""
    ids = list(
        Lead.objects.live()
        .filter(owner__isnull=True, queue__in=[Queue.NONE, Queue.HOLDING], score__isnull=False)
        .values_list("pk", flat=True)
    )
    with transaction.atomic():
        for pk in ids:
            lead_route_schedule(pk, cause)
    return len(ids)


def routing_catch_up_schedule(*, cause: str = "routing resumed") -> dict[str, int]:
    """Schedule what the routing jobs skipped while the kill switch was off (called when it comes back on).

    Unrouted leads are routed; inactive reps who still own open leads have them re-routed; SQL leads still owned by
    an SDR are handed over. Every job re-checks its own condition, so scheduling one twice is harmless.
    """
    from .jobs import lead_stage_handoff_job, rep_leads_reroute_job

    counts = {"leads": leads_unrouted_schedule(cause=cause), "reps": 0, "handoffs": 0}
    open_owners = _open_leads().filter(owner__isnull=False).values("owner_id")
    inactive = list(Rep.objects.filter(Q(is_active=False) | Q(user__is_active=False), user_id__in=open_owners)
                    .values_list("pk", flat=True))
    sdr_users = Rep.objects.filter(role=RepRole.SDR).values("user_id")
    handoffs = list(_open_leads().filter(stage=Stage.SQL, owner_id__in=sdr_users).values_list("pk", flat=True))
    with transaction.atomic():
        for rep_id in inactive:
            enqueue_after_commit(rep_leads_reroute_job, rep_id)
        for lead_id in handoffs:
            enqueue_after_commit(lead_stage_handoff_job, lead_id)
    counts.update(reps=len(inactive), handoffs=len(handoffs))
    return counts


def leads_waiting_for_routing(*, last: int | None = None) -> list[int]:
    """Ids of live leads waiting for routing (no owner, queue none or holding), oldest first; the last N only."""
    queryset = Lead.objects.live().filter(owner__isnull=True, queue__in=[Queue.NONE, Queue.HOLDING])
    if last:
        return sorted(queryset.order_by("-created_at", "-id").values_list("pk", flat=True)[:last])
    return list(queryset.order_by("created_at", "id").values_list("pk", flat=True))


# --- Stage handoff (SDR → AE) -------------------------------------------------------------------------------------


def _owner_is_sdr(lead: Lead) -> bool:
    return bool(lead.owner_id) and Rep.objects.filter(user_id=lead.owner_id, role=RepRole.SDR).exists()


def lead_after_scoring_schedule(*, lead_id: int, old_stage: str | None, new_stage: str | None) -> str:
    """After a score: route a lead that waits for routing; hand a lead an SDR owns that just became SQL to sales.

    Returns what was scheduled: ``route``, ``handoff`` or ``""``.
    """
    if lead_route_if_waiting(lead_id=lead_id, cause="scored"):
        return "route"
    if new_stage == Stage.SQL and old_stage != Stage.SQL:
        lead = Lead.objects.live().filter(pk=lead_id).only("owner_id").first()
        if lead is not None and _owner_is_sdr(lead):
            from .jobs import lead_stage_handoff_job

            enqueue_after_commit(lead_stage_handoff_job, lead_id)
            return "handoff"
    return ""


def lead_stage_handoff(*, lead_id: int) -> RouteOutcome:
    """Hand an SQL lead an SDR owns to the rules for SQLs (the AE rule), with the cause "stage handoff".

    Idempotent: does nothing unless the lead is still SQL and still owned by an SDR. The routing is forced (the lead
    has an owner) and keeps the SDR only when the SQL rule's own pool contains them; the SDR's open tasks are
    cancelled and the new owner gets a follow-up task. Nobody available → the review queue, as any routing.
    """
    with transaction.atomic():
        lead = Lead.objects.select_for_update(of=("self",)).get(pk=lead_id)
        if lead.merged_into_id or lead.stage != Stage.SQL or not _owner_is_sdr(lead):
            return RouteOutcome(None, "noop")
        return lead_route(lead_id=lead_id, cause=CAUSE_STAGE_HANDOFF, force=True, keep_current_owner=True)


# --- Re-routing: a deactivated rep, a territory change, an admin's "route again" ----------------------------------


@dataclass
class RerouteResult:
    """Leads looked at, and what became of them: moved (a decision written), unchanged, failed (→ review)."""

    considered: int = 0
    moved: int = 0
    unchanged: int = 0
    failed: int = 0
    decisions: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.considered} leads: {self.moved} re-routed, {self.unchanged} unchanged, {self.failed} failed"


def _reroute_each(lead_ids: list[int], *, cause: str, user=None, keep_current_owner: bool) -> RerouteResult:
    """Route each lead again in its own transaction; one lead's failure sends it to review, the others go on."""
    result = RerouteResult(considered=len(lead_ids))
    for lead_id in lead_ids:
        try:
            outcome = lead_route(lead_id=lead_id, cause=cause, force=True, keep_current_owner=keep_current_owner,
                                 user=user)
        except TRANSIENT_ERRORS:
            raise  # the job is retried; leads already re-routed are skipped next time (their state changed)
        except Exception as exc:  # noqa: BLE001 - one broken lead must not stop the others; it goes to review
            lead_route_failed(lead_id, "routing", f"{type(exc).__name__}: {exc}")
            result.failed += 1
            continue
        if outcome.decision is None:
            result.unchanged += 1
        else:
            result.moved += 1
            result.decisions.append(outcome.decision.pk)
    return result


def leads_reroute(*, lead_ids: list[int], user=None, reason: str) -> int:
    """Route the given leads again now, whatever their owner or queue (admin action "Route again")."""
    return _reroute_each(sorted(lead_ids), cause=reason, user=user, keep_current_owner=False).moved


def rep_open_lead_ids(*, rep: Rep) -> list[int]:
    """Ids of the live open leads a rep owns, oldest first."""
    return list(_open_leads().filter(owner_id=rep.user_id).order_by("pk").values_list("pk", flat=True))


def rep_leads_reroute_schedule(*, rep_id: int) -> bool:
    """When a rep is inactive and still owns open leads, schedule their re-routing after commit; True if so."""
    rep = Rep.objects.select_related("user").filter(pk=rep_id).first()
    if rep is None or (rep.is_active and rep.user.is_active):
        return False
    if not _open_leads().filter(owner_id=rep.user_id).exists():
        return False
    from .jobs import rep_leads_reroute_job

    enqueue_after_commit(rep_leads_reroute_job, rep_id)
    return True


def rep_leads_reroute(*, rep_id: int) -> RerouteResult:
    """Re-route every open lead of a deactivated rep by the rules (the rep is skipped as inactive).

    Idempotent: a rep active again keeps their leads; a second run finds no leads left to move.
    """
    rep = Rep.objects.select_related("user").get(pk=rep_id)
    if rep.is_active and rep.user.is_active:
        return RerouteResult()
    return _reroute_each(rep_open_lead_ids(rep=rep), cause=CAUSE_REP_DEACTIVATED, keep_current_owner=False)


def territory_lead_ids(*, territory: Territory) -> list[int]:
    """Open leads a territory change may affect: located in it now, or routed by a rule of it before.

    Leads waiting in review are left to the person reviewing them.
    """
    from .rules import CompiledTerritory

    compiled = CompiledTerritory.of(territory)
    candidates = (
        _open_leads()
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


def territory_leads_reroute(*, territory_id: int, user=None) -> RerouteResult:
    """Re-route the open leads a territory change may affect; an owner who still fits keeps the lead."""
    territory = Territory.objects.get(pk=territory_id)
    return _reroute_each(territory_lead_ids(territory=territory), cause=f"{CAUSE_TERRITORY}: {territory.name}",
                         user=user, keep_current_owner=True)


def territory_leads_reroute_schedule(*, territory_id: int) -> None:
    """Re-route a territory's leads in a worker, after commit (admin action)."""
    from .jobs import territory_leads_reroute_job

    enqueue_after_commit(territory_leads_reroute_job, territory_id)


# --- Manual reassignment and undo ---------------------------------------------------------------------------------


@dataclass
class ReassignResult:
    """What a bulk reassignment did: decisions written, leads skipped and why, capacity warnings."""

    decisions: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def reassigned(self) -> int:
        return len(self.decisions)


def _tasks_move_open(lead: Lead, *, to_user_id: int, reason: str, user=None) -> list[dict[str, int]]:
    """Give a lead's open tasks to its new owner; returns [{"task": id, "from": old assignee id}] for undo."""
    moved = []
    for task in Task.objects.select_for_update().filter(lead=lead, status=TaskStatus.OPEN).exclude(
        assignee_id=to_user_id
    ):
        moved.append({"task": task.pk, "from": task.assignee_id})
        task.assignee_id = to_user_id
        task._history_user = user
        task._change_reason = reason[:1000]
        task.save(update_fields=["assignee"])
    return moved


def leads_reassign(*, lead_ids: list[int], rep_id: int, reason: str, user) -> ReassignResult:
    """Give leads to one rep by hand, with a reason: one decision per lead, open tasks move with the lead.

    Steps: refuse an empty reason or an inactive rep; lock the leads (id order) then the rep; for each live lead
    not already the rep's, write a decision (cause "manual reassign", the user and reason in it), move its open
    tasks to the rep (or, when it had none, schedule a follow-up task), save the owner with history naming the
    user. A person may knowingly go over a rep's capacity: it is allowed and reported as a warning.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give a reason for the reassignment.")
    now = timezone.now()
    result = ReassignResult()
    with transaction.atomic():
        leads = list(Lead.objects.select_for_update(of=("self",)).filter(pk__in=lead_ids).order_by("pk"))
        rep = Rep.objects.select_for_update(of=("self",)).select_related("user", "team").get(pk=rep_id)
        if not rep.is_active or not rep.user.is_active:
            raise ValidationError(f"{rep} is inactive; choose an active rep.")
        who = _user_label(user) or "automation"
        for lead in leads:
            if lead.merged_into_id:
                result.skipped.append(f"{lead}: merged into #{lead.merged_into_id}")
                continue
            if lead.owner_id == rep.user_id:
                result.skipped.append(f"{lead}: already owned by {rep}")
                continue
            summary = f"reassigned to {rep} by {who}: {reason}"
            explanation: dict[str, Any] = {"at": now.isoformat(), "manual": {"user": who, "reason": reason},
                                           "before": _before(lead)}
            explanation["moved_tasks"] = _tasks_move_open(lead, to_user_id=rep.user_id, user=user,
                                                          reason=f"lead reassigned to {rep}: {reason}")
            decision = RoutingDecision.objects.create(
                lead=lead, rep=rep, owner_id=rep.user_id, previous_owner_id=lead.owner_id,
                previous_queue=lead.queue, queue=Queue.NONE, summary=summary[:500], explanation=explanation,
                cause=CAUSE_REASSIGN, user=user,
            )
            lead.owner_id, lead.queue, lead.queue_reason, lead.assigned_at = rep.user_id, Queue.NONE, "", now
            lead._history_user = user
            lead._change_reason = f"reassigned to {rep}: {reason}"[:1000]
            lead.save(update_fields=["owner", "queue", "queue_reason", "assigned_at", "updated_at"])
            _after_manual_move(decision, lead, recipient=rep.slack_user_id or rep.team.slack_channel)
            result.decisions.append(decision.pk)
        if result.decisions:
            open_now = rep_open_lead_counts([rep])[rep.pk]
            if open_now > rep.capacity:
                result.warnings.append(f"{rep} now has {open_now} open leads, over their capacity of {rep.capacity}")
    return result


@dataclass
class UndoResult:
    """Decisions undone and the ones left as they were, with why."""

    undone: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def routing_decisions_undo(*, decision_ids: list[int], user) -> UndoResult:
    """Undo routing changes in one action: previous owners and queues come back, the decisions are marked undone.

    Steps: lock the leads (id order); take the decisions newest first so a chain of changes on one lead unwinds in
    order; undo one only when it is the lead's latest standing decision and the lead still has the owner and
    queue it gave (otherwise say why and leave it); cancel the open tasks it created, reopen the tasks it
    cancelled, give back the tasks it moved; restore owner, queue and queue reason with history naming the user.
    A previous owner who is now inactive does not get leads back. Round-robin turns are not rewound.
    """
    now = timezone.now()
    result = UndoResult()
    who = _user_label(user) or "automation"
    with transaction.atomic():
        lead_ids = sorted(set(RoutingDecision.objects.filter(pk__in=decision_ids).values_list("lead_id", flat=True)))
        leads = {lead.pk: lead for lead in
                 Lead.objects.select_for_update(of=("self",)).filter(pk__in=lead_ids).order_by("pk")}
        decisions = list(
            RoutingDecision.objects.filter(pk__in=decision_ids).select_related("previous_owner__rep", "owner")
            .order_by("-created_at", "-id")
        )
        for decision in decisions:
            lead = leads[decision.lead_id]
            label = f"decision #{decision.pk} ({lead})"
            if decision.undone_at:
                result.skipped.append(f"{label}: already undone")
                continue
            latest = (RoutingDecision.objects.filter(lead_id=lead.pk, undone_at__isnull=True)
                      .order_by("-created_at", "-id").values_list("pk", flat=True).first())
            if latest != decision.pk:
                result.skipped.append(f"{label}: a later routing change of this lead must be undone first")
                continue
            if lead.owner_id != decision.owner_id or lead.queue != decision.queue:
                result.skipped.append(f"{label}: the lead's owner or queue changed since; undo by hand")
                continue
            previous = decision.previous_owner
            previous_rep = getattr(previous, "rep", None) if previous else None
            if previous is not None and (not previous.is_active or (previous_rep and not previous_rep.is_active)):
                result.skipped.append(f"{label}: the previous owner {previous} is inactive")
                continue
            reason = f"undo of routing decision #{decision.pk} by {who}"
            for task in Task.objects.select_for_update().filter(decision=decision, status=TaskStatus.OPEN):
                task.status, task.outcome_note = TaskStatus.CANCELLED, reason
                task._history_user, task._change_reason = user, reason
                task.save(update_fields=["status", "outcome_note"])
            reopen = decision.explanation.get("cancelled_tasks") or []
            for task in Task.objects.select_for_update().filter(pk__in=reopen, status=TaskStatus.CANCELLED):
                task.status, task.outcome_note = TaskStatus.OPEN, ""
                task._history_user, task._change_reason = user, reason
                task.save(update_fields=["status", "outcome_note"])
            for move in decision.explanation.get("moved_tasks") or []:
                task = Task.objects.select_for_update().filter(pk=move["task"], status=TaskStatus.OPEN,
                                                               assignee_id=decision.owner_id).first()
                if task is not None:
                    task.assignee_id = move["from"]
                    task._history_user, task._change_reason = user, reason
                    task.save(update_fields=["assignee"])
            before = decision.explanation.get("before") or {}
            lead.owner_id = decision.previous_owner_id
            lead.queue = decision.previous_queue
            lead.queue_reason = before.get("queue_reason", "") if not lead.owner_id else ""
            lead.assigned_at = datetime.fromisoformat(before["assigned_at"]) if before.get("assigned_at") else None
            lead._history_user = user
            lead._change_reason = f"{reason}: {decision.summary}"[:1000]
            lead.save(update_fields=["owner", "queue", "queue_reason", "assigned_at", "updated_at"])
            decision.undone_at, decision.undone_by = now, user
            decision.save(update_fields=["undone_at", "undone_by"])
            result.undone.append(decision.pk)
    return result


# --- Workload rebalancing -----------------------------------------------------------------------------------------


@dataclass
class RebalanceResult:
    """Moves made (lead, from, to, why) and the team's open-lead counts before and after."""

    team: str
    moves: list[dict[str, Any]] = field(default_factory=list)
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        counts = ", ".join(f"{name} {self.before[name]}→{self.after[name]}" for name in self.before)
        return f"{self.team}: moved {len(self.moves)} leads ({counts})"


def routing_rebalance(*, team_id: int, user=None, dry_run: bool = False) -> RebalanceResult:
    """Even out open leads in a team: leads move from reps over capacity or above the average to the least loaded.

    Steps:
    1. lock the open leads the team's active reps own (id order), then the team's reps (id order);
    2. receivers are reps who could take a lead now (active, in office; working hours and daily caps are about new
       leads and do not apply); donors are active reps over capacity or above the team's average (rounded up);
    3. repeatedly move one lead from the most loaded donor to the least loaded receiver while that narrows the
       gap (donor − receiver ≥ 2, or the donor is over capacity) and the receiver stays within capacity;
       a donor gives its most recently assigned leads first (the least worked); a lead routed by a rule with
       ``match_rep_territory`` only goes to a rep of that territory;
    4. each move writes a decision (cause "rebalance", with the counts and the reason) and moves the open tasks.
    """
    now = timezone.now()
    team = Team.objects.get(pk=team_id)
    result = RebalanceResult(team=team.name)
    with transaction.atomic():
        user_ids = list(Rep.objects.filter(team=team, is_active=True).values_list("user_id", flat=True))
        leads = list(
            _open_leads(Lead.objects.select_for_update(of=("self",))).filter(owner_id__in=user_ids).order_by("pk")
        )
        reps = [r for r in _lock_reps(team_ids=[team.pk]) if r.is_active and r.user.is_active]
        if not reps:
            return result
        counts = {r.pk: 0 for r in reps}
        by_user = {r.user_id: r for r in reps}
        owned: dict[int, list[Lead]] = {r.pk: [] for r in reps}
        for lead in leads:
            if lead.owner_id in by_user:
                rep = by_user[lead.owner_id]
                counts[rep.pk] += 1
                owned[rep.pk].append(lead)
        for rep_leads in owned.values():
            rep_leads.sort(key=lambda item: (item.assigned_at or item.created_at, item.pk))  # newest last
        result.before = {str(r): counts[r.pk] for r in reps}
        total = sum(counts.values())
        ceiling = -(-total // len(reps))
        receivers = [r for r in reps if _can_receive_moved_leads(r, now)]
        territory_rules = _territory_rules_of(leads)
        rep_territories = _rep_territories(reps)
        moves_left = len(leads)
        while moves_left > 0:
            moves_left -= 1
            donors = [r for r in reps if counts[r.pk] > r.capacity or counts[r.pk] > ceiling]
            donors.sort(key=lambda r: (-(counts[r.pk] - min(r.capacity, ceiling)), r.pk))
            move = None
            for donor in donors:
                over_capacity = counts[donor.pk] > donor.capacity
                targets = sorted((r for r in receivers if r.pk != donor.pk and counts[r.pk] < r.capacity
                                  and (counts[donor.pk] - counts[r.pk] >= 2 or over_capacity)),
                                 key=lambda r: (counts[r.pk], r.pk))
                for target in targets:
                    lead = next((item for item in reversed(owned[donor.pk])
                                 if territory_rules.get(item.pk) is None
                                 or territory_rules[item.pk] in rep_territories.get(target.pk, ())), None)
                    if lead is not None:
                        move = (donor, target, lead, over_capacity)
                        break
                if move:
                    break
            if move is None:
                break
            donor, target, lead, over_capacity = move
            why = (f"{donor} over capacity ({counts[donor.pk]}/{donor.capacity})" if over_capacity
                   else f"{donor} above the team average ({counts[donor.pk]} open, average {total / len(reps):.1f})")
            result.moves.append({"lead": lead.pk, "from": str(donor), "to": str(target), "reason": why,
                                 "from_open": counts[donor.pk], "to_open": counts[target.pk]})
            owned[donor.pk].remove(lead)
            owned[target.pk].append(lead)
            counts[donor.pk] -= 1
            counts[target.pk] += 1
            if not dry_run:
                _rebalance_move(lead, donor, target, why, counts, user, now, team.slack_channel)
        result.after = {str(r): counts[r.pk] for r in reps}
        if dry_run:
            transaction.set_rollback(True)
    return result


def _can_receive_moved_leads(rep: PoolRep, now: datetime) -> bool:
    """Active and in office (capacity is checked by the caller; hours and daily caps are about new leads)."""
    reason = rep_unavailable_reason(rep, now, 0, 0, 0)
    return reason is None or reason.startswith("outside working hours")


def _territory_rules_of(leads: list[Lead]) -> dict[int, int]:
    """Lead id → territory id, for leads whose latest decision came from a rule with ``match_rep_territory``."""
    rows = (RoutingDecision.objects.filter(lead_id__in=[lead.pk for lead in leads], undone_at__isnull=True)
            .order_by("lead_id", "created_at", "id").values_list("lead_id", "rule__match_rep_territory",
                                                                  "rule__territory_id"))
    latest: dict[int, int | None] = {}
    for lead_id, match, territory_id in rows:
        latest[lead_id] = territory_id if match and territory_id else None
    return {lead_id: territory for lead_id, territory in latest.items() if territory}


def _rep_territories(reps: list[PoolRep]) -> dict[int, set[int]]:
    result: dict[int, set[int]] = {r.pk: set() for r in reps}
    for rep_id, territory_id in Rep.territories.through.objects.filter(rep_id__in=list(result)).values_list(
        "rep_id", "territory_id"
    ):
        result[rep_id].add(territory_id)
    return result


def _rebalance_move(lead: Lead, donor: PoolRep, target: PoolRep, why: str, counts: dict[int, int], user,
                    now: datetime, team_channel: str) -> RoutingDecision:
    summary = f"rebalanced from {donor} to {target}: {why}"
    explanation = {"at": now.isoformat(), "rebalance": {"reason": why, "from": donor.pk, "to": target.pk,
                                                        "from_open_after": counts[donor.pk],
                                                        "to_open_after": counts[target.pk]},
                   "before": _before(lead)}
    explanation["moved_tasks"] = _tasks_move_open(lead, to_user_id=target.user_id, user=user,
                                                  reason=f"automation:routing rebalance: {summary}")
    decision = RoutingDecision.objects.create(
        lead=lead, rep_id=target.pk, owner_id=target.user_id, previous_owner_id=lead.owner_id,
        previous_queue=lead.queue, queue=Queue.NONE, summary=summary[:500], explanation=explanation,
        cause=CAUSE_REBALANCE, user=user,
    )
    lead.owner_id, lead.queue, lead.queue_reason, lead.assigned_at = target.user_id, Queue.NONE, "", now
    lead._history_user = user
    lead._change_reason = f"automation:routing rebalance {summary}"[:1000]
    lead.save(update_fields=["owner", "queue", "queue_reason", "assigned_at", "updated_at"])
    _after_manual_move(decision, lead, recipient=target.slack_user_id or team_channel)
    return decision


def _after_manual_move(decision: RoutingDecision, lead: Lead, *, recipient: str) -> None:
    """The new owner hears of a lead moved to them: its moved open tasks, or a new follow-up task."""
    moved = [m["task"] for m in decision.explanation.get("moved_tasks") or []]
    if not moved:
        from .jobs import task_create_job

        enqueue_after_commit(task_create_job, decision.pk)
        return
    for task in Task.objects.filter(pk__in=moved):
        due = timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M %Z")
        notification_queue(
            dedup_key=f"task:{task.pk}:moved:{decision.pk}",
            recipient=recipient,
            text=f"{lead} is yours now ({decision.summary}). Open task: {task.title}, due {due}: "
                 f"{settings.LEADFLOW_BASE_URL}/workspace/leads/{lead.pk}/",
            object_type="task", object_id=task.pk,
        )


# --- Governance: preview a rule set, activate drafts --------------------------------------------------------------


@dataclass
class PreviewRow:
    """One lead of a preview: where it is now, where the rules would put it, and by which rule."""

    lead_id: int
    lead: str
    current: str
    proposed: str
    rule: str
    summary: str

    @property
    def changed(self) -> bool:
        return self.current != self.proposed


@dataclass
class RoutingPreview:
    """What routing the last N leads under a rule set would do, compared with where they are now."""

    include_drafts: bool
    drafts: list[str] = field(default_factory=list)
    rows: list[PreviewRow] = field(default_factory=list)

    @property
    def changed(self) -> list[PreviewRow]:
        return [row for row in self.rows if row.changed]

    def transitions(self) -> list[tuple[str, str, int]]:
        """(from, to, leads) for every change, most frequent first."""
        counter = Counter((row.current, row.proposed) for row in self.changed)
        return sorted(((a, b, n) for (a, b), n in counter.items()), key=lambda t: (-t[2], t[0], t[1]))

    def as_text(self) -> str:
        """The report printed by ``route_leads --dry-run``."""
        rule_set = "live rules" + (f" + drafts ({', '.join(self.drafts)})" if self.drafts else "")
        lines = [f"Preview of routing the last {len(self.rows)} leads under the {rule_set}; nothing was written.",
                 f"{len(self.changed)} of {len(self.rows)} leads would be assigned differently."]
        if self.changed:
            width_a = max(len("from"), *(len(a) for a, _, _ in self.transitions()))
            width_b = max(len("to"), *(len(b) for _, b, _ in self.transitions()))
            lines += ["", f"{'from':<{width_a}}  {'to':<{width_b}}  leads",
                      f"{'-' * width_a}  {'-' * width_b}  -----"]
            lines += [f"{a:<{width_a}}  {b:<{width_b}}  {n:>5}" for a, b, n in self.transitions()]
        return "\n".join(lines)


def _place(owner_label: str, queue: str) -> str:
    if owner_label:
        return owner_label
    return f"({queue} queue)" if queue else "(unrouted)"


def routing_preview(*, last: int = 200, include_drafts: bool = False) -> RoutingPreview:
    """Route the last N open leads again under the live rules (or with the drafts) and report the differences.

    The leads are routed oldest first, exactly as ``lead_route`` would (strategies, round-robin turns,
    capacity and caps advance from one lead to the next), inside one transaction that is rolled back: nothing is
    written, no task or message is created. An owner who would still be eligible in the chosen pool keeps the
    lead, so only changes the rules cause are reported, not round-robin turns. The preview holds the routing
    locks of the pools it touches for its duration (a few milliseconds per lead).
    """
    last = max(1, min(int(last), PREVIEW_MAX_LEADS))
    ids = sorted(_open_leads().order_by("-created_at", "-id").values_list("pk", flat=True)[:last])
    preview = RoutingPreview(include_drafts=include_drafts)
    owners = dict(Lead.objects.filter(pk__in=ids).values_list("pk", "owner__username"))
    with transaction.atomic():
        for lead_id in ids:
            lead = Lead.objects.only("id", "first_name", "last_name", "email", "phone", "queue", "owner_id").get(
                pk=lead_id)
            current = _place(owners.get(lead_id) or "", lead.queue)
            try:
                outcome = lead_route(lead_id=lead_id, cause="preview", force=True, include_drafts=include_drafts,
                                     keep_current_owner=True)
            except Exception as exc:  # noqa: BLE001 - a preview reports a lead it cannot route
                preview.rows.append(PreviewRow(lead_id, str(lead), current, "(error)", "", str(exc)[:200]))
                continue
            decision = outcome.decision
            if decision is None:
                preview.rows.append(PreviewRow(lead_id, str(lead), current, current, "", "unchanged"))
                continue
            proposed = _place(decision.rep.user.get_username() if decision.rep else "", decision.queue)
            preview.rows.append(PreviewRow(lead_id, str(lead), current, proposed,
                                           decision.rule.name if decision.rule else "", decision.summary))
        preview.drafts = list(routing_rule_set(include_drafts=include_drafts).drafts)
        transaction.set_rollback(True)
    return preview


def routing_rules_activate(*, rule_ids: list[int], user=None) -> list[str]:
    """Make draft rules live: each becomes active and the live rule it replaces is deactivated (with history)."""
    activated = []
    with transaction.atomic():
        for draft in RoutingRule.objects.select_for_update().filter(pk__in=rule_ids, draft=True).order_by("pk"):
            if draft.replaces_id:
                old = RoutingRule.objects.select_for_update().get(pk=draft.replaces_id)
                if old.active:
                    old.active = False
                    old._history_user = user
                    old._change_reason = f"replaced by draft '{draft.name}'"
                    old.full_clean()
                    old.save()
            draft.draft, draft.active, draft.replaces = False, True, None
            draft._history_user = user
            draft._change_reason = "draft activated"
            draft.full_clean()
            draft.save()
            activated.append(draft.name)
    return activated


# --- Tasks --------------------------------------------------------------------------------------------------------


def sla_minutes_for(band: str, stage: str) -> tuple[int, int]:
    """The follow-up SLA and escalation delay: the most specific SlaPolicy, else the built-in defaults."""
    policies = list(SlaPolicy.objects.filter(Q(band=band) | Q(band=""), Q(stage=stage) | Q(stage="")))
    if policies:
        best = max(policies, key=lambda p: (bool(p.band), bool(p.stage)))
        return best.minutes, best.escalate_after_minutes
    return DEFAULT_SLA_MINUTES.get(band, 1440), 60


def _follow_up_title(name: str, company: str) -> str:
    return f"Follow up {name}" + (f" ({company})" if company else "")


def _follow_up_reason(minutes: int, band: str) -> str:
    return f"automation:tasks follow-up due in {minutes} min (band {band or '-'})"


def task_create_for_decision(*, decision_id: int) -> Task | None:
    """Create the follow-up task of an assignment (once per decision) and queue the rep's Slack message.

    Nothing is created when the decision was undone or the lead has since moved to someone else.
    """
    with transaction.atomic():
        decision = RoutingDecision.objects.select_related("lead", "rep__team", "owner").get(pk=decision_id)
        lead = Lead.objects.select_for_update().get(pk=decision.lead_id)
        if decision.undone_at or decision.owner_id is None or lead.owner_id != decision.owner_id:
            return None
        minutes, _ = sla_minutes_for(lead.band, lead.stage)
        name = lead.full_name or lead.email or lead.phone
        task, created = Task.objects.get_or_create(
            dedup_key=f"follow_up:decision:{decision.pk}",
            defaults={
                "lead": lead, "assignee": decision.owner, "decision": decision, "kind": TaskKind.FOLLOW_UP,
                "title": _follow_up_title(name, lead.company),
                "due_at": timezone.now() + timedelta(minutes=minutes),
            },
        )
        if created:
            task._change_reason = _follow_up_reason(minutes, lead.band)
            task.save(update_fields=[])
            _task_notify(task, lead, decision.rep)
    return task


def _task_notify(task: Task, lead: Lead, rep: Rep | None, *, send: bool = True) -> int | None:
    reasons = ", ".join(f"{r['label']} ({r['points']:+d})" for r in lead.score_reasons[:3] if r.get("points"))
    name = lead.full_name or lead.email
    due = timezone.localtime(task.due_at).strftime("%H:%M %Z")
    link = f"{settings.LEADFLOW_BASE_URL}/workspace/leads/{lead.pk}/"
    who = name + (f", {lead.title}" if lead.title else "") + (f" at {lead.company}" if lead.company else "")
    score = lead.score if lead.score is not None else "-"
    text = (
        f"New lead for you: {who}. Score {score} (band {lead.band or '-'}, {lead.get_stage_display()})."
        + (f" Why: {reasons}." if reasons else "")
        + f" Follow up by {due}: {link}"
    )
    recipient = (rep.slack_user_id if rep else "") or (rep.team.slack_channel if rep else "")
    notification, created = notification_queue(dedup_key=f"task:{task.pk}:assigned", recipient=recipient, text=text,
                                               object_type="task", object_id=task.pk, send=send)
    return notification.pk if created else None


def task_complete(*, task_id: int, user, note: str = "") -> Task:
    """Mark a task done (by its assignee or a manager)."""
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task_id)
        if task.status != TaskStatus.OPEN:
            return task
        task.status = TaskStatus.DONE
        task.completed_at = timezone.now()
        task.outcome_note = note[:500]
        task._history_user = user
        task._change_reason = "completed" + (f": {note}" if note else "")
        task.full_clean()
        task.save()
    return task


def tasks_escalate_overdue(*, now: datetime | None = None) -> int:
    """Alert the team manager (or channel) once for every open task overdue past its escalation delay."""
    now = now or timezone.now()
    escalated = 0
    overdue = Task.objects.filter(status=TaskStatus.OPEN, escalated_at__isnull=True, due_at__lt=now).select_related(
        "lead", "assignee__rep__team__manager__rep"
    )
    for task in overdue[:1000]:
        _, escalate_after = sla_minutes_for(task.lead.band, task.lead.stage)
        if task.due_at + timedelta(minutes=escalate_after) > now:
            continue
        with transaction.atomic():
            claimed = Task.objects.filter(pk=task.pk, escalated_at__isnull=True).update(escalated_at=now)
            if not claimed:
                continue
            rep = getattr(task.assignee, "rep", None)
            team = rep.team if rep else None
            manager_rep = getattr(team.manager, "rep", None) if team and team.manager else None
            recipient = (manager_rep.slack_user_id if manager_rep else "") or (team.slack_channel if team else "")
            overdue_minutes = int((now - task.due_at).total_seconds() // 60)
            notification_queue(
                dedup_key=f"task:{task.pk}:escalated",
                recipient=recipient,
                text=f"Overdue by {overdue_minutes} min: '{task.title}' for "
                f"{task.assignee.get_full_name() or task.assignee} "
                f"(lead score {task.lead.score}, band {task.lead.band or '-'}). "
                f"{settings.LEADFLOW_BASE_URL}/workspace/leads/{task.lead_id}/",
                object_type="task",
                object_id=task.pk,
            )
            escalated += 1
    return escalated


def lead_tasks_follow_merge(*, survivor_id: int, merged_id: int) -> int:
    """A lead was merged: its tasks move to the survivor, remembering where they came from (for undo)."""
    with transaction.atomic():
        tasks = list(Task.objects.select_for_update().filter(lead_id=merged_id))
        for task in tasks:
            task.lead_id = survivor_id
            task.merged_from_id = merged_id
            task._change_reason = f"automation:dedup lead #{merged_id} merged into #{survivor_id}"
            task.save(update_fields=["lead", "merged_from"])
    return len(tasks)


def lead_tasks_follow_unmerge(*, survivor_id: int, merged_id: int) -> int:
    """A merge was undone: the tasks that came with the merged lead go back to it."""
    with transaction.atomic():
        tasks = list(Task.objects.select_for_update().filter(lead_id=survivor_id, merged_from_id=merged_id))
        for task in tasks:
            task.lead_id = merged_id
            task.merged_from_id = None
            task._change_reason = f"automation:dedup merge undone, back to lead #{merged_id}"
            task.save(update_fields=["lead", "merged_from"])
    return len(tasks)


# What the owner is asked to do when scoring fires a trigger on one of their leads: (task kind, due in, text).
TRIGGER_TASKS = {
    "hot": (TaskKind.HOT_LEAD, timedelta(minutes=15), "Hot lead: {points} in a short time. Call now"),
    "high_intent": (TaskKind.HOT_LEAD, timedelta(minutes=15), "High intent (repeated pricing visits). Call now"),
    "cold": (TaskKind.RE_ENGAGE, timedelta(days=3), "Gone cold: re-engage"),
}


def lead_trigger_task(*, lead_id: int, kind: str, trigger_id: int, detail: dict | None = None) -> Task | None:
    """A hot / high-intent / cold trigger on an owned lead: one task for the owner (per trigger) and a message.

    Nothing for a lead with no owner (routing places it), or one that may not be contacted (opted out,
    suppressed): outreach checks consent.
    """
    from leads.selectors import lead_contactable

    if kind not in TRIGGER_TASKS:
        return None
    task_kind, due_in, text = TRIGGER_TASKS[kind]
    with transaction.atomic():
        lead = Lead.objects.select_for_update().filter(pk=lead_id).first()
        if lead is None or lead.owner_id is None or not lead_contactable(lead):
            return None
        title = text.format(points=(detail or {}).get("points", "many points")) + f": {lead.full_name or lead.email}"
        task, created = Task.objects.get_or_create(
            dedup_key=f"trigger:{trigger_id}",
            defaults={"lead": lead, "assignee_id": lead.owner_id, "kind": task_kind, "title": title[:255],
                      "due_at": timezone.now() + due_in},
        )
        if created:
            task._change_reason = f"automation:tasks {kind} trigger #{trigger_id}"
            task.save(update_fields=[])
            rep = Rep.objects.select_related("team").filter(user_id=lead.owner_id).first()
            recipient = (rep.slack_user_id or rep.team.slack_channel) if rep else ""
            notification_queue(
                dedup_key=f"task:{task.pk}:assigned", recipient=recipient,
                text=f"{title}. Score {lead.score}. {settings.LEADFLOW_BASE_URL}/workspace/leads/{lead.pk}/",
                object_type="task", object_id=task.pk,
            )
    return task
