"""Score one lead: record the change, fire its triggers, announce it. The per-lead path of the pipeline, and its
drained micro-batch (``leads_score_each``: the same steps for each lead, the reads and writes made together)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from leads.models import Lead, LeadEvent
from leads.selectors import lead_locked, leads_locked
from leads.services import lead_send_to_review
from leads.writes import lead_save_with_history, leads_save_with_history
from revops.base.db.instances import instance_new
from revops.base.db.sql import bulk_insert, rows_compiled_once

from ..engine import CompiledModel, EventView, PredictionView, ScoreResult, score_lead
from ..loaders import EVENTS_CONSIDERED
from ..models import SCORABLE_FIELDS, ScoreChange, ScoreTrigger, ScoringModel
from ..selectors import SegmentConfig, config_for
from ..signals import lead_scored
from .predictions import predictions_for
from .triggers import lead_triggers_earned, triggers_fire_many


def lead_values(lead: Lead) -> dict[str, Any]:
    """The lead fields rules and segments read, as a plain dict."""
    values = {name: getattr(lead, name) for name in SCORABLE_FIELDS}
    values["custom"] = lead.custom or {}
    values["stage"] = lead.stage
    return values


def lead_events_for_scoring(lead_id: int, model: CompiledModel) -> list[EventView]:
    """The lead's newest events of the types the model's engagement rules score."""
    types = sorted({rule.event_type for rule in model.engagement_rules})
    if not types:
        return []

    def query():
        return LeadEvent.objects.filter(lead_id=0, type__in=types).order_by("-occurred_at").values_list(
            "type", "occurred_at", "properties")[:EVENTS_CONSIDERED]

    # Compiled once per set of event types: compiling the query cost more than running it.
    rows = rows_compiled_once(("scoring events", tuple(types)), query, [lead_id, *types])
    return [EventView(t, at, props or {}) for t, at, props in rows]


def change_reason(cause: str, old_score: int | None, new_score: int, old_stage: str, new_stage: str,
                  reasons: list[dict[str, Any]], variant: str = "") -> str:
    """The history reason of an automated score change: "automation:scoring (cause) 35 → 45 (+10), ..."."""
    delta = new_score - (old_score or 0)
    top = ", ".join(f"{r['code']} {r['points']:+d}" for r in reasons[:3] if r.get("points"))
    return (
        f"automation:scoring ({cause}) {old_score} → {new_score} ({delta:+d})"
        + (f", stage {old_stage} → {new_stage}" if old_stage != new_stage else "")
        + (f", variant {variant}" if variant else "")
        + (f"; {top}" if top else "")
    )[:1000]


SCORE_FIELDS = ["fit_score", "engagement_score", "score", "band", "stage", "score_reasons", "predicted_probability",
                "scored_at"]


@dataclass
class _Scoring:
    """One lead being scored: what ``lead_score`` works out before the engine runs, then its result."""

    lead: Lead
    cause: str
    values: dict[str, Any]
    config: SegmentConfig
    variant: str
    model: ScoringModel
    compiled: CompiledModel
    prediction: PredictionView | None
    result: ScoreResult | None = None
    changed: bool = False
    old_score: int | None = None
    old_stage: str = ""
    reason: str = ""
    change: ScoreChange | None = None


def _prepared(lead: Lead, cause: str, now: datetime) -> _Scoring:
    """The configuration of the lead's segment, its A/B variant and, when the segment has an active predictive
    model, its win probability."""
    values = lead_values(lead)
    config = config_for(values)
    variant = config.variant(lead.pk)
    model, compiled = config.for_variant(variant)
    prediction = None
    if config.predictive is not None:
        probabilities, features = predictions_for(config.predictive, [lead.pk], now)
        prediction = PredictionView(float(probabilities[0]), features[0], config.predictive.version)
    return _Scoring(lead, cause, values, config, variant, model, compiled, prediction)


def _scored(scoring: _Scoring, events: list[EventView], now: datetime) -> None:
    """Run the engine; when any of score, band, stage, probability or reasons changed, set them on the lead and
    build its history reason and ScoreChange row (the caller writes them)."""
    lead = scoring.lead
    result = scoring.result = score_lead(scoring.compiled, scoring.values, events, now, current_stage=lead.stage,
                                         prediction=scoring.prediction)
    scoring.old_score, scoring.old_stage = lead.score, lead.stage
    scoring.changed = (
        lead.score != result.score
        or lead.fit_score != result.fit
        or lead.engagement_score != result.engagement
        or lead.band != result.band
        or lead.stage != result.stage
        or lead.score_reasons != result.reasons
        or lead.predicted_probability != result.probability
    )
    if not scoring.changed:
        return
    lead.fit_score, lead.engagement_score, lead.score = result.fit, result.engagement, result.score
    lead.band, lead.stage, lead.score_reasons = result.band, result.stage, result.reasons
    lead.predicted_probability = result.probability
    lead.scored_at = now
    scoring.reason = change_reason(scoring.cause, scoring.old_score, result.score, scoring.old_stage, result.stage,
                                   result.reasons, scoring.variant)
    experiment = scoring.config.experiment
    scoring.change = instance_new(ScoreChange, dict(
        lead_id=lead.pk, model_id=scoring.model.pk, at=now, cause=scoring.cause[:60], old_score=scoring.old_score,
        new_score=result.score, delta=result.score - (scoring.old_score or 0), fit_score=result.fit,
        engagement_score=result.engagement, band=result.band, old_stage=scoring.old_stage, new_stage=result.stage,
        reasons=result.reasons, experiment_id=experiment.pk if scoring.variant and experiment else None,
        variant=scoring.variant,
    ))


def _announced(scoring: _Scoring, now: datetime) -> None:
    """Fire the triggers the change earns (its ScoreChange row written already: hot counts it), send
    ``lead_scored`` (also when nothing changed, so a lead that was never routed is routed)."""
    triggers_fire_many(_earned(scoring, now))
    _scored_announced(scoring)


def _earned(scoring: _Scoring, now: datetime) -> list[ScoreTrigger]:
    result = scoring.result
    delta = result.score - (scoring.old_score or 0)
    return lead_triggers_earned(lead=scoring.lead, model=scoring.model, old_stage=scoring.old_stage, result=result,
                                delta=delta if scoring.changed else 0, cause=scoring.cause, now=now,
                                first_score=scoring.old_score is None)


def _scored_announced(scoring: _Scoring) -> None:
    lead, result = scoring.lead, scoring.result
    lead_scored.send(sender=Lead, lead_id=lead.pk, changed=scoring.changed, old_stage=scoring.old_stage,
                     new_stage=result.stage, old_score=scoring.old_score, new_score=result.score,
                     placement=(lead.owner_id, lead.queue, lead.merged_into_id))


def lead_score(*, lead_id: int, cause: str = "rescore", now: datetime | None = None) -> ScoreResult:
    """Compute a lead's score and store it when it changed.

    Steps: pick the configuration of the lead's segment and the lead's A/B variant; predict its win probability
    when the segment has an active predictive model; run the engine over the lead's fields and events; when any of
    score, band, stage, probability or reasons changed, write them with history and a ScoreChange row; fire the
    triggers the change earns (threshold crossings, hot, high intent); send ``lead_scored`` (also when
    nothing changed, so a lead that was never routed is routed).
    """
    now = now or timezone.now()
    with transaction.atomic():
        scoring = _prepared(lead_locked(lead_id=lead_id), cause, now)
        _scored(scoring, lead_events_for_scoring(lead_id, scoring.compiled), now)
        if scoring.changed:
            lead_save_with_history(scoring.lead, SCORE_FIELDS, reason=scoring.reason)
            bulk_insert([scoring.change])
        _announced(scoring, now)
    return scoring.result


def leads_score_each(*, steps: list[tuple[int, str]], now: datetime | None = None) -> None:
    """``lead_score`` for each ``(lead id, cause)`` of a drained micro-batch, in one transaction and in ascending
    lead id: the same scores, history rows, ScoreChange rows, triggers and ``lead_scored`` for each lead, with the
    leads locked in one statement, their events read in one per set of event types, the changed leads and their
    history rows written by one prepared statement each and their ScoreChange rows in one insert (before the
    triggers, which count them), the triggers of all the leads in one insert, then ``lead_scored`` for each. A lead
    that is gone raises ``Lead.DoesNotExist``, as ``lead_score`` does."""
    now = now or timezone.now()
    steps = sorted(steps)
    with transaction.atomic():
        locked = leads_locked(lead_ids=[lead_id for lead_id, _ in steps])
        gone = [lead_id for lead_id, _ in steps if lead_id not in locked]
        if gone:
            raise Lead.DoesNotExist(f"Lead {gone[0]} does not exist.")
        scorings = [_prepared(locked[lead_id], cause, now) for lead_id, cause in steps]
        events = leads_events_for_scoring(scorings)
        for scoring in scorings:
            _scored(scoring, events.get(scoring.lead.pk, []), now)
        changed = [scoring for scoring in scorings if scoring.changed]
        leads_save_with_history([scoring.lead for scoring in changed], SCORE_FIELDS,
                                reasons=[scoring.reason for scoring in changed])
        bulk_insert([scoring.change for scoring in changed])
        triggers_fire_many([trigger for scoring in scorings for trigger in _earned(scoring, now)])
        for scoring in scorings:
            _scored_announced(scoring)


def leads_events_for_scoring(scorings: list[_Scoring]) -> dict[int, list[EventView]]:
    """:func:`lead_events_for_scoring` for each lead of a batch, by lead id: one query per set of event types the
    leads' models score, each lead's newest ``EVENTS_CONSIDERED`` events (a window over the lead's events)."""
    by_types: dict[tuple[str, ...], list[int]] = {}
    for scoring in scorings:
        types = tuple(sorted({rule.event_type for rule in scoring.compiled.engagement_rules}))
        if types:
            by_types.setdefault(types, []).append(scoring.lead.pk)
    events: dict[int, list[EventView]] = {}
    for types, lead_ids in by_types.items():
        rows = (LeadEvent.objects.filter(lead_id__in=lead_ids, type__in=types)
                .annotate(newest=Window(RowNumber(), partition_by=[F("lead_id")], order_by=F("occurred_at").desc()))
                .filter(newest__lte=EVENTS_CONSIDERED).order_by("lead_id", "-occurred_at")
                .values_list("lead_id", "type", "occurred_at", "properties"))
        for lead_id, event_type, occurred_at, properties in rows:
            events.setdefault(lead_id, []).append(EventView(event_type, occurred_at, properties or {}))
    return events


def lead_score_failed(lead_id: int, workflow: str, message: str) -> None:
    """Scoring failed: the score is left null (never a stale score to route on) and the lead goes to review."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().filter(pk=lead_id).first()
        if lead is None:
            return
        lead.score = lead.fit_score = lead.engagement_score = None
        lead.band = ""
        lead.score_reasons = [{"code": "scoring_failed", "label": message[:200], "points": 0}]
        lead._change_reason = f"automation:scoring failed: {message}"[:1000]
        lead.save(update_fields=["score", "fit_score", "engagement_score", "band", "score_reasons", "updated_at"])
    lead_send_to_review(lead_id, workflow, message)


__all__ = ["change_reason", "lead_events_for_scoring", "lead_score", "lead_score_failed", "lead_values",
           "leads_events_for_scoring", "leads_score_each"]
