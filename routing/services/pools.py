"""Pools: who of a team may take a lead now, the pool lock, the loads read after it, and the strategy's choice.

Locks are always taken in one order, so two workers (or a worker and an admin action) can never deadlock:
the lead rows (ascending id) → the reps of every pool the decision may use, overflow teams included (ascending id,
one statement: ``Rep.objects.pool_locked``) → the round-robin pointer (``RoutingPointer.objects.locked``) → the
lead's tasks. Capacity, caps and the round-robin turn are read only after the rep rows are locked, so two decisions
for the same pool run one after the other.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leads.choices import CLOSED_STAGES, Outcome
from leads.models import Lead

from .. import strategies
from ..choices import Strategy
from ..models import Rep, RoutingPointer, RoutingRule, Team, split_csv
from ..selectors import rep_assignment_counts, rep_open_lead_counts, rep_performance_weights
from ..writes import routing_pointer_save

# --- Availability -------------------------------------------------------------------------------------------------


def rep_unavailable_reason(rep: Rep, now: datetime, open_leads: int, today: int, week: int) -> str | None:
    """Why a rep cannot take a lead now, or None when they can."""
    return rep_absent_reason(rep, now) or rep_full_reason(rep, open_leads, today, week)


def rep_absent_reason(rep: Rep, now: datetime) -> str | None:
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


def rep_full_reason(rep: Rep, open_leads: int, today: int, week: int) -> str | None:
    """The load-bound half of availability: capacity, daily and weekly caps."""
    if open_leads >= rep.capacity:
        return f"at capacity ({open_leads}/{rep.capacity} open leads)"
    if rep.daily_cap is not None and today >= rep.daily_cap:
        return f"daily cap reached ({today}/{rep.daily_cap})"
    if rep.weekly_cap is not None and week >= rep.weekly_cap:
        return f"weekly cap reached ({week}/{rep.weekly_cap})"
    return None


def counts_against_capacity(lead: Lead) -> bool:
    return lead.merged_into_id is None and lead.outcome == Outcome.OPEN and lead.stage not in CLOSED_STAGES


# --- The locked pool and where a decision gets it -----------------------------------------------------------------


@dataclass
class Pools:
    """The locked reps a decision may use with their loads, read once after the lock."""

    reps: list[Rep]
    open_counts: dict[int, int]
    today: dict[int, int]
    week: dict[int, int]
    # Per rep, for this pool's moment: the time-bound reason (None: present) and the label; a batch routes many
    # leads with one pool, and the time-zone arithmetic and names were most of the per-lead cost.
    absent: dict[int, str | None] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls, reps: list[Rep], lead: Lead | None, now: datetime) -> Pools:
        open_counts = rep_open_lead_counts(reps)
        if lead is not None and lead.owner_id and counts_against_capacity(lead):
            # The lead is being re-routed: its current owner's count must not include it.
            for rep in reps:
                if rep.user_id == lead.owner_id:
                    open_counts[rep.pk] = max(0, open_counts[rep.pk] - 1)
        today, week = rep_assignment_counts(reps, now)
        return cls(reps, open_counts, today, week)

    def unavailable(self, rep: Rep, now: datetime) -> str | None:
        if rep.pk not in self.absent:
            self.absent[rep.pk] = rep_absent_reason(rep, now)
        return self.absent[rep.pk] or rep_full_reason(rep, self.open_counts[rep.pk], self.today.get(rep.pk, 0),
                                                      self.week.get(rep.pk, 0))

    def candidate(self, rep: Rep, team: Team | None, reason: str | None) -> dict[str, Any]:
        if rep.pk not in self.labels:
            self.labels[rep.pk] = str(rep)
        return {"rep": rep.pk, "name": self.labels[rep.pk], "team": team.name if team else "", "role": rep.role,
                "open_leads": self.open_counts[rep.pk], "skipped": reason}


class PoolSource:
    """Where one decision gets its locked pool and round-robin pointers: locked now, for this decision alone."""

    def __init__(self, lead: Lead | None, now: datetime) -> None:
        self.lead, self.now = lead, now

    def pools(self, *, team_ids: list[int], rep_ids: tuple[int, ...] = ()) -> Pools:
        return Pools.load(Rep.objects.pool_locked(team_ids=team_ids, rep_ids=rep_ids), self.lead, self.now)

    def rep_team(self, rep_id: int) -> int:
        return Rep.objects.values_list("team_id", flat=True).get(pk=rep_id)

    def pointer(self, pool_key: str) -> RoutingPointer:
        return RoutingPointer.objects.locked(pool_key)

    def pointer_taken(self, pointer: RoutingPointer) -> None:
        routing_pointer_save(pointer)


class BatchPoolSource(PoolSource):
    """A batch's pools (``leads_route_many``): every rep its matched rules may use, locked once in one statement
    before the first choice; the loads counted on as the batch assigns; each pointer read once and saved once."""

    def __init__(self, pools: Pools, rep_teams: dict[int, int], now: datetime) -> None:
        super().__init__(None, now)
        self._pools, self._rep_teams = pools, rep_teams
        self._pointers: dict[str, RoutingPointer] = {}

    def pools(self, *, team_ids: list[int], rep_ids: tuple[int, ...] = ()) -> Pools:
        return self._pools

    def rep_team(self, rep_id: int) -> int:
        return self._rep_teams[rep_id]

    def pointer(self, pool_key: str) -> RoutingPointer:
        if pool_key not in self._pointers:
            self._pointers[pool_key] = RoutingPointer.objects.locked(pool_key)
        return self._pointers[pool_key]

    def pointer_taken(self, pointer: RoutingPointer) -> None:
        pass  # saved once by flush()

    def assigned(self, rep: Rep) -> None:
        """A lead of the batch went to ``rep``: the next choices see it in the rep's load and caps."""
        pools = self._pools
        pools.open_counts[rep.pk] = pools.open_counts.get(rep.pk, 0) + 1
        if rep.daily_cap is not None or rep.weekly_cap is not None:
            pools.today[rep.pk] = pools.today.get(rep.pk, 0) + 1
            pools.week[rep.pk] = pools.week.get(rep.pk, 0) + 1

    def owner_left(self, lead) -> int | None:
        """A lead of the batch is routed again (``keep_current_owner``): its current owner's load leaves it out
        while it is chosen for, as ``Pools.load`` leaves it out for one lead. The rep whose count was lowered."""
        if not lead.owner_id or not counts_against_capacity(lead):
            return None
        pools = self._pools
        rep = next((rep for rep in pools.reps if rep.user_id == lead.owner_id), None)
        if rep is None or rep.pk not in pools.open_counts:
            return None
        pools.open_counts[rep.pk] = max(0, pools.open_counts[rep.pk] - 1)
        return rep.pk

    def owner_kept(self, rep_id: int | None) -> None:
        """The lead stayed with its owner (no decision): the load ``owner_left`` lowered counts it again."""
        if rep_id is not None:
            self._pools.open_counts[rep_id] += 1

    def flush(self) -> None:
        for pointer in self._pointers.values():
            routing_pointer_save(pointer)


# --- Choosing a rep -----------------------------------------------------------------------------------------------


@dataclass
class Choice:
    """What the strategy needs to know about the lead being routed, and where its pools come from."""

    lead: Lead
    language: str
    now: datetime
    keep_current_owner: bool
    explanation: dict[str, Any]
    source: PoolSource


def choose_from_chain(rule: RoutingRule, chain: list[Team], pools: Pools, choice: Choice) -> Rep | None:
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


def _apply_strategy(rule: RoutingRule, team: Team, available: list[Rep], pools: Pools, choice: Choice) -> Rep:
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
                                                        rep_performance_weights(chosen_pool, choice.now))
    elif rule.strategy == Strategy.CAPACITY:
        chosen, state = strategies.fewest_open(chosen_pool, pointer, pools.open_counts)
    else:
        chosen, state = strategies.round_robin(chosen_pool, pointer)
    choice.source.pointer_taken(pointer)
    explanation["strategy_state"] = state
    return chosen
