"""Scoring model versions: a new draft version, activation (retiring the previous one), rollback; experiments.

Every switch is one transaction with a history row per model whose reason says who did what. After commit the
cached configuration is forgotten and ``segment_config_changed`` announces the switch; the scoring receiver then
schedules the set-based rescoring of the segment's leads (``scoring_model_rescore_job``).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ..choices import ModelStatus
from ..engine import compile_model
from ..models import ScoringExperiment, ScoringModel
from ..selectors import ScoringError, scoring_config_clear
from ..signals import segment_config_changed

# Fields of a model that are configuration (copied into a new version); the rest is identity and lifecycle.
_NOT_COPIED = {"id", "version", "status", "activated_at", "retired_at", "created_at", "updated_at"}


def _who(user) -> str:
    return getattr(user, "username", "") or "automation"


def _announce_change(model_id: int) -> None:
    """After commit: forget the cached configuration, then announce that the segment of ``model_id`` (its active
    model) changed, so its leads are rescored."""
    transaction.on_commit(scoring_config_clear)
    segment_config_changed.send(sender=ScoringModel, model_id=model_id)


def scoring_model_activate(*, model_id: int, user=None, reason: str = "") -> ScoringModel:
    """Make this model the active one of its segment; returns it.

    Steps: 1) lock the segment's models; 2) refuse a model whose rules do not compile or whose fields are invalid;
    3) retire the active model (retired_at, history "retired: replaced by vN"); 4) activate this one (activated_at,
    history "activated by USER"); 5) after commit, forget cached configuration and rescore the segment's leads.
    Activating the active model changes nothing.
    """
    now = timezone.now()
    with transaction.atomic():
        model = ScoringModel.objects.select_for_update().get(pk=model_id)
        if model.status == ModelStatus.ACTIVE:
            return model
        model.full_clean()
        compile_model(model, list(model.rules.all()))  # raises ValidationError on a broken rule
        for rule in model.rules.all():
            rule.full_clean()
        current = (ScoringModel.objects.select_for_update()
                   .filter(segment=model.segment, status=ModelStatus.ACTIVE).first())
        if current is not None:
            current.status = ModelStatus.RETIRED
            current.retired_at = now
            current._history_user = user
            current._change_reason = f"retired by {_who(user)}: replaced by v{model.version}" + (
                f" ({reason})" if reason else "")
            current.save(update_fields=["status", "retired_at", "updated_at"])
        model.status = ModelStatus.ACTIVE
        model.activated_at = now
        model.retired_at = None
        model._history_user = user
        model._change_reason = (f"activated by {_who(user)}"
                                + (f", replacing v{current.version}" if current is not None else "")
                                + (f" ({reason})" if reason else ""))
        model.save(update_fields=["status", "activated_at", "retired_at", "updated_at"])
        _announce_change(model.pk)
    return model


def scoring_model_rollback(*, segment: str, user=None) -> ScoringModel:
    """Re-activate the version that was active before the current one (the one retired last); returns it."""
    # Only activation retires a model, so a retired_at means "was active until then".
    previous = (ScoringModel.objects.filter(segment=segment, status=ModelStatus.RETIRED, retired_at__isnull=False)
                .order_by("-retired_at", "-version").first())
    if previous is None:
        raise ScoringError(f"segment {segment!r} has no earlier active version to roll back to")
    return scoring_model_activate(model_id=previous.pk, user=user, reason="rollback")


def scoring_model_new_version(*, model_id: int, user=None) -> ScoringModel:
    """Copy a model and its rules as a draft with the segment's next version number; returns the draft."""
    with transaction.atomic():
        source = ScoringModel.objects.get(pk=model_id)
        latest = ScoringModel.objects.filter(segment=source.segment).aggregate(v=Max("version"))["v"] or 0
        draft = ScoringModel(**{f.attname: getattr(source, f.attname) for f in ScoringModel._meta.concrete_fields
                                if f.attname not in _NOT_COPIED})
        draft.version = latest + 1
        draft.status = ModelStatus.DRAFT
        draft._history_user = user
        draft._change_reason = f"new version by {_who(user)}, copied from v{source.version}"
        draft.full_clean()
        draft.save()
        for rule in source.rules.all():
            rule.pk = None
            rule.model = draft
            rule._history_user = user
            rule._change_reason = f"copied from v{source.version}"
            rule.save()
    return draft


def experiment_start(*, experiment_id: int, user=None) -> ScoringExperiment:
    """Start an A/B experiment (one running per segment) and rescore the segment so variant B takes effect."""
    with transaction.atomic():
        experiment = ScoringExperiment.objects.select_for_update().get(pk=experiment_id)
        if experiment.active:
            return experiment
        experiment.full_clean()
        active = ScoringModel.objects.filter(segment=experiment.segment, status=ModelStatus.ACTIVE).first()
        if active is None:
            raise ValidationError(f"segment {experiment.segment!r} has no active model to experiment on")
        experiment.active = True
        experiment.started_at = experiment.started_at or timezone.now()
        experiment.ended_at = None
        experiment._history_user = user
        experiment._change_reason = f"started by {_who(user)}"
        experiment.save()
        _announce_change(active.pk)
    return experiment


def experiment_stop(*, experiment_id: int, user=None) -> ScoringExperiment:
    """Stop an experiment: every lead of the segment goes back to the active model (rescored)."""
    with transaction.atomic():
        experiment = ScoringExperiment.objects.select_for_update().get(pk=experiment_id)
        if not experiment.active:
            return experiment
        experiment.active = False
        experiment.ended_at = timezone.now()
        experiment._history_user = user
        experiment._change_reason = f"stopped by {_who(user)}"
        experiment.save()
        active = ScoringModel.objects.filter(segment=experiment.segment, status=ModelStatus.ACTIVE).first()
        if active is not None:
            _announce_change(active.pk)
        else:
            transaction.on_commit(scoring_config_clear)
    return experiment

