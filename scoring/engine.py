"""The scoring engine: a pure function from (compiled model, lead values, events, now) to a score with reasons.

No database access here: ``scoring.services`` loads and compiles the model once per configuration version and
feeds the engine, so a score can be computed in microseconds and tested without a database.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from leads.choices import Consent, Stage

from .choices import Band, DecayMode, RuleKind
from .conditions import compile_condition, lead_field_value

# Stages the engine never moves a lead out of: sales or a person put it there.
SALES_OWNED_STAGES = frozenset({Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.DISQUALIFIED})
# The rungs of the scoring ladder a score earns (new and engaged share the bottom one).
LADDER_LEVEL = {Stage.NEW: 0, Stage.ENGAGED: 0, Stage.MQL: 1, Stage.SQL: 2}
# Stages a rescore or the decay never moves a lead below, only above: a meeting booked (SQL) stays SQL whatever the
# score does; a re-engaged lead stays re-engaged until it earns SQL or a person moves it. Values: the ladder level a
# score must pass to move the lead on. (Opting out still suppresses: consent comes first.)
STAGE_FLOORS = {Stage.SQL: 2, Stage.RE_ENGAGED: 1}


@dataclass(frozen=True)
class CompiledRule:
    id: int
    kind: str
    dimension: str
    reason_code: str
    label: str
    field: str
    predicate: Callable[[Any], bool] | None
    event_type: str
    property_key: str
    property_predicate: Callable[[Any], bool] | None
    points: int
    cap_points: int | None
    window_days: int | None
    frequency_count: int | None
    frequency_hours: int | None
    intent: bool = False


@dataclass(frozen=True)
class CompiledModel:
    id: int
    version: int
    segment: str
    band_a_min: int
    band_b_min: int
    band_c_min: int
    mql_threshold: int
    sql_threshold: int
    min_fit: int
    decay_mode: str
    decay_rate: float
    decay_step_days: int
    engagement_floor: int
    engagement_ceiling: int
    dimension_caps: dict[str, int]
    fit_rules: tuple[CompiledRule, ...]
    engagement_rules: tuple[CompiledRule, ...]
    predictive_weight: int = 0


@dataclass(frozen=True)
class EventView:
    type: str
    occurred_at: datetime
    properties: dict[str, Any]


@dataclass
class ScoreResult:
    fit: int
    engagement: int
    score: int
    band: str
    stage: str
    reasons: list[dict[str, Any]] = field(default_factory=list)
    fit_data_missing: bool = False
    fit_gate_failed: bool = False
    predictive_points: int = 0
    probability: float | None = None
    intent_hits: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class PredictionView:
    """A lead's win probability from the active predictive model and its top features (label, log-odds)."""

    probability: float
    features: Sequence[tuple[str, float]] = ()
    model_version: int | None = None


def compile_rule(rule: Any) -> CompiledRule:
    """Compile a ScoringRule (or anything with its attributes) so evaluating it parses nothing."""
    predicate = compile_condition(rule.operator, rule.value) if rule.kind == RuleKind.FIT else None
    property_predicate = (
        compile_condition(rule.property_operator, rule.property_value)
        if rule.kind == RuleKind.ENGAGEMENT and rule.property_key
        else None
    )
    return CompiledRule(
        id=rule.id,
        kind=rule.kind,
        dimension=rule.dimension,
        reason_code=rule.reason_code,
        label=rule.label,
        field=rule.field,
        predicate=predicate,
        event_type=(rule.event_type or "").lower(),
        property_key=rule.property_key,
        property_predicate=property_predicate,
        points=rule.points,
        cap_points=rule.cap_points,
        window_days=rule.window_days,
        frequency_count=rule.frequency_count,
        frequency_hours=rule.frequency_hours,
        intent=bool(getattr(rule, "intent", False)),
    )


def compile_model(model: Any, rules: Sequence[Any]) -> CompiledModel:
    """Compile a ScoringModel and its active rules."""
    compiled = [compile_rule(rule) for rule in rules if rule.active]
    return CompiledModel(
        id=model.id,
        version=model.version,
        segment=model.segment,
        band_a_min=model.band_a_min,
        band_b_min=model.band_b_min,
        band_c_min=model.band_c_min,
        mql_threshold=model.mql_threshold,
        sql_threshold=model.sql_threshold,
        min_fit=model.min_fit,
        decay_mode=model.decay_mode,
        decay_rate=model.decay_rate,
        decay_step_days=model.decay_step_days or 1,
        engagement_floor=model.engagement_floor,
        engagement_ceiling=model.engagement_ceiling,
        dimension_caps=dict(model.dimension_caps or {}),
        fit_rules=tuple(r for r in compiled if r.kind == RuleKind.FIT),
        engagement_rules=tuple(r for r in compiled if r.kind == RuleKind.ENGAGEMENT),
        predictive_weight=int(getattr(model, "predictive_weight", 0) or 0),
    )


def with_thresholds(model: CompiledModel, overrides: Mapping[str, int]) -> CompiledModel:
    """The same model with other thresholds (an A/B variant): mql/sql thresholds, band minimums, the fit gate."""
    return dataclasses.replace(model, **overrides) if overrides else model


def decay_factor(model: CompiledModel, age_days: float) -> float:
    """How much of an event's points are left after ``age_days`` under the model's decay mode (0..1)."""
    if age_days <= 0 or model.decay_mode == DecayMode.NONE:
        return 1.0
    if model.decay_mode == DecayMode.HALF_LIFE:
        return math.pow(0.5, age_days / model.decay_rate)
    if model.decay_mode == DecayMode.LINEAR:
        return max(0.0, 1.0 - model.decay_rate * age_days / 100.0)
    steps = int(age_days // model.decay_step_days)
    return max(0.0, 1.0 - steps * model.decay_rate / 100.0)


def band_for(model: CompiledModel, score: int) -> str:
    if score >= model.band_a_min:
        return Band.A
    if score >= model.band_b_min:
        return Band.B
    if score >= model.band_c_min:
        return Band.C
    return Band.D


def _fit(model: CompiledModel, values: dict[str, Any]) -> tuple[int, list[dict[str, Any]], bool]:
    """Fit points per dimension, capped; returns (fit, contributions, whether the lead had no fit data at all)."""
    by_dimension: dict[str, float] = defaultdict(float)
    contributions: list[dict[str, Any]] = []
    any_data = False
    for rule in model.fit_rules:
        value = lead_field_value(values, rule.field)
        if value not in (None, ""):
            any_data = True
        if rule.predicate is not None and rule.predicate(value):
            by_dimension[rule.dimension] += rule.points
            contributions.append({"code": rule.reason_code, "label": rule.label, "points": rule.points,
                                  "kind": RuleKind.FIT, "dimension": rule.dimension})
    total = 0.0
    for dimension, points in by_dimension.items():
        cap = model.dimension_caps.get(dimension)
        if cap is not None and points > cap:
            contributions.append({"code": f"cap_{dimension}", "label": f"{dimension} capped at {cap}",
                                  "points": cap - points, "kind": RuleKind.FIT, "dimension": dimension})
            points = cap
        total += points
    return round(total), contributions, bool(model.fit_rules) and not any_data


def _matching(rule: CompiledRule, by_type: Mapping[str, list[EventView]]) -> list[EventView]:
    """The events a rule counts: those of its type whose property (when the rule tests one) passes, in order."""
    candidates = by_type.get(rule.event_type, ())
    if rule.property_predicate is None:
        return list(candidates)
    return [e for e in candidates if rule.property_predicate(e.properties.get(rule.property_key))]


def _frequency_hit(times: list[datetime], count: int, hours: int) -> datetime | None:
    """The moment ``count`` matching events first fell within ``hours`` (the newest such moment), or None."""
    times = sorted(times)
    span = timedelta(hours=hours)
    hit = None
    for index in range(count - 1, len(times)):
        if times[index] - times[index - count + 1] <= span:
            hit = times[index]
    return hit


def _engagement(
    model: CompiledModel, events: Sequence[EventView], now: datetime
) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    """Engagement points (bounded), the contributions, and the intent frequency rules that fired (code, moment)."""
    contributions: list[dict[str, Any]] = []
    intent_hits: list[dict[str, Any]] = []
    total = 0.0
    by_type: dict[str, list[EventView]] = defaultdict(list)  # each rule looks at its own event type only
    for event in events:
        by_type[event.type].append(event)
    for rule in model.engagement_rules:
        matching = _matching(rule, by_type)
        if rule.window_days:
            horizon = now - timedelta(days=rule.window_days)
            matching = [e for e in matching if e.occurred_at >= horizon]
        if not matching:
            continue
        if rule.frequency_count and rule.frequency_hours:
            hit = _frequency_hit([e.occurred_at for e in matching], rule.frequency_count, rule.frequency_hours)
            if hit is None:
                continue
            if rule.intent:
                intent_hits.append({"code": rule.reason_code, "label": rule.label, "at": hit,
                                    "hours": rule.frequency_hours})
            points = rule.points * decay_factor(model, (now - hit).total_seconds() / 86400)
        else:
            points = sum(rule.points * decay_factor(model, (now - e.occurred_at).total_seconds() / 86400)
                         for e in matching)
            if rule.cap_points is not None:
                points = min(points, rule.cap_points) if rule.points >= 0 else max(points, rule.cap_points)
        if round(points) == 0:
            continue
        total += points
        contributions.append(engagement_reason(rule, round(points), len(matching)))
    bounded = max(model.engagement_floor, min(model.engagement_ceiling, total))
    return round(bounded), contributions, intent_hits


def stage_for(
    model: CompiledModel, *, current: str, score: int, fit: int, engagement: int, fit_data_missing: bool, consent: str
) -> tuple[str, bool]:
    """The lifecycle stage the score earns, and whether the fit gate held the lead back.

    Sales-owned stages are kept; an opted-out lead is suppressed; a lead below the fit gate never reaches MQL or
    SQL whatever its engagement; a lead with no fit data at all can reach MQL on behaviour (qualification) but
    not SQL (a closer); a lead at a floor stage (``STAGE_FLOORS``: SQL, re-engaged) keeps it unless the score earns
    a higher rung. ``scoring.bulk_engine._stages`` is the same rule on arrays.
    """
    if current in SALES_OWNED_STAGES:
        return current, False
    if consent == Consent.OPT_OUT:
        return Stage.SUPPRESSED, False
    gate_failed = not fit_data_missing and fit < model.min_fit
    earned = Stage.ENGAGED if engagement > 0 else Stage.NEW
    if not gate_failed:
        if score >= model.sql_threshold and not fit_data_missing:
            earned = Stage.SQL
        elif score >= model.mql_threshold:
            earned = Stage.MQL
    if current in STAGE_FLOORS and LADDER_LEVEL[earned] <= STAGE_FLOORS[current]:
        return current, gate_failed
    return earned, gate_failed


def score_lead(
    model: CompiledModel,
    values: dict[str, Any],
    events: Sequence[EventView],
    now: datetime,
    *,
    current_stage: str = Stage.NEW,
    top_reasons: int = 5,
    prediction: PredictionView | None = None,
) -> ScoreResult:
    """Score one lead: fit + engagement (+ the predictive contribution), band, stage, and the top reasons.

    With a ``prediction`` the model's ``predictive_weight`` × win probability is added (rounded) and the
    predictive model's top features are listed after the top reasons (``kind`` "predictive", 0 points).
    """
    fit, fit_reasons, fit_missing = _fit(model, values)
    engagement, engagement_reasons, intent_hits = _engagement(model, events, now)
    predictive_points, predictive_head, predictive_features = predictive_contribution(model, prediction)
    score = fit + engagement + predictive_points
    stage, gate_failed = stage_for(
        model, current=current_stage, score=score, fit=fit, engagement=engagement, fit_data_missing=fit_missing,
        consent=values.get("consent") or "",
    )
    reasons = reasons_summed(model, fit_reasons + engagement_reasons + predictive_head, engagement=engagement,
                             top=top_reasons)
    if gate_failed:
        reasons.append({"code": "fit_gate", "label": f"fit {fit} below the minimum {model.min_fit}", "points": 0,
                        "kind": RuleKind.FIT, "dimension": "gate"})
    if fit_missing:
        reasons.append({"code": "no_fit_data", "label": "no fit data yet: scored on behaviour only", "points": 0,
                        "kind": RuleKind.FIT, "dimension": "gate"})
    reasons.extend(predictive_features)
    return ScoreResult(fit=fit, engagement=engagement, score=score, band=band_for(model, score), stage=stage,
                       reasons=reasons, fit_data_missing=fit_missing, fit_gate_failed=gate_failed,
                       predictive_points=predictive_points,
                       probability=None if prediction is None else prediction.probability, intent_hits=intent_hits)


PREDICTIVE = "predictive"
SUMMARY = "summary"


def engagement_reason(rule: CompiledRule, points: int, events: int) -> dict[str, Any]:
    """An engagement rule's reason: the points as applied today, and (``full``) what its events were worth before
    decay and the rule's cap, when that differs ("decayed from 35")."""
    full = rule.points if rule.frequency_count and rule.frequency_hours else rule.points * events
    reason = {"code": rule.reason_code, "label": rule.label, "points": points, "kind": RuleKind.ENGAGEMENT,
              "dimension": rule.dimension, "events": events}
    if full != points:
        reason["full"] = full
        if rule.cap_points is not None:
            reason["cap"] = rule.cap_points
    return reason


def reasons_summed(model: CompiledModel, contributions: list[dict[str, Any]], *, engagement: int,
                   top: int) -> list[dict[str, Any]]:
    """The reasons of a score as lines that add up to it (fit + engagement + the model's points).

    Steps: the ``top`` largest rule reasons (by size, then code); the smaller ones together on one line; each
    dimension cap on its own line; the predictive model's points on their own line; then one line for the
    difference between the engagement rules' rounded points and the engagement score (the engagement ceiling or
    floor, or rounding), so the points of the list always sum to the score.
    """
    caps = [r for r in contributions if r["code"].startswith("cap_") and r.get("kind") == RuleKind.FIT]
    model_lines = [r for r in contributions if r.get("kind") == PREDICTIVE]
    rules = sorted((r for r in contributions if r not in caps and r not in model_lines),
                   key=lambda r: (-abs(r["points"]), r["code"]))
    reasons = rules[:top] + caps + model_lines
    rest = rules[top:]
    rest_points = sum(r["points"] for r in rest)
    if rest_points:
        reasons.append({"code": "other_reasons", "label": f"{len(rest)} smaller reason{'s' if len(rest) > 1 else ''}",
                        "points": rest_points, "kind": SUMMARY, "dimension": SUMMARY})
    difference = engagement - sum(r["points"] for r in contributions if r.get("kind") == RuleKind.ENGAGEMENT)
    if difference:
        if difference < 0 and engagement == model.engagement_ceiling:
            code, label = "engagement_ceiling", f"engagement limited to {model.engagement_ceiling}"
        elif difference > 0 and engagement == model.engagement_floor:
            code, label = "engagement_floor", f"engagement kept at the floor of {model.engagement_floor}"
        else:
            code, label = "rounding", "rounding of decayed points"
        reasons.append({"code": code, "label": label, "points": difference, "kind": SUMMARY,
                        "dimension": RuleKind.ENGAGEMENT})
    return reasons


def predictive_contribution(
    model: CompiledModel, prediction: PredictionView | None
) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    """Points from the predictive model, the win-probability reason, and its top features as reasons.

    The win-probability reason (only when it is worth points) competes with rule reasons for the top places; the
    features are appended after them, so a rep always sees why the model thinks what it thinks.
    """
    if prediction is None:
        return 0, [], []
    points = round(model.predictive_weight * prediction.probability)
    version = f" (model v{prediction.model_version})" if prediction.model_version else ""
    head = [{"code": "predicted_win", "label": f"predicted win probability {prediction.probability:.0%}{version}",
             "points": points, "kind": PREDICTIVE, "dimension": PREDICTIVE}] if points else []
    features = [{"code": f"predicts_{'up' if weight >= 0 else 'down'}", "label": label, "points": 0,
                 "kind": PREDICTIVE, "dimension": PREDICTIVE, "log_odds": round(float(weight), 3)}
                for label, weight in prediction.features]
    return points, head, features
