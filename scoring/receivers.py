"""Receivers of the scoring layer: it listens to the lead layer, to its own configuration changes and to the kill
switches. Thin: each skips what is not its business and calls one ``*_schedule`` of ``scoring.jobs`` (or forgets the
cached configuration). Connected in ``ScoringConfig.ready``."""

from django.conf import settings
from django.db.models.signals import post_delete, post_migrate, post_save
from django.dispatch import receiver

from leads import signals as lead_signals
from leads.choices import HOT_EVENT_TYPES
from leads.services import SCORING_INPUT_FIELDS
from revops.base.choices import Workflow
from revops.base.signals import workflow_resumed

from .jobs import (
    lead_score_schedule,
    lead_score_step_row,
    leads_score_many_schedule,
    leads_score_unscored_schedule,
    predictive_rescore_schedule,
    scoring_model_rescore_schedule,
)
from .models import PredictiveModel, ScoringExperiment, ScoringModel, ScoringRule
from .selectors import scoring_config_clear
from .services import scoring_model_default_ensure
from .signals import predictive_model_changed, segment_config_changed


@receiver(lead_signals.lead_enriched)
def score_after_enrichment(sender, lead_id: int, enriched: bool = True, scored: bool = False, **kwargs) -> None:
    """A new lead is scored once its enrichment ran. A lead that already has a score (a demo request arrived and was
    scored first) is scored again only when the enrichment filled a field: nothing scoring reads changed otherwise."""
    if enriched or not scored:
        lead_score_schedule(lead_id, "ingest")


@receiver(lead_signals.leads_enriched_many)
def score_batch_after_bulk_import(sender, lead_ids: list[int], **kwargs) -> None:
    leads_score_many_schedule(lead_ids, "ingest")


def _events_queue(event_types) -> str:
    """Hot events (a demo request) are rescored first; routine engagement (opens, clicks, views) waits in bulk."""
    return "hot" if set(event_types) & HOT_EVENT_TYPES else "bulk"


@receiver(lead_signals.events_recorded)
def score_after_events(sender, lead_id: int, event_types=(), **kwargs) -> None:
    lead_score_schedule(lead_id, "events", queue=_events_queue(event_types))


@receiver(lead_signals.events_recording)
def score_row_with_events(sender, lead_id: int, event_types=(), **kwargs):
    """The pending row of the rescoring ``score_after_events`` schedules, for the events' statement to write (or
    None: written as usual)."""
    return lead_score_step_row(lead_id, "events", queue=_events_queue(event_types))


@receiver(lead_signals.lead_changed)
def score_after_change(sender, lead_id: int, fields=(), **kwargs) -> None:
    if set(fields) & SCORING_INPUT_FIELDS:
        lead_score_schedule(lead_id, "lead changed")


@receiver(lead_signals.lead_merged)
@receiver(lead_signals.lead_unmerged)
def score_after_merge(sender, survivor_id: int, merged_id: int, **kwargs) -> None:
    lead_score_schedule(survivor_id, "merge")


@receiver(post_save, sender=ScoringModel)
@receiver(post_save, sender=ScoringRule)
@receiver(post_delete, sender=ScoringRule)
@receiver(post_save, sender=ScoringExperiment)
@receiver(post_save, sender=PredictiveModel)
def forget_compiled_models(sender, **kwargs) -> None:
    scoring_config_clear()


@receiver(segment_config_changed)
def rescore_segment_after_config_change(sender, model_id: int, **kwargs) -> None:
    scoring_model_rescore_schedule(model_id)


@receiver(predictive_model_changed)
def rescore_after_predictive_change(sender, predictive_id: int, **kwargs) -> None:
    predictive_rescore_schedule(predictive_id)


@receiver(workflow_resumed)
def score_unscored_after_resume(sender, workflow: str, **kwargs) -> None:
    if workflow == Workflow.SCORING:
        leads_score_unscored_schedule()


@receiver(post_migrate)
def default_model_after_migrate(sender, app_config=None, **kwargs) -> None:
    """A fresh install scores leads out of the box (``LEADFLOW_DEFAULTS_ON_MIGRATE``)."""
    if app_config is not None and app_config.label == "scoring" and settings.LEADFLOW_DEFAULTS_ON_MIGRATE:
        scoring_model_default_ensure()
