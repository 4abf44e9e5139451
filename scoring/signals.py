"""Receivers: scoring listens to the lead layer. Thin: each calls one *_schedule service."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from leads import signals as lead_signals
from leads.services import SCORING_INPUT_FIELDS
from revops.base.choices import Workflow
from revops.base.signals import workflow_resumed

from .models import PredictiveModel, ScoringExperiment, ScoringModel, ScoringRule
from .services import lead_score_schedule, leads_score_many_schedule, scoring_config_clear


@receiver(lead_signals.lead_enriched)
def score_after_enrichment(sender, lead_id: int, **kwargs) -> None:
    lead_score_schedule(lead_id, "ingest")


@receiver(lead_signals.leads_enriched_many)
def score_batch_after_bulk_import(sender, lead_ids: list[int], **kwargs) -> None:
    leads_score_many_schedule(lead_ids, "ingest")


@receiver(lead_signals.events_recorded)
def score_after_events(sender, lead_id: int, **kwargs) -> None:
    lead_score_schedule(lead_id, "events")


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


@receiver(workflow_resumed)
def score_unscored_after_resume(sender, workflow: str, **kwargs) -> None:
    if workflow == Workflow.SCORING:
        from .services import leads_score_unscored_schedule

        leads_score_unscored_schedule()
