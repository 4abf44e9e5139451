"""The scoring engine for many leads at once: the numbers of ``scoring.engine.score_lead``, computed with numpy.

Pure like the engine (no database): ``scoring.services.bulk`` loads a chunk of leads and their events as columns
and feeds :func:`score_batch`; the daily decay, ``rescore_leads --all`` and the model preview all use it.

Equality with the per-lead engine is by construction and by test (``tests/scoring/test_bulk.py`` scores the same
leads both ways): the same rule order, the same decay formula on the same exact event ages (integer microseconds,
half-life through ``math.pow``), sums in the same order (events newest first, rules in order), the same
round-half-to-even. Reasons are built only for the leads that changed (:meth:`BatchScores.reasons`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from leads.choices import Consent, Stage

from .choices import Band, DecayMode, RuleKind
from .engine import (
    PREDICTIVE,
    SALES_OWNED_STAGES,
    STAGE_FLOORS,
    CompiledModel,
    CompiledRule,
    engagement_reason,
    reasons_summed,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIT, ENGAGEMENT = RuleKind.FIT.value, RuleKind.ENGAGEMENT.value
US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND


def to_us(moment: datetime) -> int:
    """A moment as whole microseconds since the Unix epoch (exact, unlike a float timestamp)."""
    return (moment - EPOCH) // timedelta(microseconds=1)


@dataclass
class LeadColumns:
    """A batch of leads as columns. ``values`` maps each field a rule reads (``custom:NAME`` too) to a list."""

    ids: np.ndarray
    stage: list[str]
    consent: list[str]
    values: dict[str, list[Any]]
    probability: np.ndarray | None = None
    features: list[Sequence[tuple[str, float]]] | None = None
    model_version: int | None = None

    def __len__(self) -> int:
        return int(self.ids.size)

    def take(self, index: np.ndarray) -> LeadColumns:
        """The leads at ``index`` (sorted positions), as a new batch."""
        positions = index.tolist()
        return LeadColumns(
            ids=self.ids[index],
            stage=[self.stage[i] for i in positions],
            consent=[self.consent[i] for i in positions],
            values={name: [column[i] for i in positions] for name, column in self.values.items()},
            probability=None if self.probability is None else self.probability[index],
            features=None if self.features is None else [self.features[i] for i in positions],
            model_version=self.model_version,
        )


@dataclass
class EventColumns:
    """Events of a batch of leads, ordered by lead, newest first within a lead.

    ``lead_index`` points into the LeadColumns; ``type_code`` into ``type_names``; ``at_us`` is the exact
    occurrence time; ``properties`` maps each property key a rule filters on to one value per event (None where
    the event lacks it).
    """

    lead_index: np.ndarray
    type_code: np.ndarray
    type_names: list[str]
    at_us: np.ndarray
    properties: dict[str, list[Any]]

    def __len__(self) -> int:
        return int(self.lead_index.size)

    def for_leads(self, index: np.ndarray, total: int) -> EventColumns:
        """The events of the leads at ``index`` (sorted positions among ``total`` leads), re-pointed at them."""
        remap = np.full(total, -1, dtype=np.intp)
        remap[index] = np.arange(index.size)
        new_index = remap[self.lead_index]
        keep = new_index >= 0
        positions = np.flatnonzero(keep)
        return EventColumns(
            lead_index=new_index[keep],
            type_code=self.type_code[keep],
            type_names=self.type_names,
            at_us=self.at_us[keep],
            properties={key: [column[i] for i in positions.tolist()] for key, column in self.properties.items()},
        )


def evaluate(predicate: Callable[[Any], bool], values: Sequence[Any], *, exact_types: bool = False) -> np.ndarray:
    """The predicate over a column, evaluated once per distinct value.

    ``exact_types`` keys the memo by type as well (JSON values: ``1`` and ``True`` and ``1.0`` compare equal in
    Python but are different text to a condition), which is slower; lead columns hold one type each.
    """
    n = len(values)
    if not exact_types:
        try:
            memo = {value: bool(predicate(value)) for value in set(values)}
        except TypeError:  # an unhashable value: take the general path
            pass
        else:
            return np.fromiter(map(memo.__getitem__, values), dtype=bool, count=n)
    memo_typed: dict[Any, bool] = {}
    out = np.empty(n, dtype=bool)
    for i, value in enumerate(values):
        key = (type(value), value)
        try:
            result = memo_typed.get(key)
        except TypeError:  # an unhashable JSON value (list, object)
            out[i] = predicate(value)
            continue
        if result is None:
            result = memo_typed[key] = bool(predicate(value))
        out[i] = result
    return out


def _has_value(value: Any) -> bool:
    return value not in (None, "")


def decay_factors(model: CompiledModel, age_us: np.ndarray) -> np.ndarray:
    """``scoring.engine.decay_factor`` per event age, bit for bit (ages in exact microseconds)."""
    age_days = age_us.astype(np.float64) / US_PER_SECOND / 86400
    out = np.ones(age_days.size, dtype=np.float64)
    positive = age_days > 0
    if model.decay_mode == DecayMode.NONE or not positive.any():
        return out
    ages = age_days[positive]
    if model.decay_mode == DecayMode.HALF_LIFE:
        # math.pow, not np.power: numpy may use a SIMD pow that differs from libm in the last bit, and a score
        # sitting on a .5 boundary would then round the other way than the per-lead engine.
        rate = model.decay_rate
        out[positive] = np.fromiter((math.pow(0.5, a / rate) for a in ages.tolist()), dtype=np.float64,
                                    count=ages.size)
    elif model.decay_mode == DecayMode.LINEAR:
        out[positive] = np.maximum(0.0, 1.0 - model.decay_rate * ages / 100.0)
    else:
        steps = np.floor_divide(ages, model.decay_step_days)
        out[positive] = np.maximum(0.0, 1.0 - steps * model.decay_rate / 100.0)
    return out


@dataclass
class BatchScores:
    """Scores of a batch: arrays per lead, plus what :meth:`reasons` needs to list the reasons of one lead."""

    model: CompiledModel
    leads: LeadColumns
    fit: np.ndarray
    engagement: np.ndarray
    predictive_points: np.ndarray
    score: np.ndarray
    band: np.ndarray
    stage: np.ndarray
    fit_missing: np.ndarray
    gate_failed: np.ndarray
    fit_hits: np.ndarray
    dimension_points: np.ndarray
    dimensions: list[str]
    engagement_points: np.ndarray
    engagement_included: np.ndarray
    engagement_events: np.ndarray
    top_reasons: int = 5
    probability: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def reasons_json(self, indices: np.ndarray) -> tuple[list[str], list[list[dict[str, Any]]]]:
        """The reasons of the leads at ``indices`` as JSON and as lists, built once per distinct reason pattern.

        Leads with the same rule hits, rounded points, event counts and prediction have the same reasons, so the
        Python work is per pattern, not per lead (the per-lead features of a predictive model defeat this; those
        leads are built one by one).
        """
        if indices.size == 0:
            return [], []
        if self.leads.features is not None:
            lists = [self.reasons(int(i)) for i in indices.tolist()]
            return [json.dumps(r) for r in lists], lists
        n_fit, n_eng = self.fit_hits.shape[1], self.engagement_points.shape[1]
        signature = np.zeros((indices.size, n_fit + self.dimension_points.shape[1] + 3 * n_eng + 5), dtype=np.int64)
        column = 0
        for part in (self.fit_hits[indices], self.dimension_points[indices], self.engagement_included[indices],
                     np.rint(self.engagement_points[indices]) * self.engagement_included[indices],
                     self.engagement_events[indices] * self.engagement_included[indices]):
            width = part.shape[1]
            signature[:, column:column + width] = part
            column += width
        signature[:, column] = self.fit[indices]
        signature[:, column + 1] = self.gate_failed[indices] + 2 * self.fit_missing[indices]
        signature[:, column + 2] = self.predictive_points[indices]
        signature[:, column + 3] = np.nan_to_num(self.probability[indices], nan=-1.0).view(np.int64) \
            if self.probability.size else 0
        signature[:, column + 4] = self.engagement[indices]  # the rounding line depends on the engagement total
        _, first, inverse = np.unique(signature, axis=0, return_index=True, return_inverse=True)
        lists = [self.reasons(int(indices[k])) for k in first.tolist()]
        texts = [json.dumps(r) for r in lists]
        order = inverse.reshape(-1).tolist()
        return [texts[k] for k in order], [lists[k] for k in order]

    def reasons(self, i: int) -> list[dict[str, Any]]:
        """Lead ``i``'s reasons exactly as ``score_lead`` lists them (same order, same ties)."""
        model = self.model
        contributions: list[dict[str, Any]] = []
        dimension_order: list[str] = []
        for hit, rule in zip(self.fit_hits[i].tolist(), model.fit_rules, strict=True):
            if hit:
                contributions.append({"code": rule.reason_code, "label": rule.label, "points": rule.points,
                                      "kind": FIT, "dimension": rule.dimension})
                if rule.dimension not in dimension_order:
                    dimension_order.append(rule.dimension)
        if dimension_order and model.dimension_caps:
            dimension_points = self.dimension_points[i].tolist()
            for dimension in dimension_order:
                cap = model.dimension_caps.get(dimension)
                points = dimension_points[self.dimensions.index(dimension)]
                if cap is not None and points > cap:
                    contributions.append({"code": f"cap_{dimension}", "label": f"{dimension} capped at {cap}",
                                          "points": cap - points, "kind": FIT, "dimension": dimension})
        included = self.engagement_included[i].tolist()
        if any(included):
            points_row, events_row = self.engagement_points[i].tolist(), self.engagement_events[i].tolist()
            for r, rule in enumerate(model.engagement_rules):
                if included[r]:
                    contributions.append(engagement_reason(rule, round(points_row[r]), events_row[r]))
        probability = float(self.probability[i]) if self.probability.size else math.nan
        has_prediction = not math.isnan(probability)
        points = int(self.predictive_points[i])
        if has_prediction and points:
            version = f" (model v{self.leads.model_version})" if self.leads.model_version else ""
            contributions.append({"code": "predicted_win",
                                  "label": f"predicted win probability {probability:.0%}{version}",
                                  "points": points, "kind": PREDICTIVE, "dimension": PREDICTIVE})
        reasons = reasons_summed(model, contributions, engagement=int(self.engagement[i]), top=self.top_reasons)
        if self.gate_failed[i]:
            reasons.append({"code": "fit_gate", "label": f"fit {int(self.fit[i])} below the minimum {model.min_fit}",
                            "points": 0, "kind": FIT, "dimension": "gate"})
        if self.fit_missing[i]:
            reasons.append({"code": "no_fit_data", "label": "no fit data yet: scored on behaviour only", "points": 0,
                            "kind": FIT, "dimension": "gate"})
        if has_prediction and self.leads.features is not None:
            for label, weight in self.leads.features[i] or ():
                reasons.append({"code": f"predicts_{'up' if weight >= 0 else 'down'}", "label": label, "points": 0,
                                "kind": PREDICTIVE, "dimension": PREDICTIVE, "log_odds": round(float(weight), 3)})
        return reasons


def _fit(model: CompiledModel, leads: LeadColumns) -> tuple[np.ndarray, ...]:
    """Fit per lead: rule hits, points per dimension (capped only where a rule of it matched), no-data flags."""
    n = len(leads)
    rules = model.fit_rules
    dimensions = list(dict.fromkeys(rule.dimension for rule in rules))
    hits = np.zeros((n, len(rules)), dtype=bool)
    any_data = np.zeros(n, dtype=bool)
    seen_fields: set[str] = set()
    for j, rule in enumerate(rules):
        column = leads.values[rule.field]
        custom = rule.field.startswith("custom:")
        if rule.field not in seen_fields:
            seen_fields.add(rule.field)
            any_data |= evaluate(_has_value, column, exact_types=custom)
        if rule.predicate is not None:
            hits[:, j] = evaluate(rule.predicate, column, exact_types=custom)
    points = np.zeros((len(rules), len(dimensions)), dtype=np.int64)
    member = np.zeros((len(rules), len(dimensions)), dtype=np.int64)
    for j, rule in enumerate(rules):
        points[j, dimensions.index(rule.dimension)] = rule.points
        member[j, dimensions.index(rule.dimension)] = 1
    as_int = hits.astype(np.int64)
    dimension_points = as_int @ points
    matched = (as_int @ member) > 0
    capped = dimension_points.copy()
    for d, dimension in enumerate(dimensions):
        cap = model.dimension_caps.get(dimension)
        if cap is not None:
            capped[:, d] = np.where(matched[:, d], np.minimum(dimension_points[:, d], cap), dimension_points[:, d])
    fit = capped.sum(axis=1) if dimensions else np.zeros(n, dtype=np.int64)
    fit_missing = np.full(n, bool(rules)) & ~any_data
    return fit, hits, dimension_points, dimensions, fit_missing


def _rule_mask(rule: CompiledRule, events: EventColumns, now_us: int) -> np.ndarray:
    """Which events match the rule: type, property filter, window."""
    try:
        code = events.type_names.index(rule.event_type)
    except ValueError:
        return np.zeros(len(events), dtype=bool)
    mask = events.type_code == code
    if rule.window_days:
        mask &= events.at_us >= now_us - rule.window_days * US_PER_DAY
    if rule.property_predicate is not None and mask.any():
        positions = np.flatnonzero(mask)
        column = events.properties.get(rule.property_key) or [None] * len(events)
        values = [column[k] for k in positions.tolist()]
        mask[positions] = evaluate(rule.property_predicate, values, exact_types=True)
    return mask


def _frequency_hits(rule: CompiledRule, lead_index: np.ndarray, at_us: np.ndarray, n: int) -> np.ndarray:
    """Per lead, the newest moment ``frequency_count`` matching events fell within the hours (-1: never)."""
    order = np.lexsort((at_us, lead_index))
    leads, times = lead_index[order], at_us[order]
    k = rule.frequency_count - 1
    hit = np.full(n, -1, dtype=np.int64)
    if times.size <= k:
        return hit
    span = rule.frequency_hours * 3600 * US_PER_SECOND
    if k == 0:
        valid = np.ones(times.size, dtype=bool)
    else:
        valid = np.zeros(times.size, dtype=bool)
        valid[k:] = (leads[k:] == leads[:-k]) & (times[k:] - times[:-k] <= span)
    np.maximum.at(hit, leads[valid], times[valid])
    return hit


def _engagement(model: CompiledModel, events: EventColumns, n: int, now_us: int) -> tuple[np.ndarray, ...]:
    """Engagement per lead (bounded, rounded) and per rule: points, whether they count, matching events."""
    rules = model.engagement_rules
    points = np.zeros((n, len(rules)), dtype=np.float64)
    included = np.zeros((n, len(rules)), dtype=bool)
    counts = np.zeros((n, len(rules)), dtype=np.int64)
    total = np.zeros(n, dtype=np.float64)
    for r, rule in enumerate(rules):
        mask = _rule_mask(rule, events, now_us)
        if not mask.any():
            continue
        lead_index, at_us = events.lead_index[mask], events.at_us[mask]
        counts[:, r] = np.bincount(lead_index, minlength=n)
        if rule.frequency_count and rule.frequency_hours:
            hit = _frequency_hits(rule, lead_index, at_us, n)
            has = hit >= 0
            rule_points = np.zeros(n, dtype=np.float64)
            rule_points[has] = rule.points * decay_factors(model, now_us - hit[has])
        else:
            has = counts[:, r] > 0
            rule_points = np.bincount(lead_index, weights=rule.points * decay_factors(model, now_us - at_us),
                                      minlength=n)
            if rule.cap_points is not None:
                limit = np.minimum if rule.points >= 0 else np.maximum
                rule_points = np.where(has, limit(rule_points, rule.cap_points), rule_points)
        keep = has & (np.rint(rule_points) != 0)
        points[:, r] = rule_points
        included[:, r] = keep
        total = total + np.where(keep, rule_points, 0.0)
    bounded = np.clip(total, model.engagement_floor, model.engagement_ceiling)
    return np.rint(bounded).astype(np.int64), points, included, counts


def _stages(model: CompiledModel, leads: LeadColumns, score: np.ndarray, fit: np.ndarray, engagement: np.ndarray,
            fit_missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``scoring.engine.stage_for`` per lead: the stage and whether the fit gate held the lead back."""
    current = np.array(leads.stage, dtype=object)
    sales_owned = np.fromiter((s in SALES_OWNED_STAGES for s in leads.stage), dtype=bool, count=len(leads))
    opted_out = np.fromiter((c == Consent.OPT_OUT for c in leads.consent), dtype=bool, count=len(leads))
    scored = ~sales_owned & ~opted_out
    gate_failed = scored & ~fit_missing & (fit < model.min_fit)
    passes = scored & ~gate_failed
    stage = np.where(engagement > 0, Stage.ENGAGED.value, Stage.NEW.value).astype(object)
    stage[passes & (score >= model.mql_threshold)] = Stage.MQL.value
    stage[passes & (score >= model.sql_threshold) & ~fit_missing] = Stage.SQL.value
    # A floor stage (SQL, re-engaged) is kept unless the score earns a higher rung (``engine.STAGE_FLOORS``).
    floor = np.fromiter((STAGE_FLOORS.get(s, -1) for s in leads.stage), dtype=np.int64, count=len(leads))
    level = np.where(stage == Stage.SQL.value, 2, np.where(stage == Stage.MQL.value, 1, 0))
    held = scored & (level <= floor)
    stage[held] = current[held]
    stage[opted_out & ~sales_owned] = Stage.SUPPRESSED.value
    stage[sales_owned] = current[sales_owned]
    return stage, gate_failed


def bands(model: CompiledModel, score: np.ndarray) -> np.ndarray:
    """``scoring.engine.band_for`` per score."""
    return np.select(
        [score >= model.band_a_min, score >= model.band_b_min, score >= model.band_c_min],
        [Band.A.value, Band.B.value, Band.C.value], default=Band.D.value,
    ).astype(object)


def score_batch(model: CompiledModel, leads: LeadColumns, events: EventColumns, now: datetime,
                *, top_reasons: int = 5) -> BatchScores:
    """Score every lead of the batch with one compiled model (see the module docstring)."""
    n = len(leads)
    now_us = to_us(now)
    fit, fit_hits, dimension_points, dimensions, fit_missing = _fit(model, leads)
    engagement, engagement_points, included, counts = _engagement(model, events, n, now_us)
    probability = leads.probability if leads.probability is not None else np.full(n, np.nan)
    predictive_points = np.where(np.isnan(probability), 0.0, np.rint(model.predictive_weight * probability))
    predictive_points = predictive_points.astype(np.int64)
    score = fit + engagement + predictive_points
    stage, gate_failed = _stages(model, leads, score, fit, engagement, fit_missing)
    return BatchScores(
        model=model, leads=leads, fit=fit, engagement=engagement, predictive_points=predictive_points, score=score,
        band=bands(model, score), stage=stage, fit_missing=fit_missing, gate_failed=gate_failed, fit_hits=fit_hits,
        dimension_points=dimension_points, dimensions=dimensions, engagement_points=engagement_points,
        engagement_included=included, engagement_events=counts, top_reasons=top_reasons, probability=probability,
    )
