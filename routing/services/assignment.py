"""Assignment: route one lead (``lead_route``) or a batch of leads (``leads_route_many``) by the ordered rules, and
explain every decision.

``lead_route`` explains every decision: the rules tried and why each did or did not match, the candidates of the
chosen pool and why each was skipped, and the strategy's state. When data a rule needs is missing the lead waits
in the holding queue and is routed again when the data arrives; when no rule matches, or a pool has nobody
available and no overflow, it goes to the review queue: never to a random rep, never to nobody. The pools, their
lock order and the strategies' choice are in pools.py.

An assignment announces itself after commit (``follow_up_needed`` / ``follow_ups_needed``); the receiver schedules
the follow-up task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from leads.choices import Queue
from leads.models import Account, Lead
from leads.selectors import lead_locked
from leads.services import lead_send_to_review
from leads.writes import lead_save_with_history, leads_assignments_write, leads_history_record_all
from revops.base.db.instances import instance_new
from revops.base.db.sql import bulk_insert

from ..choices import RuleAction, Strategy
from ..languages import lead_language
from ..models import Rep, RoutingDecision, RoutingRule
from ..rules import CompiledRule, RuleSet, routing_rule_set
from ..selectors import ROUTABLE_QUEUES
from ..signals import follow_up_needed, follow_ups_needed, lead_routed, leads_routed_many
from .pools import BatchPoolSource, Choice, Pools, PoolSource, choose_from_chain
from .tasks import tasks_cancel_open, tasks_cancel_open_many

# A decision lists this many rules tried in full; further rules that did not match are counted by the condition
# that failed (and their ids kept), so a decision under hundreds of rules stays a few kilobytes.
EXPLAIN_RULES_IN_FULL = 30


@dataclass
class RouteOutcome:
    """What ``lead_route`` did: ``assigned``, ``queued``, ``noop`` (nothing to do or nothing changed), ``dry_run``."""

    decision: RoutingDecision | None
    action: str


def lead_routing_state(lead: Lead) -> dict[str, Any]:
    """The routing state of a lead before a decision, kept in the decision (as ``before``) for undo."""
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
       (with history) and, after commit, announce that the new owner needs a follow-up task.
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
        owner_rep, queue, summary = _act(matched_rule, rule_set, tried, keep_current_owner, PoolSource(lead, now))
        owner_id = owner_rep.user_id if owner_rep else None
        if keep_current_owner and owner_id == lead.owner_id and queue == lead.queue:
            return RouteOutcome(None, "noop")
        if not force and owner_rep is None and queue == lead.queue and lead.queue_reason == summary:
            return RouteOutcome(None, "noop")
        explanation["before"] = lead_routing_state(lead)
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
            explanation["cancelled_tasks"] = tasks_cancel_open(
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
        lead_routed.send(sender=RoutingDecision, decision_id=decision.pk)
        if owner_rep is not None:
            decision_id = decision.pk
            follow_up_needed.send(sender=RoutingDecision, decision_id=decision_id)
    return RouteOutcome(decision, "assigned" if owner_rep else "queued")


def lead_route_failed(lead_id: int, workflow: str, message: str) -> None:
    """Routing crashed: the lead goes to the review queue with the error, never to a random rep."""
    lead_send_to_review(lead_id, workflow, message)


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
         source: PoolSource) -> tuple[Rep | None, str, str]:
    """Carry out the matched rule's action: returns (rep or None, queue, summary)."""
    lead, language, now, missing_data = tried.lead, tried.language, tried.now, tried.missing_data
    explanation = tried.explanation
    if rule is None:
        if missing_data:
            return None, Queue.HOLDING, f"holding: waiting for {', '.join(missing_data)}"
        return None, Queue.REVIEW, "review: no routing rule matched"
    if rule.action == RuleAction.QUEUE:
        return None, rule.queue, f"{rule.queue} queue by rule '{rule.name}'"
    choice = Choice(lead, language, now, keep_current_owner, explanation, source)
    if rule.action == RuleAction.ASSIGN_REP:
        target_team = rule_set.teams.get(source.rep_team(rule.rep_id))
        overflow = rule_set.team_chain(target_team.overflow_team_id if target_team else None)
        pools = source.pools(team_ids=[t.pk for t in overflow], rep_ids=(rule.rep_id,))
        rep = next(r for r in pools.reps if r.pk == rule.rep_id)
        reason = pools.unavailable(rep, now)
        explanation["candidates"] = [pools.candidate(rep, None, reason)]
        if reason is None:
            return rep, Queue.NONE, f"assigned to {rep} by rule '{rule.name}'"
        owner_rep = choose_from_chain(rule, overflow, pools, choice) if overflow else None
        if owner_rep is None:
            return None, Queue.REVIEW, f"review: {rep} unavailable ({reason}) and no overflow by rule '{rule.name}'"
        return owner_rep, Queue.NONE, f"assigned to {owner_rep} by rule '{rule.name}' ({rep} {reason}: overflow)"
    chain = rule_set.team_chain(rule.team_id)
    pools = source.pools(team_ids=[t.pk for t in chain])
    owner_rep = choose_from_chain(rule, chain, pools, choice)
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


def _batch_pools(tried: list[_Tried], rule_set: RuleSet, now: datetime) -> BatchPoolSource:
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
    reps = Rep.objects.pool_locked(team_ids=sorted(team_ids), rep_ids=tuple(sorted(rep_rules)))
    return BatchPoolSource(Pools.load(reps, None, now), rep_teams, now)


def leads_route_many(*, lead_ids: list[int], cause: str = "new lead", announce_each: bool = False) -> RouteManyResult:
    """Route a batch of leads waiting for routing (a bulk import's) with the rules, strategies and explanations of
    ``lead_route``, set-based: 1,000 leads per transaction.

    Steps per chunk: lock the leads (ascending id) and keep those still waiting (no owner, routable queue, not
    merged); try the rules for each; lock every rep the matched rules may use in one statement (the same lock order
    as one decision: leads, then reps, then pointers); choose lead by lead in id order, each choice seeing the
    loads, caps and round-robin turns of the ones before it; then write the decisions (one insert), the leads (one
    statement) and their history rows, and save each pointer once. After each chunk commits, its assignments are
    announced together (``follow_ups_needed``): their follow-up tasks are created by one job. A lead already routed
    (a second delivery) is left alone. ``announce_each``: each assignment is announced on its own
    (``follow_up_needed``), as ``lead_route`` does: a drained micro-batch's leads each get their own task message.
    """
    result = RouteManyResult()
    ids = sorted(set(lead_ids))
    for start in range(0, len(ids), BATCH_CHUNK):
        chunk = ids[start:start + BATCH_CHUNK]
        with transaction.atomic():
            _route_chunk(chunk, cause, result, announce_each)
    return result


def leads_reroute_chunk(chunk: list[int], cause: str, result: RouteManyResult, *, keep: Callable[[_LeadRow], bool],
                        announce_each: bool = True) -> None:
    """:func:`leads_route_many`'s chunk for leads that have an owner (``lead_route(force=True,
    keep_current_owner=True)`` set-based: the stage hand-off's drain): the leads ``keep`` accepts (after their
    lock) are routed again; an owner still eligible in the chosen pool keeps the lead (no decision); a lead that
    moves has its previous owner's open tasks cancelled. The caller holds the transaction."""
    _route_chunk(chunk, cause, result, announce_each, keep=keep)


def _route_chunk(chunk: list[int], cause: str, result: RouteManyResult, announce_each: bool = False,
                 keep: Callable[[_LeadRow], bool] | None = None) -> None:
    """Route a chunk of leads in the caller's transaction. Without ``keep``: the leads waiting for routing. With it
    (a forced re-route keeping current owners): the leads it accepts; each lead's current owner's count leaves it
    while it is chosen for, as ``Pools.load`` leaves it out for one lead."""
    now = timezone.now()
    rows = Lead.objects.select_for_update().filter(pk__in=chunk).order_by("pk").values_list(*ROUTING_LEAD_FIELDS)
    if keep is None:
        leads = [lead for lead in map(_LeadRow, rows)
                 if not lead.merged_into_id and not lead.owner_id and lead.queue in ROUTABLE_QUEUES]
    else:
        leads = [lead for lead in map(_LeadRow, rows) if not lead.merged_into_id and keep(lead)]
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
    moved: list[tuple[int, int, str, dict]] = []  # (lead, previous owner, cancel reason, explanation)
    for attempt in tried:
        lead, rule = attempt.lead, attempt.matched.rule if attempt.matched else None
        lowered = source.owner_left(lead) if keep is not None else None
        owner_rep, queue, summary = _act(rule, rule_set, attempt, keep is not None, source)
        owner_id = owner_rep.user_id if owner_rep else None
        if keep is not None and owner_id == lead.owner_id and queue == lead.queue:
            source.owner_kept(lowered)
            result.unchanged += 1
            continue
        if keep is None and owner_rep is None and queue == lead.queue and lead.queue_reason == summary:
            result.unchanged += 1
            continue
        if owner_rep is not None:
            source.assigned(owner_rep)
        attempt.explanation["before"] = lead_routing_state(lead)
        if lead.owner_id and lead.owner_id != owner_id:
            moved.append((lead.pk, lead.owner_id, f"lead moved ({cause}): {summary}", attempt.explanation))
        decisions.append(instance_new(RoutingDecision, dict(
            lead_id=lead.pk, rule=rule, rep_id=owner_rep.pk if owner_rep else None,
            owner_id=owner_id, previous_owner_id=lead.owner_id, previous_queue=lead.queue,
            queue=queue, strategy=rule.strategy if rule and rule.action == RuleAction.ASSIGN_TEAM else "",
            summary=summary[:500], explanation=attempt.explanation, cause=cause[:100],
        )))
        updates.append((owner_rep.user_id if owner_rep else None, queue, "" if owner_rep else summary[:500],
                        now_value if owner_rep else adapt(lead.assigned_at), now_value, lead.pk))
        histories.append((lead.pk, f"automation:routing ({cause}) {summary}"[:1000]))
    source.flush()
    if not decisions:
        return
    if moved:  # after the leads, reps and pointers: the lock order of one decision
        cancelled = tasks_cancel_open_many([(lead_id, owner_id, reason) for lead_id, owner_id, reason, _ in moved])
        for lead_id, _, _, explanation in moved:
            explanation["cancelled_tasks"] = cancelled.get(lead_id, [])
    bulk_insert(decisions)
    leads_assignments_write(updates)
    by_reason: dict[str, list[int]] = {}
    for lead_id, reason in histories:  # a batch has a few distinct reasons (rule and rep): one statement each
        by_reason.setdefault(reason, []).append(lead_id)
    for reason, ids in by_reason.items():
        leads_history_record_all(ids, reason=reason, now=now)
    leads_routed_many.send(sender=RoutingDecision, decision_ids=[d.pk for d in decisions])
    assigned = [d.pk for d in decisions if d.owner_id is not None]
    result.assigned += len(assigned)
    result.queued += len(decisions) - len(assigned)
    if assigned and announce_each:
        for decision_id in assigned:
            follow_up_needed.send(sender=RoutingDecision, decision_id=decision_id)
    elif assigned:
        follow_ups_needed.send(sender=RoutingDecision, decision_ids=assigned)
