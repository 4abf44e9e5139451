"""Business logic of the scoring layer that writes: score a lead, record the change, announce it."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.db import transaction
from django.utils import timezone

from leads.models import Lead, LeadEvent
from revops.jobs import enqueue_after_commit

from .choices import ModelStatus
from .conditions import compile_condition, lead_field_value
from .engine import CompiledModel, EventView, ScoreResult, compile_model, score_lead
from .models import SCORABLE_FIELDS, ScoreChange, ScoringModel
from .signals_defs import lead_scored

CONFIG_TTL_SECONDS = 5.0
EVENTS_CONSIDERED = 2000  # the newest events of a lead that count; older ones have decayed to nothing

_config_lock = threading.Lock()
_config_cache: dict[str, Any] = {"at": 0.0, "models": None}


class ScoringError(Exception):
    """A lead cannot be scored (no active model for its segment, a broken rule)."""


def scoring_config_clear() -> None:
    """Forget compiled models (called when a model or rule is saved in this process)."""
    with _config_lock:
        _config_cache["models"] = None


def active_models() -> list[tuple[ScoringModel, Any, CompiledModel]]:
    """Active models in segment priority order with their compiled segment test and rules.

    Cached per process for a few seconds: an admin edit takes effect within CONFIG_TTL_SECONDS in every worker
    (at once in the process that made it).
    """
    now = time.monotonic()
    with _config_lock:
        cached = _config_cache["models"]
        if cached is not None and now - _config_cache["at"] < CONFIG_TTL_SECONDS:
            return cached
    models = []
    for model in ScoringModel.objects.filter(status=ModelStatus.ACTIVE).prefetch_related("rules"):
        segment_test = (
            compile_condition(model.segment_operator, model.segment_value) if model.segment_operator else None
        )
        models.append((model, segment_test, compile_model(model, list(model.rules.all()))))
    with _config_lock:
        _config_cache.update(at=now, models=models)
    return models


def lead_values(lead: Lead) -> dict[str, Any]:
    """The lead fields rules and segments read, as a plain dict."""
    values = {name: getattr(lead, name) for name in SCORABLE_FIELDS}
    values["custom"] = lead.custom or {}
    values["stage"] = lead.stage
    return values


def model_for(values: dict[str, Any]) -> tuple[ScoringModel, CompiledModel]:
    """The active model of the first segment (by priority) the lead belongs to."""
    for model, segment_test, compiled in active_models():
        if segment_test is None or segment_test(lead_field_value(values, model.segment_field)):
            return model, compiled
    raise ScoringError("no active scoring model matches this lead's segment")


def lead_events_for_scoring(lead_id: int) -> list[EventView]:
    rows = LeadEvent.objects.filter(lead_id=lead_id).order_by("-occurred_at").values_list(
        "type", "occurred_at", "properties"
    )[:EVENTS_CONSIDERED]
    return [EventView(t, at, props or {}) for t, at, props in rows]


def lead_score(*, lead_id: int, cause: str = "rescore") -> ScoreResult:
    """Compute a lead's score and store it when it changed.

    Steps: pick the model of the lead's segment; run the engine over the lead's fields and events; when any of
    score, band, stage or reasons changed, write them with history and a ScoreChange row; send ``lead_scored``
    after commit (also when nothing changed, so a lead that was never routed is routed).
    """
    now = timezone.now()
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        values = lead_values(lead)
        model, compiled = model_for(values)
        result = score_lead(compiled, values, lead_events_for_scoring(lead_id), now, current_stage=lead.stage)
        old_score, old_stage = lead.score, lead.stage
        changed = (
            lead.score != result.score
            or lead.fit_score != result.fit
            or lead.engagement_score != result.engagement
            or lead.band != result.band
            or lead.stage != result.stage
            or lead.score_reasons != result.reasons
        )
        if changed:
            lead.fit_score, lead.engagement_score, lead.score = result.fit, result.engagement, result.score
            lead.band, lead.stage, lead.score_reasons = result.band, result.stage, result.reasons
            lead.scored_at = now
            delta = result.score - (old_score or 0)
            top = ", ".join(f"{r['code']} {r['points']:+d}" for r in result.reasons[:3])
            lead._change_reason = (
                f"automation:scoring ({cause}) {old_score} → {result.score} ({delta:+d})"
                + (f", stage {old_stage} → {result.stage}" if old_stage != result.stage else "")
                + (f"; {top}" if top else "")
            )[:1000]
            lead.save(update_fields=["fit_score", "engagement_score", "score", "band", "stage", "score_reasons",
                                     "scored_at", "updated_at"])
            ScoreChange.objects.create(
                lead=lead, model=model, at=now, cause=cause[:60], old_score=old_score, new_score=result.score,
                delta=delta, fit_score=result.fit, engagement_score=result.engagement, band=result.band,
                old_stage=old_stage, new_stage=result.stage, reasons=result.reasons,
            )
        new_stage = result.stage
        transaction.on_commit(
            lambda: lead_scored.send(
                sender=Lead, lead_id=lead_id, changed=changed, old_stage=old_stage, new_stage=new_stage,
                old_score=old_score, new_score=result.score,
            )
        )
    return result


def lead_score_failed(lead_id: int, workflow: str, message: str) -> None:
    """Scoring failed: the score is left null (never a stale score to route on) and the lead goes to review."""
    from leads.services import lead_send_to_review

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


def lead_score_schedule(lead_id: int, cause: str) -> None:
    """Score the lead after the current transaction commits."""
    from .jobs import lead_score_job

    enqueue_after_commit(lead_score_job, lead_id, cause)


def leads_score_unscored_schedule() -> int:
    """Score every live lead that has no score yet (after the scoring switch comes back on)."""
    ids = list(Lead.objects.live().filter(score__isnull=True, scored_at__isnull=True).values_list("pk", flat=True))
    with transaction.atomic():
        for pk in ids:
            lead_score_schedule(pk, "scoring resumed")
    return len(ids)


def leads_rescore_schedule(*, cause: str, only_unscored: bool = False) -> int:
    """Schedule re-scoring of every live lead (after a model change)."""
    queryset = Lead.objects.live()
    if only_unscored:
        queryset = queryset.filter(score__isnull=True)
    ids = list(queryset.values_list("pk", flat=True))
    with transaction.atomic():
        for pk in ids:
            lead_score_schedule(pk, cause)
    return len(ids)


def leads_decay(*, batch_size: int = 500) -> str:
    """Re-score, in place, every live lead whose engagement can still decay; returns a summary.

    Scores are computed from event ages, so re-scoring *is* the decay: a lead whose points fell below a threshold
    moves down a stage, with the usual history, score-change log and downstream signals.
    """
    ids = list(
        Lead.objects.live().filter(engagement_score__gt=0).order_by("pk").values_list("pk", flat=True)
    )
    changed = 0
    for start in range(0, len(ids), batch_size):
        for lead_id in ids[start:start + batch_size]:
            before = Lead.objects.filter(pk=lead_id).values_list("score", flat=True).first()
            result = lead_score(lead_id=lead_id, cause="decay")
            changed += int(result.score != before)
    return f"decayed {len(ids)} leads, {changed} changed score"
