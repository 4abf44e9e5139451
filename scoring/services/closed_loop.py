"""The closed loop: train the predictive model on closed leads, activate or roll it back, take "score is wrong"
feedback into the next training, retrain on a schedule.

The model itself (features → calibrated win probability, reason codes) is ``scoring.predictive``; this module
extracts its rows from the database (``scoring.predictive.features``) and keeps the versions. An activation or a
rollback is announced with ``predictive_model_changed``; the scoring receiver then schedules the
rescoring of the leads the model covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from leads.choices import Outcome
from leads.models import Lead

from ..bulk_engine import US_PER_DAY, to_us
from ..choices import FeedbackReason, PredictiveStatus
from ..loaders import load_events, load_lead_columns
from ..models import PredictiveModel, ScoreFeedback
from ..predictive import (
    FEATURE_VERSION,
    LEAD_FEATURE_FIELDS,
    RECENCY_DAYS,
    ModelVersionError,
    TrainedModel,
    TrainingRefused,
    custom_columns,
    default_event_types,
    feature_rows,
    train_model,
)
from ..selectors import configs_assign, scoring_config, scoring_config_clear
from ..signals import predictive_model_changed

# Activation gates: a model that ranks leads barely better than chance does more harm than none.
MIN_AUC_TO_ACTIVATE = 0.60
# A scheduled retraining replaces the live model only when it is not clearly worse.
RETRAIN_MAX_AUC_DROP = 0.01


class PredictiveError(Exception):
    """A predictive model cannot be activated or rolled back (no artefact, stale feature version, none earlier)."""


@dataclass
class TrainingSet:
    """Rows and outcomes of closed leads, with the ids they came from and the feedback they honour."""

    rows: list[dict]
    outcomes: list[bool]
    lead_ids: list[int]
    excluded_wrong_data: int


def _segment_members(ids: np.ndarray, values: dict[str, list], segment: str | None) -> np.ndarray:
    """Positions of the leads that belong to ``segment`` (all positions when None)."""
    if segment is None:
        return np.arange(ids.size)
    configs = scoring_config(fresh=True)
    assigned = configs_assign(configs, values, int(ids.size))
    wanted = [k for k, c in enumerate(configs) if c.segment == segment]
    return np.flatnonzero(np.isin(assigned, wanted))


def _segment_fields() -> list[str]:
    return sorted({c.model.segment_field for c in scoring_config(fresh=True) if c.model.segment_field})


def training_set(*, segment: str | None = None, now: datetime | None = None) -> TrainingSet:
    """Closed (won or lost) live leads of the segment as rows, each as of the day it closed.

    Leads someone flagged as having wrong data are left out. Steps: 1) read the leads' feature fields, custom
    attributes, outcome and close date; 2) keep the segment's leads; 3) read their events of the year before the
    earliest close; 4) build rows with ``scoring.predictive.feature_rows`` (events after a lead's close are ignored).
    """
    now = now or timezone.now()
    wrong = ScoreFeedback.objects.filter(reason=FeedbackReason.WRONG_DATA).values("lead_id")
    closed = Lead.objects.live().filter(outcome__in=[Outcome.WON, Outcome.LOST])
    excluded = closed.filter(pk__in=wrong).count()
    segment_fields = _segment_fields()
    ids, values = load_lead_columns(closed.exclude(pk__in=wrong),
                                    [*LEAD_FEATURE_FIELDS, "custom", "outcome", "closed_at", *segment_fields])
    keep = _segment_members(ids, values, segment)
    ids = ids[keep]
    positions = keep.tolist()
    values = {name: [column[i] for i in positions] for name, column in values.items()}
    reference = np.fromiter((to_us(c or now) for c in values["closed_at"]), dtype=np.int64, count=ids.size)
    since = int(reference.min()) - RECENCY_DAYS * US_PER_DAY if ids.size else None
    events = load_events(ids, since_us=since, limit_per_lead=None, ordered=False)
    rows = feature_rows(values, custom_columns(values["custom"]), reference, events, default_event_types(events))
    return TrainingSet(rows=rows, outcomes=[o == Outcome.WON for o in values["outcome"]], lead_ids=ids.tolist(),
                       excluded_wrong_data=excluded)


def _pending_feedback(segment: str | None):
    """Feedback not yet read by a training, on leads of the segment."""
    pending = ScoreFeedback.objects.filter(consumed_by__isnull=True)
    if segment is None:
        return pending
    lead_ids = sorted(set(pending.values_list("lead_id", flat=True)))
    ids, values = load_lead_columns(Lead.objects.filter(pk__in=lead_ids), _segment_fields())
    members = ids[_segment_members(ids, values, segment)].tolist()
    return pending.filter(lead_id__in=members)


def predictive_train(*, segment: str | None = None, activate: bool = False, user=None,
                     now: datetime | None = None) -> PredictiveModel:
    """Train a predictive model on the segment's closed leads (``segment`` None: every segment); returns its row.

    Steps: 1) build the training set (``training_set``); 2) train (``scoring.predictive.train_model``); too little
    data is kept as a *refused* row with the reason; 3) store the artefact and metrics (AUC, lift by decile,
    calibration, feedback counts) as a draft; 4) mark the pending feedback of the segment as consumed by it; 5) with
    ``activate``, activate it when its AUC reaches MIN_AUC_TO_ACTIVATE, else say why not.
    """
    now = now or timezone.now()
    key = segment or ""
    data = training_set(segment=segment, now=now)
    feedback = _pending_feedback(segment)
    feedback_counts = {reason: feedback.filter(reason=reason).count() for reason in FeedbackReason.values}
    version = (PredictiveModel.objects.filter(segment=key).aggregate(v=Max("version"))["v"] or 0) + 1
    positives = sum(data.outcomes)
    try:
        trained = train_model(data.rows, data.outcomes)
    except TrainingRefused as refused:
        row = PredictiveModel(segment=key, version=version, status=PredictiveStatus.REFUSED,
                              training_size=len(data.rows), positives=positives, trained_at=now,
                              feature_version=FEATURE_VERSION, refusal_reason=refused.reason,
                              metrics={"excluded_wrong_data": data.excluded_wrong_data})
        row._history_user = user
        row._change_reason = f"training refused: {refused.reason}"
        row.save()
        return row
    metrics = trained.metrics.to_dict()
    metrics.update(explanation_fidelity=trained.explanation_fidelity, feedback=feedback_counts,
                   excluded_wrong_data=data.excluded_wrong_data)
    with transaction.atomic():
        row = PredictiveModel(segment=key, version=version, algorithm=trained.algorithm, status=PredictiveStatus.DRAFT,
                              metrics=metrics, artefact=trained.to_bytes(), training_size=len(data.rows),
                              positives=positives, trained_at=now, feature_version=trained.feature_version)
        row._history_user = user
        row._change_reason = f"trained on {len(data.rows)} closed leads, AUC {trained.metrics.auc:.3f}"
        row.save()
        feedback.update(consumed_by=row)
    if activate:
        if trained.metrics.auc >= MIN_AUC_TO_ACTIVATE:
            row = predictive_activate(model_id=row.pk, user=user)
        else:
            row.refusal_reason = (f"not activated: AUC {trained.metrics.auc:.3f} is below the minimum "
                                  f"{MIN_AUC_TO_ACTIVATE:.2f}")
            row._change_reason = row.refusal_reason
            row.save(update_fields=["refusal_reason"])
    return row


def _announce_change(predictive_id: int) -> None:
    """After commit: forget the cached configuration, then announce that the predictive model ``predictive_id`` was
    activated or retired, so the leads it covers are rescored."""
    transaction.on_commit(scoring_config_clear)
    predictive_model_changed.send(sender=PredictiveModel, predictive_id=predictive_id)


def predictive_activate(*, model_id: int, user=None, reason: str = "") -> PredictiveModel:
    """Make a trained predictive model the live one of its segment (retiring the current one); rescore after.

    Refuses a refused training, a row without artefact and an artefact of another feature version.
    """
    now = timezone.now()
    with transaction.atomic():
        row = PredictiveModel.objects.select_for_update().get(pk=model_id)
        if row.status == PredictiveStatus.ACTIVE:
            return row
        if row.status == PredictiveStatus.REFUSED or not row.artefact:
            raise PredictiveError(f"{row} has no trained model to activate"
                                  + (f": {row.refusal_reason}" if row.refusal_reason else ""))
        try:
            TrainedModel.from_bytes(bytes(row.artefact))
        except ModelVersionError as exc:
            raise PredictiveError(f"{row} cannot be used: {exc}") from exc
        current = (PredictiveModel.objects.select_for_update()
                   .filter(segment=row.segment, status=PredictiveStatus.ACTIVE).first())
        if current is not None:
            current.status = PredictiveStatus.RETIRED
            current.retired_at = now
            current._history_user = user
            current._change_reason = f"retired: replaced by v{row.version}" + (f" ({reason})" if reason else "")
            current.save(update_fields=["status", "retired_at"])
        row.status = PredictiveStatus.ACTIVE
        row.activated_at = now
        row.retired_at = None
        row.refusal_reason = ""
        row._history_user = user
        row._change_reason = ("activated" + (f", replacing v{current.version}" if current else "")
                              + (f" ({reason})" if reason else ""))
        row.save(update_fields=["status", "activated_at", "retired_at", "refusal_reason"])
        _announce_change(row.pk)
    return row


def predictive_rollback(*, segment: str | None, user=None) -> PredictiveModel | None:
    """Re-activate the previous predictive model of the segment; with none earlier, switch predictive scoring off
    for the segment (returns None)."""
    key = segment or ""
    previous = (PredictiveModel.objects.filter(segment=key, status=PredictiveStatus.RETIRED,
                                               retired_at__isnull=False)
                .order_by("-retired_at", "-version").first())
    if previous is not None:
        return predictive_activate(model_id=previous.pk, user=user, reason="rollback")
    with transaction.atomic():
        current = PredictiveModel.objects.select_for_update().filter(segment=key,
                                                                     status=PredictiveStatus.ACTIVE).first()
        if current is None:
            raise PredictiveError(f"segment {key or '(all)'!r} has no active predictive model to roll back")
        current.status = PredictiveStatus.RETIRED
        current.retired_at = timezone.now()
        current._history_user = user
        current._change_reason = "rolled back: no earlier version, predictive scoring off"
        current.save(update_fields=["status", "retired_at"])
        _announce_change(current.pk)
    return None


def predictive_retrain(*, now: datetime | None = None) -> str:
    """Retrain every segment that has a live predictive model; replace it when the new one is not clearly worse."""
    lines = []
    for live in PredictiveModel.objects.filter(status=PredictiveStatus.ACTIVE).defer("artefact"):
        segment = live.segment or None
        row = predictive_train(segment=segment, now=now)
        name = live.segment or "all segments"
        if row.status == PredictiveStatus.REFUSED:
            lines.append(f"{name}: refused ({row.refusal_reason}); v{live.version} stays")
            continue
        floor = max(MIN_AUC_TO_ACTIVATE, (live.auc or 0) - RETRAIN_MAX_AUC_DROP)
        if (row.auc or 0) >= floor:
            predictive_activate(model_id=row.pk, reason="scheduled retraining")
            lines.append(f"{name}: v{row.version} active (AUC {row.auc:.3f}, was {live.auc or 0:.3f})")
        else:
            row.refusal_reason = f"not activated: AUC {row.auc:.3f} below {floor:.3f} (the live model's, less "\
                                 f"{RETRAIN_MAX_AUC_DROP})"
            row.save(update_fields=["refusal_reason"])
            lines.append(f"{name}: v{row.version} kept as draft ({row.refusal_reason}); v{live.version} stays")
    return "; ".join(lines) or "no active predictive model to retrain"
