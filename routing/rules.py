"""Routing rules compiled for speed, cached per process, and checked against a lead with an explanation.

A rule's comma-separated conditions are parsed once into sets (``CompiledRule``). The compiled rule list (and the
teams with their overflow links) is cached per process and reused while the configuration version is unchanged: one
small aggregate query (count and latest ``updated_at`` of rules, territories and teams) per routing decision,
instead of loading and parsing every rule. A save in this process clears the cache at once
(``routing_rules_cache_clear``, connected in receivers.py); a save in another process is seen at its next decision.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from leads.models import Lead

from .languages import lead_language
from .models import RoutingRule, Team, Territory, split_csv


@dataclass
class RuleCheck:
    """Whether one rule matches a lead: True, False (with the failed condition) or None (data missing).

    ``condition`` names the condition that failed (territory, country, employees, industry, seniority, score, band,
    stage, source, language).
    """

    matched: bool | None
    detail: str = ""
    missing: list[str] = field(default_factory=list)
    condition: str = ""


@dataclass(frozen=True)
class CompiledTerritory:
    """A territory's location test with its lists parsed once."""

    name: str
    countries: frozenset[str]
    states: frozenset[str]
    postal_prefixes: tuple[str, ...]

    @classmethod
    def of(cls, territory: Territory) -> CompiledTerritory:
        return cls(territory.name, frozenset(split_csv(territory.countries, upper=True)),
                   frozenset(split_csv(territory.states, upper=True)),
                   tuple(split_csv(territory.postal_prefixes, upper=True)))

    def covers(self, *, country: str, state: str, postal_code: str) -> bool | None:
        """True/False when the lead's location says; None when a needed part of it is missing."""
        if not country:
            return None
        if country.upper() not in self.countries:
            return False
        if self.states:
            if not state:
                return None
            if state.upper() not in self.states:
                return False
        if self.postal_prefixes:
            if not postal_code:
                return None
            if not postal_code.upper().startswith(self.postal_prefixes):
                return False
        return True


@dataclass(frozen=True)
class CompiledRule:
    """One rule with its conditions parsed; ``check`` tests a lead and says why."""

    rule: RoutingRule
    territory: CompiledTerritory | None
    countries: frozenset[str]
    industries: frozenset[str]
    seniorities: frozenset[str]
    bands: frozenset[str]
    stages: frozenset[str]
    sources: frozenset[str]
    languages: frozenset[str]

    @classmethod
    def of(cls, rule: RoutingRule) -> CompiledRule:
        return cls(
            rule=rule,
            territory=CompiledTerritory.of(rule.territory) if rule.territory_id else None,
            countries=frozenset(split_csv(rule.countries, upper=True)),
            industries=frozenset(split_csv(rule.industries)),
            seniorities=frozenset(split_csv(rule.seniorities)),
            bands=frozenset(split_csv(rule.bands, upper=True)),
            stages=frozenset(split_csv(rule.stages)),
            sources=frozenset(split_csv(rule.sources)),
            languages=frozenset(split_csv(rule.languages)),
        )

    def check(self, lead: Lead, language: str | None = None) -> RuleCheck:
        """Test every condition against the lead; the first failing condition is the reason.

        Missing data does not stop the check: a later condition that fails still says "no" (so a lead is held only
        when the missing data could make the rule match); otherwise every missing input is listed.
        """
        rule = self.rule
        missing: list[str] = []

        def need(name: str, value: Any) -> bool:
            if value in (None, ""):
                missing.append(name)
                return False
            return True

        if self.territory is not None:
            covers = self.territory.covers(country=lead.country, state=lead.state, postal_code=lead.postal_code)
            if covers is None:
                missing.append("location (country/state/postal code)")
            elif not covers:
                return RuleCheck(False, f"{lead.country or '?'} {lead.state} is outside territory "
                                        f"{self.territory.name}", condition="territory")
        if self.countries and need("country", lead.country) and lead.country.upper() not in self.countries:
            return RuleCheck(False, f"country {lead.country} not in {', '.join(sorted(self.countries))}",
                             condition="country")
        if rule.min_employees is not None or rule.max_employees is not None:
            if need("employees", lead.employees):
                if rule.min_employees is not None and lead.employees < rule.min_employees:
                    return RuleCheck(False, f"{lead.employees} employees < {rule.min_employees}", condition="employees")
                if rule.max_employees is not None and lead.employees > rule.max_employees:
                    return RuleCheck(False, f"{lead.employees} employees > {rule.max_employees}", condition="employees")
        if self.industries and need("industry", lead.industry) and lead.industry.lower() not in self.industries:
            return RuleCheck(False, f"industry {lead.industry} not in {rule.industries}", condition="industry")
        if self.seniorities and need("seniority", lead.seniority) and lead.seniority.lower() not in self.seniorities:
            return RuleCheck(False, f"seniority {lead.seniority} not in {rule.seniorities}",
                             condition="seniority")
        if rule.min_score is not None or rule.max_score is not None:
            if need("score", lead.score):
                if rule.min_score is not None and lead.score < rule.min_score:
                    return RuleCheck(False, f"score {lead.score} < {rule.min_score}", condition="score")
                if rule.max_score is not None and lead.score > rule.max_score:
                    return RuleCheck(False, f"score {lead.score} > {rule.max_score}", condition="score")
        if self.bands and need("band", lead.band) and lead.band.upper() not in self.bands:
            return RuleCheck(False, f"band {lead.band} not in {', '.join(sorted(self.bands))}", condition="band")
        if self.stages and lead.stage not in self.stages:
            return RuleCheck(False, f"stage {lead.stage} not in {rule.stages}", condition="stage")
        if self.sources and (lead.source or "").lower() not in self.sources:
            return RuleCheck(False, f"source {lead.source or '(none)'} not in {rule.sources}",
                             condition="source")
        if self.languages:
            if language is None:
                language = lead_language(custom=lead.custom, country=lead.country)
            if need("language", language) and language not in self.languages:
                return RuleCheck(False, f"language {language} not in {rule.languages}",
                                 condition="language")
        if missing:
            return RuleCheck(None, "missing " + ", ".join(missing), missing)
        return RuleCheck(True, "all conditions hold")


def rule_check(rule: RoutingRule, lead: Lead) -> RuleCheck:
    """Test one rule (not necessarily saved or cached) against a lead."""
    return CompiledRule.of(rule).check(lead)


@dataclass(frozen=True)
class RuleSet:
    """The rules one routing decision tries, in order (the live ones, or the preview set with the drafts), and the
    teams by id (for overflow chains)."""

    rules: tuple[CompiledRule, ...]
    drafts: tuple[str, ...] = ()
    teams: dict[int, Team] = field(default_factory=dict)

    def team_chain(self, team_id: int | None) -> list[Team]:
        """A team followed by its overflow teams, in order, each once."""
        chain: list[Team] = []
        team = self.teams.get(team_id) if team_id else None
        while team is not None and team not in chain:
            chain.append(team)
            team = self.teams.get(team.overflow_team_id) if team.overflow_team_id else None
        return chain


_cache_lock = threading.Lock()
_cache: dict[str, Any] = {"version": None, "live": None, "preview": None}


def routing_rules_cache_clear() -> None:
    """Forget the compiled rules of this process (a rule or territory was saved here)."""
    with _cache_lock:
        _cache.update(version=None, live=None, preview=None)


def _version_sql() -> str:
    parts = []
    for model in (RoutingRule, Territory, Team):
        table = connection.ops.quote_name(model._meta.db_table)
        parts.append(f"(SELECT COUNT(*) FROM {table}), (SELECT MAX(updated_at) FROM {table})")
    return "SELECT " + ", ".join(parts)


def routing_config_version() -> tuple:
    """Count and latest change of rules, territories and teams: it changes whenever one of them does (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(_version_sql())
        return tuple(cursor.fetchone())


def _compile(include_drafts: bool) -> RuleSet:
    rules = list(
        RoutingRule.objects.filter(active=True, draft=False).select_related("territory", "team", "rep__user")
    )
    drafts: list[RoutingRule] = []
    if include_drafts:
        drafts = list(RoutingRule.objects.filter(draft=True).select_related("territory", "team", "rep__user"))
        replaced = {d.replaces_id for d in drafts if d.replaces_id}
        rules = [r for r in rules if r.pk not in replaced] + drafts
        rules.sort(key=lambda r: (r.order, r.pk))
    return RuleSet(tuple(CompiledRule.of(r) for r in rules), tuple(d.name for d in drafts), Team.objects.in_bulk())


def routing_rule_set(*, include_drafts: bool = False) -> RuleSet:
    """The compiled rules in order: live ones (active, not draft), or with ``include_drafts`` the preview set.

    The preview set is the live rules with each draft in its place by ``order``, minus the live rules the drafts
    replace. Cached per process while ``routing_config_version()`` is unchanged.
    """
    version = routing_config_version()
    key = "preview" if include_drafts else "live"
    with _cache_lock:
        if _cache["version"] == version and _cache[key] is not None:
            return _cache[key]
    rule_set = _compile(include_drafts)
    with _cache_lock:
        if _cache["version"] != version:
            _cache.update(version=version, live=None, preview=None)
        _cache[key] = rule_set
    return rule_set
