"""Set-based rescoring: the daily decay, ``rescore_leads`` and rescoring after a model or predictive activation.

A chunk of leads at a time (ids ``[start, start + chunk)``):

1. read the leads as columns and their scored events (``scoring.loaders``);
2. give each lead its segment's configuration and its A/B variant, and, where the segment has an active predictive
   model, its win probability (one batch prediction);
3. score every group with the vectorized engine (``scoring.bulk_engine``: the per-lead engine's numbers);
4. keep the leads whose score, fit, engagement, band, stage or probability changed, and write them with **one**
   ``UPDATE ... FROM`` a temporary table, conditional on ``scored_at`` being what was read (a lead the per-lead
   scorer touched in between is left to it: optimistic concurrency, no long locks);
5. log one ``ScoreChange`` row per changed lead (the audit record of a score-only change: lead history rows are
   written only for stage changes, see docs/scoring.md), and for stage changes also the lead's history row, the
   crossing triggers and ``lead_scored``.

Running it twice with the same ``now`` changes nothing the second time.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from leads.models import Lead
from leads.writes import leads_history_record, leads_scores_write
from revops.base.db.instances import instance_new

from ..bulk_engine import EventColumns, LeadColumns, score_batch
from ..choices import Variant
from ..experiments import variant_buckets
from ..loaders import STORED, event_scope, load_events, load_lead_columns
from ..models import ScoreTrigger
from ..selectors import SegmentConfig, configs_assign, scoring_config
from ..signals import lead_scored, leads_scored_many
from ..writes import score_changes_insert
from .lead_scoring import change_reason
from .predictions import predictions_for
from .triggers import crossings, day_key, triggers_fire_many

CHUNK_SIZE = 20_000
_NONE = -(2**62)  # stands for NULL in integer comparisons


@dataclass
class BulkSummary:
    """What a set-based run did."""

    cause: str
    considered: int = 0
    changed: int = 0
    stage_changes: int = 0
    triggers: int = 0
    skipped_no_model: int = 0
    skipped_concurrent: int = 0
    seconds: float = 0.0
    stages: dict[str, int] = field(default_factory=dict)
    # (lead id, old stage, new stage) of every stage change, kept when they are announced together
    moves: list[tuple[int, str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        moves = ", ".join(f"{k} {v}" for k, v in sorted(self.stages.items()))
        return (f"{self.cause}: {self.considered} leads scored, {self.changed} changed, {self.stage_changes} stage "
                f"changes{f' ({moves})' if moves else ''}, {self.triggers} triggers, {self.skipped_no_model} "
                f"without a model, {self.skipped_concurrent} left to a concurrent scoring, {self.seconds:.1f} s")


def _fields_needed(configs: list[SegmentConfig]) -> list[str]:
    names: dict[str, None] = {}
    for config in configs:
        if config.model.segment_field:
            names[config.model.segment_field] = None
        for compiled in (config.compiled, config.compiled_b):
            for rule in compiled.fit_rules if compiled else ():
                names[rule.field] = None
    return [n for n in names if n not in STORED]


def _int_column(values: Iterable) -> np.ndarray:
    return np.fromiter((_NONE if v is None else v for v in values), dtype=np.int64)


def _probability_column(values: Iterable) -> np.ndarray:
    return np.fromiter((np.nan if v is None else v for v in values), dtype=np.float64)


@dataclass
class _Changes:
    """Rows to write for one chunk."""

    updates: list[tuple] = field(default_factory=list)
    logs: dict[int, tuple] = field(default_factory=dict)
    stage_moves: dict[int, tuple[str, str, int | None, int, str, list, int]] = field(default_factory=dict)


def _collect(result, leads: LeadColumns, positions: np.ndarray, stored: dict[str, list], config: SegmentConfig,
             variant: str, model_id: int, cause: str, now_db, changes: _Changes) -> None:
    """Compare one group's scores with what is stored; queue the writes of the leads that changed."""
    at = positions.tolist()
    old_score = _int_column(stored["score"][p] for p in at)
    old_fit = _int_column(stored["fit_score"][p] for p in at)
    old_engagement = _int_column(stored["engagement_score"][p] for p in at)
    old_band = np.array([stored["band"][p] for p in at], dtype=object)
    old_stage = np.array([stored["stage"][p] for p in at], dtype=object)
    old_probability = _probability_column(stored["predicted_probability"][p] for p in at)
    probability = result.probability
    same_probability = (probability == old_probability) | (np.isnan(probability) & np.isnan(old_probability))
    changed = np.flatnonzero((result.score != old_score) | (result.fit != old_fit)
                             | (result.engagement != old_engagement) | (result.band != old_band)
                             | (result.stage != old_stage) | ~same_probability)
    if changed.size == 0:
        return
    experiment_id = config.experiment.pk if variant else None
    ids = leads.ids[changed].tolist()
    fits, engagements = result.fit[changed].tolist(), result.engagement[changed].tolist()
    scores, bands = result.score[changed].tolist(), result.band[changed].tolist()
    stages = result.stage[changed].tolist()
    befores = [None if v == _NONE else v for v in old_score[changed].tolist()]
    old_stages = old_stage[changed].tolist()
    probabilities = [None if p != p else p for p in probability[changed].tolist()]
    versions = [stored["scored_at"][at[i]] for i in changed.tolist()]  # as read: the version check
    texts, lists = result.reasons_json(changed)
    cause = cause[:60]
    for k, lead_id in enumerate(ids):
        score, stage, before = scores[k], stages[k], befores[k]
        changes.updates.append((lead_id, versions[k], fits[k], engagements[k], score, bands[k], stage, texts[k],
                                probabilities[k]))
        changes.logs[lead_id] = (lead_id, model_id, now_db, cause, before, score, score - (before or 0), fits[k],
                                 engagements[k], bands[k], old_stages[k], stage, texts[k], experiment_id, variant)
        if stage != old_stages[k]:
            changes.stage_moves[lead_id] = (old_stages[k], stage, before, score, variant, lists[k], model_id)


def _write(changes: _Changes, cause: str, now: datetime, summary: BulkSummary, announce_each: bool = True) -> None:
    """Apply one chunk's changes in one short transaction (see the module docstring, steps 4 and 5)."""
    if not changes.updates:
        return
    with transaction.atomic():
        applied = leads_scores_write(changes.updates, now=now)
        score_changes_insert([row for lead_id, row in changes.logs.items() if lead_id in applied])
        summary.changed += len(applied)
        summary.skipped_concurrent += len(changes.updates) - len(applied)
        moves = {k: v for k, v in changes.stage_moves.items() if k in applied}
        _stage_moves(moves, cause, now, summary, announce_each)


def _stage_moves(moves: dict, cause: str, now: datetime, summary: BulkSummary, announce_each: bool = True) -> None:
    """History rows, crossing triggers and ``lead_scored`` for the leads whose stage changed.

    The history rows are the same rows django-simple-history writes on a save (the lead as it now is, with the
    automation's reason), copied in SQL: one ``INSERT ... SELECT`` per lead, no model instances.
    """
    if not moves:
        return
    leads_history_record([
        (lead_id, change_reason(cause, old_score, new_score, old_stage, new_stage, reasons, variant))
        for lead_id, (old_stage, new_stage, old_score, new_score, variant, reasons, _) in moves.items()
    ], now=now)
    triggers = []
    today = day_key(now)
    for lead_id, (old_stage, new_stage, _, score, _, _, model_id) in moves.items():
        summary.stages[f"{old_stage}→{new_stage}"] = summary.stages.get(f"{old_stage}→{new_stage}", 0) + 1
        for kind in crossings(old_stage, new_stage):
            triggers.append(instance_new(ScoreTrigger, dict(
                lead_id=lead_id, kind=kind, period_key=today, fired_at=now, model_id=model_id, cause=cause[:60],
                detail={"score": score, "old_stage": old_stage, "new_stage": new_stage})))
    summary.triggers += len(triggers_fire_many(triggers))
    summary.stage_changes += len(moves)
    announcements = [(lead_id, old_stage, new_stage, old_score, new_score)
                     for lead_id, (old_stage, new_stage, old_score, new_score, *_) in moves.items()]
    if not announce_each:  # the caller announces the whole batch at once (leads_score_many)
        summary.moves.extend((lead_id, old, new) for lead_id, old, new, _, _ in announcements)
        return

    def announce() -> None:
        for lead_id, old_stage, new_stage, old_score, new_score in announcements:
            lead_scored.send(sender=Lead, lead_id=lead_id, changed=True, old_stage=old_stage, new_stage=new_stage,
                             old_score=old_score, new_score=new_score)

    announce()


def leads_rescore_bulk(
    *,
    cause: str,
    queryset: QuerySet | None = None,
    segment: str | None = None,
    now: datetime | None = None,
    chunk_size: int = CHUNK_SIZE,
    announce_each: bool = True,
    fresh: bool = True,
) -> BulkSummary:
    """Rescore leads set-based (see the module docstring); ``queryset`` narrows the live leads considered and
    ``segment`` keeps only the leads of that segment. ``announce_each=False`` sends no ``lead_scored`` and keeps
    the stage changes in ``summary.moves`` for the caller to announce. ``fresh=False`` uses the configuration cached
    in this process (as scoring one lead does) instead of reading it again."""
    started = time.perf_counter()
    now = now or timezone.now()
    configs = scoring_config(fresh=fresh)
    summary = BulkSummary(cause=cause)
    if not configs:
        return summary
    base = (queryset if queryset is not None else Lead.objects.all()).filter(merged_into__isnull=True)
    first = base.order_by("id").values_list("id", flat=True).first()
    last = base.order_by("-id").values_list("id", flat=True).first()
    if first is None:
        return summary
    fields = _fields_needed(configs)
    types, property_types, property_keys = event_scope(
        [m for c in configs for m in (c.compiled, c.compiled_b) if m is not None])
    now_db = connection.ops.adapt_datetimefield_value(now)
    for start in range(first, last + 1, chunk_size):
        ids, stored = load_lead_columns(base.filter(id__gte=start, id__lt=start + chunk_size), [*STORED, *fields],
                                        raw=("scored_at",))
        n = int(ids.size)
        if n == 0:
            continue
        assigned = configs_assign(configs, stored, n)
        if segment is not None:
            other = np.array([k >= 0 and configs[k].segment != segment for k in assigned.tolist()], dtype=bool)
            assigned[other] = -2
        summary.skipped_no_model += int((assigned == -1).sum())
        leads = LeadColumns(ids=ids, stage=stored["stage"], consent=stored["consent"],
                            values={name: stored[name] for name in fields})
        events = (load_events(ids, types=types, property_types=property_types, property_keys=property_keys)
                  if types else None)
        changes = _Changes()
        for k, config in enumerate(configs):
            members = np.flatnonzero(assigned == k)
            if members.size == 0:
                continue
            summary.considered += int(members.size)
            variants = np.full(members.size, Variant.NONE.value, dtype=object)
            if config.experiment is not None:
                in_b = variant_buckets(config.experiment.pk, ids[members]) < config.experiment.split_percent
                variants[:] = np.where(in_b, Variant.B.value, Variant.A.value)
            probability = features = None
            if config.predictive is not None:
                probability, features = predictions_for(config.predictive, ids[members], now)
            for variant in dict.fromkeys(variants.tolist()):
                subset = np.flatnonzero(variants == variant)
                positions = members[subset]
                model, compiled = config.for_variant(variant)
                group = leads.take(positions)
                if probability is not None:
                    group.probability = probability[subset]
                    group.features = [features[i] for i in subset.tolist()]
                    group.model_version = config.predictive.version
                group_events = (events.for_leads(positions, n) if events is not None else
                                EventColumns(np.zeros(0, np.intp), np.zeros(0, np.int32), [], np.zeros(0, np.int64),
                                             {}))
                result = score_batch(compiled, group, group_events, now)
                _collect(result, group, positions, stored, config, variant, model.pk, cause, now_db, changes)
        _write(changes, cause, now, summary, announce_each)
    summary.seconds = time.perf_counter() - started
    return summary


def leads_score_many(*, lead_ids: list[int], cause: str = "ingest") -> BulkSummary:
    """Score a batch of leads (a bulk import's) set-based, then announce them together with ``leads_scored_many``.

    Every lead of the batch is announced, changed or not (a lead scored before, or one no model covers, still has to
    be routed), with the stage changes the scoring made. Running it twice changes nothing the second time.
    """
    summary = leads_rescore_bulk(cause=cause, queryset=Lead.objects.filter(pk__in=lead_ids), announce_each=False,
                                 fresh=False)
    ids, moves = list(lead_ids), {lead_id: (old, new) for lead_id, old, new in summary.moves}
    leads_scored_many.send(sender=Lead, lead_ids=ids, stage_moves=moves)
    return summary


def leads_decay(*, now: datetime | None = None, chunk_size: int = CHUNK_SIZE) -> BulkSummary:
    """The daily decay: rescore, set-based, every scored live lead that has engagement points.

    Scores are computed from event ages, so rescoring *is* the decay: a lead whose points fell below a threshold
    moves down a stage, with its history row, its ScoreChange row, the crossing triggers and ``lead_scored``.
    """
    queryset = Lead.objects.filter(score__isnull=False).exclude(engagement_score=0)
    return leads_rescore_bulk(cause="decay", queryset=queryset, now=now, chunk_size=chunk_size)


def leads_rescore_needed(*, now: datetime | None = None, chunk_size: int = CHUNK_SIZE) -> BulkSummary:
    """Rescore the leads never scored and those scored before the newest model activation (``rescore_leads``).

    The filter is a superset (a lead of a segment activated earlier may be included); rescoring such a lead
    changes nothing, so the superset only costs time.
    """
    activated = [c.model.activated_at for c in scoring_config(fresh=True) if c.model.activated_at]
    stale = Q(score__isnull=True) | Q(scored_at__isnull=True)
    if activated:
        stale |= Q(scored_at__lt=max(activated))
    return leads_rescore_bulk(cause="rescore", queryset=Lead.objects.filter(stale), now=now, chunk_size=chunk_size)
