"""The live scoring configuration: per segment, the active model, its running experiment and predictive model.

Compiled once and cached per process for a few seconds: an admin edit takes effect within CONFIG_TTL_SECONDS in
every worker (at once in the process that made it). Predictive artefacts are loaded once per process and model.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..choices import ModelStatus, PredictiveStatus, Variant
from ..conditions import compile_condition, lead_field_value
from ..engine import CompiledModel, compile_model, with_thresholds
from ..experiments import variant_for
from ..models import PredictiveModel, ScoringExperiment, ScoringModel
from ..predictive import ModelVersionError, TrainedModel

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
