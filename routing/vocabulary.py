"""The vocabulary a routing condition may use, and the conditions that can never match.

A rule's comma-separated conditions are free text in the database; these checks hold them to the values leads can
have, so a typo ("Z" for a band, "sqll" for a stage, "USA" for a country) is refused with the field named instead of
saving a rule that silently never routes a lead. Used by ``RoutingRule.clean`` (so the admin, configuration as code
and every service that calls ``full_clean`` check the same), by ``SlaPolicy.clean`` and ``Rep.clean``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

import pycountry

from leads.choices import Stage
from leads.models import IndustryTerm
from leads.normalize.title import SENIORITY_CHOICES
from scoring.choices import Band

SENIORITIES = tuple(code for code, _ in SENIORITY_CHOICES)
# The lead fields a task template or a nurture step may use as ``{placeholder}``.
TEMPLATE_FIELDS = ("first_name", "last_name", "full_name", "company", "title", "industry", "country", "source",
                   "score", "band", "owner_first_name")


@lru_cache(maxsize=4096)
def split_csv(value: str, *, upper: bool = False) -> tuple[str, ...]:
    """'US, ca ,MX' → ('US', 'CA', 'MX') (or lower-case). Cached: routing splits the same rep skills, languages and
    rule roles for every lead it routes."""
    items = [part.strip() for part in (value or "").split(",") if part.strip()]
    return tuple(i.upper() for i in items) if upper else tuple(i.lower() for i in items)


def unknown_placeholders(*texts: str) -> list[str]:
    """The ``{names}`` in the texts that are not ``TEMPLATE_FIELDS`` (sorted, each once)."""
    placeholders = re.findall(r"\{([^{}]*)\}", " ".join(texts))
    return sorted({name for name in placeholders if name not in TEMPLATE_FIELDS})


def unknown_countries(codes: Iterable[str]) -> list[str]:
    """Codes that are not ISO 3166 alpha-2 countries."""
    return [c for c in codes if len(c) != 2 or pycountry.countries.get(alpha_2=c.upper()) is None]


def unknown_languages(codes: Iterable[str]) -> list[str]:
    """Codes that are not ISO 639-1 languages."""
    return [c for c in codes if len(c) != 2 or pycountry.languages.get(alpha_2=c.lower()) is None]


def unknown_bands(bands: Iterable[str]) -> list[str]:
    return [b for b in bands if b.upper() not in Band.values]


def unknown_stages(stages: Iterable[str]) -> list[str]:
    return [s for s in stages if s.lower() not in Stage.values]


def unknown_seniorities(values: Iterable[str]) -> list[str]:
    return [s for s in values if s.lower() not in SENIORITIES]


def industry_vocabulary_read() -> dict[str, str]:
    """The industry vocabulary as stored now (synonym → canonical, canonical names included), for validation."""
    mapping: dict[str, str] = {}
    for synonym, canonical in IndustryTerm.objects.values_list("synonym", "canonical"):
        mapping[synonym.lower()] = canonical
        mapping.setdefault(canonical.lower(), canonical)
    return mapping


def industry_problems(values: Iterable[str], vocabulary: Mapping[str, str]) -> list[str]:
    """Why each industry is not a canonical industry of the vocabulary (synonym → canonical): a synonym names its
    canonical industry; an unknown word says so. Leads carry canonical industries, so only those can match."""
    canonical = {name.lower(): name for name in vocabulary.values()}
    problems = []
    for value in values:
        if value.lower() in canonical:
            continue
        meant = vocabulary.get(value.lower())
        problems.append(f"{value} is a synonym: use {meant}" if meant else f"{value} is not in the industry "
                        "vocabulary")
    return problems


def choices_hint(values: Iterable[str]) -> str:
    return ", ".join(values)


def band_score_conflict(bands: Iterable[str], min_score: int | None, max_score: int | None,
                        thresholds: Iterable[tuple[int, int, int]]) -> str | None:
    """Why no lead can have one of ``bands`` with a score in [min_score, max_score] under any active scoring model
    (``thresholds``: each model's band A, B and C minimums), or None when one can (or nothing is known)."""
    wanted = {b.upper() for b in bands}
    models = list(thresholds)
    if not wanted or not models or (min_score is None and max_score is None):
        return None
    low, high = -10**9 if min_score is None else min_score, 10**9 if max_score is None else max_score
    for a_min, b_min, c_min in models:
        ranges = {"A": (a_min, 10**9), "B": (b_min, a_min - 1), "C": (c_min, b_min - 1), "D": (-10**9, c_min - 1)}
        if any(max(low, ranges[b][0]) <= min(high, ranges[b][1]) for b in wanted if b in ranges):
            return None
    return (f"bands {', '.join(sorted(wanted))} are never reached with a score between "
            f"{'any' if min_score is None else min_score} and {'any' if max_score is None else max_score} "
            "under the active scoring models")


def routing_rule_conditions_text(rule) -> str:
    """A rule's conditions in one line ("territory NA · country US, CA · band A, B · score ≥ 40"), "any lead" when
    it has none; the rule list shows it as one compact column."""
    parts = []
    if rule.territory_id:
        parts.append(f"territory {rule.territory.name}")
    for label, value in (("country", rule.countries), ("industry", rule.industries), ("seniority", rule.seniorities),
                         ("band", rule.bands), ("stage", rule.stages), ("source", rule.sources),
                         ("language", rule.languages)):
        if value:
            parts.append(f"{label} {', '.join(part.strip() for part in value.split(',') if part.strip())}")
    for label, low, high in (("employees", rule.min_employees, rule.max_employees),
                             ("score", rule.min_score, rule.max_score)):
        if low is not None and high is not None:
            parts.append(f"{label} {low}–{high}")
        elif low is not None:
            parts.append(f"{label} ≥ {low}")
        elif high is not None:
            parts.append(f"{label} ≤ {high}")
    return " · ".join(parts) or "any lead"


def routing_rule_action_text(rule) -> str:
    """What a rule does, in a few words: "team Mid-Market (round robin)", "rep Rita", "queue Nurture"."""
    if rule.action == "rep" and rule.rep_id:
        return f"rep {rule.rep}"
    if rule.action == "team" and rule.team_id:
        roles = f", roles {rule.rep_roles}" if rule.rep_roles else ""
        return f"team {rule.team.name} ({rule.get_strategy_display().lower()}{roles})"
    if rule.queue:
        return f"queue {rule.get_queue_display()}"
    return rule.get_action_display()
