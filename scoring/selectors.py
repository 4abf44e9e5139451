"""Business logic of the scoring layer that only reads: the live configuration, model preview, experiment report,
feedback report.

The live configuration (per segment, the active model, its running experiment and predictive model) is compiled
once and cached per process for a few seconds: an admin edit takes effect within CONFIG_TTL_SECONDS in every worker
(at once in the process that made it). Predictive artefacts are loaded once per process and model.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.db.models import Count
from django.utils import timezone

from leads.choices import Outcome, Stage
from leads.models import Lead

from .bulk_engine import LeadColumns, evaluate, score_batch
from .choices import Band, FeedbackReason, ModelStatus, PredictiveStatus, Variant
from .conditions import compile_condition, lead_field_value
from .engine import CompiledModel, compile_model, with_thresholds
from .experiments import variant_for
from .loaders import STORED, event_scope, load_events, load_lead_columns
from .models import PredictiveModel, ScoreChange, ScoreFeedback, ScoringExperiment, ScoringModel
from .predictive import ModelVersionError, TrainedModel

logger = logging.getLogger(__name__)

CONFIG_TTL_SECONDS = 5.0

_lock = threading.Lock()
_cache: dict[str, Any] = {"at": 0.0, "configs": None}
# Keyed by id and training time: ids can come back (a test database rolled back), a training never does.
_artefacts: dict[tuple[int, str], TrainedModel | None] = {}


class ScoringError(Exception):
    """A lead cannot be scored (no active model for its segment, a broken rule)."""


@dataclass
class LoadedPredictive:
    """An active predictive model, ready to predict."""

    id: int
    segment: str
    version: int
    trained: TrainedModel


@dataclass
class SegmentConfig:
    """Everything that scores the leads of one segment."""

    model: ScoringModel
    segment_test: Callable[[Any], bool] | None
    compiled: CompiledModel
    experiment: ScoringExperiment | None = None
    model_b: ScoringModel | None = None
    compiled_b: CompiledModel | None = None
    predictive: LoadedPredictive | None = None

    @property
    def segment(self) -> str:
        return self.model.segment

    def matches(self, values: dict[str, Any]) -> bool:
        return self.segment_test is None or bool(self.segment_test(lead_field_value(values, self.model.segment_field)))

    def variant(self, lead_id: int) -> str:
        """The lead's variant in the running experiment ("" without one)."""
        if self.experiment is None:
            return Variant.NONE
        return variant_for(self.experiment.pk, self.experiment.split_percent, lead_id)

    def for_variant(self, variant: str) -> tuple[ScoringModel, CompiledModel]:
        """The model row and compiled model that score a lead of this variant."""
        if variant == Variant.B and self.compiled_b is not None:
            return self.model_b or self.model, self.compiled_b
        return self.model, self.compiled


def scoring_config_clear() -> None:
    """Forget the compiled configuration (called when a model, rule, experiment or predictive model is saved)."""
    with _lock:
        _cache["configs"] = None


def _compile(model: ScoringModel) -> CompiledModel:
    return compile_model(model, list(model.rules.all()))


def _predictive(row: PredictiveModel) -> LoadedPredictive | None:
    """Load an active predictive model's artefact (once per process); None when it cannot be used."""
    key = (row.pk, row.trained_at.isoformat() if row.trained_at else "")
    if key not in _artefacts:
        data = PredictiveModel.objects.filter(pk=row.pk).values_list("artefact", flat=True).first()
        try:
            _artefacts[key] = TrainedModel.from_bytes(bytes(data)) if data else None
        except ModelVersionError:
            logger.exception("predictive model %s cannot be loaded; scoring goes on without it", row.pk)
            _artefacts[key] = None
    trained = _artefacts[key]
    return None if trained is None else LoadedPredictive(row.pk, row.segment, row.version, trained)


def scoring_config(*, fresh: bool = False) -> list[SegmentConfig]:
    """Active models in segment priority order, each with its experiment and predictive model.

    A predictive model of the segment wins over one for every segment (segment empty).
    """
    now = time.monotonic()
    if not fresh:
        with _lock:
            cached = _cache["configs"]
            if cached is not None and now - _cache["at"] < CONFIG_TTL_SECONDS:
                return cached
    experiments = {
        e.segment: e for e in ScoringExperiment.objects.filter(active=True).select_related("variant_b_model")
    }
    predictive = {
        p.segment: p for p in PredictiveModel.objects.filter(status=PredictiveStatus.ACTIVE).defer("artefact")
    }
    configs = []
    for model in ScoringModel.objects.filter(status=ModelStatus.ACTIVE).prefetch_related("rules"):
        segment_test = (
            compile_condition(model.segment_operator, model.segment_value) if model.segment_operator else None
        )
        config = SegmentConfig(model=model, segment_test=segment_test, compiled=_compile(model))
        experiment = experiments.get(model.segment)
        if experiment is not None:
            config.experiment = experiment
            base = config.compiled
            if experiment.variant_b_model_id:
                config.model_b = experiment.variant_b_model
                base = _compile(experiment.variant_b_model)
            config.compiled_b = with_thresholds(base, experiment.threshold_overrides())
        row = predictive.get(model.segment) or predictive.get("")
        if row is not None:
            config.predictive = _predictive(row)
        configs.append(config)
    with _lock:
        _cache.update(at=now, configs=configs)
    return configs


def config_for(values: dict[str, Any], configs: list[SegmentConfig] | None = None) -> SegmentConfig:
    """The configuration of the first segment (by priority) the lead belongs to."""
    for config in configs if configs is not None else scoring_config():
        if config.matches(values):
            return config
    raise ScoringError("no active scoring model matches this lead's segment")


def configs_assign(configs: list[SegmentConfig], values: dict[str, list], n: int) -> np.ndarray:
    """Index of each lead's configuration (first segment by priority that takes it), -1 for none: ``config_for``
    for the columns of ``n`` leads (``values`` holds at least the segment fields)."""
    assigned = np.full(n, -1, dtype=np.int64)
    open_ = np.ones(n, dtype=bool)
    for k, config in enumerate(configs):
        if config.segment_test is None:
            assigned[open_] = k
            break
        column = values[config.model.segment_field] if config.model.segment_field in values else [None] * n
        takes = open_ & evaluate(config.segment_test, column,
                                 exact_types=config.model.segment_field.startswith("custom:"))
        assigned[takes] = k
        open_ &= ~takes
    return assigned


PREVIEW_SCAN_LIMIT = 50_000
QUALIFIED = (Stage.MQL, Stage.SQL)
BAND_ORDER = [Band.A.value, Band.B.value, Band.C.value, Band.D.value, ""]
STAGE_ORDER = list(Stage.values)


def _matrix(pairs: Counter, order: list[str]) -> dict[str, Any]:
    """A from→to table for a template: the values that occur, in order, and the count of each pair."""
    present = [v for v in order if any(v in pair for pair in pairs)] + sorted(
        {v for pair in pairs for v in pair} - set(order))
    return {"labels": [v or "—" for v in present],
            "rows": [(a or "—", [pairs.get((a, b), 0) for b in present]) for a in present]}


def scoring_model_preview(*, model_id: int, last_n: int = 500, now: datetime | None = None,
                          sample_size: int = 20) -> dict[str, Any]:
    """What activating this model would do to the last ``last_n`` leads of its segment. Writes nothing.

    Steps: 1) compile the model and put it in its segment's place among the active models (so segment priorities
    decide as they would after activation); 2) walk the newest live leads until ``last_n`` belong to it; 3) score
    them with the vectorized engine (stored win probabilities, no experiment); 4) compare with their stored score,
    band and stage: counts, from→to matrices and a sample of leads that move.
    """
    now = now or timezone.now()
    model = ScoringModel.objects.get(pk=model_id)
    compiled = compile_model(model, list(model.rules.all()))
    segment_test = compile_condition(model.segment_operator, model.segment_value) if model.segment_operator else None
    candidate = SegmentConfig(model=model, segment_test=segment_test, compiled=compiled)
    configs = [c for c in scoring_config(fresh=True) if c.segment != model.segment] + [candidate]
    configs.sort(key=lambda c: (c.model.segment_priority, c.model.segment, -c.model.version))
    own = configs.index(candidate)
    fields = sorted({r.field for r in compiled.fit_rules} | {c.model.segment_field for c in configs
                                                             if c.model.segment_field} - set(STORED))
    recent = Lead.objects.live().order_by("-created_at", "-id").values_list("id", flat=True)
    chosen: list[int] = []
    for offset in range(0, PREVIEW_SCAN_LIMIT, 2000):
        batch = list(recent[offset:offset + 2000])
        if not batch:
            break
        ids, values = load_lead_columns(Lead.objects.filter(pk__in=batch), fields)
        members = ids[configs_assign(configs, values, int(ids.size)) == own]
        order = {pk: k for k, pk in enumerate(batch)}
        chosen.extend(sorted(members.tolist(), key=order.__getitem__)[:last_n - len(chosen)])
        if len(chosen) >= last_n:
            break
    ids, stored = load_lead_columns(Lead.objects.filter(pk__in=chosen), [*STORED, *fields, "first_name",
                                                                         "last_name", "email"])
    leads = LeadColumns(ids=ids, stage=stored["stage"], consent=stored["consent"],
                        values={name: stored[name] for name in fields},
                        probability=np.array([np.nan if p is None else p for p in stored["predicted_probability"]],
                                             dtype=np.float64))
    types, property_types, property_keys = event_scope([compiled])
    events = load_events(ids, types=types, property_types=property_types, property_keys=property_keys)
    result = score_batch(compiled, leads, events, now)
    bands, stages, sample = Counter(), Counter(), []
    before_scores = [s for s in stored["score"] if s is not None]
    for i in range(int(ids.size)):
        old_band, new_band = stored["band"][i] or "", str(result.band[i])
        old_stage, new_stage = stored["stage"][i], str(result.stage[i])
        bands[(old_band, new_band)] += 1
        stages[(old_stage, new_stage)] += 1
        if (old_band != new_band or old_stage != new_stage) and len(sample) < sample_size:
            name = f"{stored['first_name'][i]} {stored['last_name'][i]}".strip() or stored["email"][i]
            sample.append({"id": int(ids[i]), "name": name, "old_score": stored["score"][i],
                           "new_score": int(result.score[i]), "old_band": old_band, "new_band": new_band,
                           "old_stage": old_stage, "new_stage": new_stage,
                           "top_reasons": ", ".join(f"{r['code']} {r['points']:+d}" for r in result.reasons(i)[:3])})
    return {
        "model": model,
        "compared": int(ids.size),
        "requested": last_n,
        "band_changed": sum(n for (a, b), n in bands.items() if a != b),
        "stage_changed": sum(n for (a, b), n in stages.items() if a != b),
        "band_matrix": _matrix(bands, BAND_ORDER),
        "stage_matrix": _matrix(stages, STAGE_ORDER),
        "qualified_before": sum(1 for s in stored["stage"] if s in QUALIFIED),
        "qualified_after": int(sum(1 for s in result.stage.tolist() if s in QUALIFIED)),
        "mean_score_before": round(sum(before_scores) / len(before_scores), 1) if before_scores else None,
        "mean_score_after": round(float(result.score.mean()), 1) if ids.size else None,
        "sample": sample,
        "at": now,
    }


def experiment_report(experiment_id: int) -> dict[str, Any]:
    """Per variant: leads scored under the experiment, how many reached MQL and SQL, and how many were won or lost.

    A lead counts for its variant once any score change under the experiment was logged for it; it "reached MQL"
    when one of those changes left it MQL or SQL. Conversion = won / leads; win rate = won / (won + lost).
    """
    experiment = ScoringExperiment.objects.select_related("variant_b_model").get(pk=experiment_id)
    logged = ScoreChange.objects.filter(experiment=experiment)
    variants = []
    for variant in (Variant.A, Variant.B):
        lead_ids = logged.filter(variant=variant).values("lead_id")
        leads = Lead.objects.filter(pk__in=lead_ids)
        total = leads.count()
        mql = logged.filter(variant=variant, new_stage__in=QUALIFIED).aggregate(n=Count("lead", distinct=True))["n"]
        sql = logged.filter(variant=variant, new_stage=Stage.SQL).aggregate(n=Count("lead", distinct=True))["n"]
        outcomes = dict(leads.values_list("outcome").annotate(n=Count("id")))
        won, lost = outcomes.get(Outcome.WON, 0), outcomes.get(Outcome.LOST, 0)
        variants.append({
            "variant": variant.value, "label": variant.label, "leads": total, "mql": mql, "sql": sql, "won": won,
            "lost": lost, "mql_rate": mql / total if total else None, "sql_rate": sql / total if total else None,
            "conversion": won / total if total else None, "win_rate": won / (won + lost) if won + lost else None,
        })
    return {"experiment": experiment, "variants": variants,
            "expected_b_share": experiment.split_percent / 100,
            "observed_b_share": (variants[1]["leads"] / (variants[0]["leads"] + variants[1]["leads"])
                                 if variants[0]["leads"] + variants[1]["leads"] else None)}


def score_feedback_report(*, since: datetime | None = None) -> dict[str, Any]:
    """'Score is wrong' flags: per reason, per band and reason, consumed by a training or pending, the newest."""
    feedback = ScoreFeedback.objects.all()
    if since is not None:
        feedback = feedback.filter(created_at__gte=since)
    by_reason = dict(feedback.values_list("reason").annotate(n=Count("id")))
    by_band: dict[str, dict[str, int]] = {}
    for band, reason, n in feedback.values_list("band", "reason").annotate(n=Count("id")):
        by_band.setdefault(band or "—", {})[reason] = n
    reasons = FeedbackReason.values
    return {
        "total": sum(by_reason.values()),
        "reasons": [(FeedbackReason(r).label, by_reason.get(r, 0)) for r in reasons],
        "reason_labels": [FeedbackReason(r).label for r in reasons],
        "by_band": [(band, [by_band[band].get(r, 0) for r in reasons]) for band in sorted(by_band)],
        "pending": feedback.filter(consumed_by__isnull=True).count(),
        "consumed": feedback.filter(consumed_by__isnull=False).count(),
        "recent": list(feedback.select_related("lead", "user", "consumed_by")[:20]),
    }
