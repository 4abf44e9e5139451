"""Score one lead: record the change, fire its triggers, announce it. The per-lead path of the pipeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from leads.models import Lead, LeadEvent
from leads.selectors import lead_locked
from leads.services import lead_send_to_review
from leads.writes import lead_save_with_history
from revops.base.db.instances import instance_new
from revops.base.db.sql import bulk_insert, rows_compiled_once

from ..engine import CompiledModel, EventView, PredictionView, ScoreResult, score_lead
from ..loaders import EVENTS_CONSIDERED
from ..models import SCORABLE_FIELDS, ScoreChange
from ..selectors import config_for
from ..signals import lead_scored
from .predictions import predictions_for
from .triggers import lead_triggers_after_score


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
        lead = lead_locked(lead_id=lead_id)
        values = lead_values(lead)
        config = config_for(values)
        variant = config.variant(lead_id)
        model, compiled = config.for_variant(variant)
        prediction = None
        if config.predictive is not None:
            probabilities, features = predictions_for(config.predictive, [lead_id], now)
            prediction = PredictionView(float(probabilities[0]), features[0], config.predictive.version)
        result = score_lead(compiled, values, lead_events_for_scoring(lead_id, compiled), now,
                            current_stage=lead.stage, prediction=prediction)
        old_score, old_stage = lead.score, lead.stage
        changed = (
            lead.score != result.score
            or lead.fit_score != result.fit
            or lead.engagement_score != result.engagement
            or lead.band != result.band
            or lead.stage != result.stage
            or lead.score_reasons != result.reasons
            or lead.predicted_probability != result.probability
        )
        delta = result.score - (old_score or 0)
        if changed:
            lead.fit_score, lead.engagement_score, lead.score = result.fit, result.engagement, result.score
            lead.band, lead.stage, lead.score_reasons = result.band, result.stage, result.reasons
            lead.predicted_probability = result.probability
            lead.scored_at = now
            lead_save_with_history(
                lead, ["fit_score", "engagement_score", "score", "band", "stage", "score_reasons",
                       "predicted_probability", "scored_at"],
                reason=change_reason(cause, old_score, result.score, old_stage, result.stage, result.reasons, variant),
            )
            bulk_insert([instance_new(ScoreChange, dict(
                lead_id=lead.pk, model_id=model.pk, at=now, cause=cause[:60], old_score=old_score,
                new_score=result.score, delta=delta, fit_score=result.fit, engagement_score=result.engagement,
                band=result.band, old_stage=old_stage, new_stage=result.stage, reasons=result.reasons,
                experiment_id=config.experiment.pk if variant and config.experiment else None, variant=variant,
            ))])
        lead_triggers_after_score(lead=lead, model=model, old_stage=old_stage, result=result,
                                  delta=delta if changed else 0, cause=cause, now=now,
                                  first_score=old_score is None)
        new_stage = result.stage
        lead_scored.send(sender=Lead, lead_id=lead_id, changed=changed, old_stage=old_stage, new_stage=new_stage,
                         old_score=old_score, new_score=result.score)
    return result


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


__all__ = ["change_reason", "lead_events_for_scoring", "lead_score", "lead_score_failed", "lead_values"]
