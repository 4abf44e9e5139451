"""Receivers: routing listens to scoring, the lead layer and its own configuration. Thin: each calls one service."""

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from leads import signals as lead_signals
from revops.base.choices import Workflow
from revops.base.signals import workflow_resumed
from scoring.signals_defs import lead_scored, lead_triggered, leads_scored_many

from .models import Rep, RoutingRule, Territory
from .rules import routing_rules_cache_clear
from .services import (
    lead_after_scoring_schedule,
    lead_route_if_waiting,
    lead_tasks_follow_merge,
    lead_tasks_follow_unmerge,
    leads_after_scoring_many_schedule,
    rep_leads_reroute_schedule,
    routing_catch_up_schedule,
)

# Lead fields whose arrival can release a lead from the holding queue ("custom" carries the language).
ROUTING_INPUT_FIELDS = frozenset(
    {"country", "state", "postal_code", "employees", "industry", "seniority", "source", "custom"}
)


@receiver(lead_scored)
def route_after_scoring(sender, lead_id: int, old_stage=None, new_stage=None, **kwargs) -> None:
    lead_after_scoring_schedule(lead_id=lead_id, old_stage=old_stage, new_stage=new_stage)


@receiver(leads_scored_many)
def route_batch_after_scoring(sender, lead_ids: list[int], stage_moves=None, **kwargs) -> None:
    leads_after_scoring_many_schedule(lead_ids=lead_ids, stage_moves=stage_moves or {})


@receiver(lead_signals.lead_changed)
def route_after_data_arrives(sender, lead_id: int, fields=(), **kwargs) -> None:
    if set(fields) & ROUTING_INPUT_FIELDS:
        lead_route_if_waiting(lead_id=lead_id, cause="data arrived")


@receiver(workflow_resumed)
def route_waiting_after_resume(sender, workflow: str, **kwargs) -> None:
    if workflow == Workflow.ROUTING:
        routing_catch_up_schedule(cause="routing resumed")


@receiver(post_save, sender=Rep)
def reroute_leads_of_deactivated_rep(sender, instance: Rep, raw: bool = False, **kwargs) -> None:
    if not raw and not instance.is_active:
        rep_leads_reroute_schedule(rep_id=instance.pk)


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def reroute_leads_of_deactivated_user(sender, instance, raw: bool = False, **kwargs) -> None:
    """A person deactivated as a user (someone who left) is an inactive rep too: their open leads move on."""
    if not raw and not instance.is_active:
        rep_id = Rep.objects.filter(user_id=instance.pk).values_list("pk", flat=True).first()
        if rep_id is not None:
            rep_leads_reroute_schedule(rep_id=rep_id)


@receiver(post_save, sender=RoutingRule)
@receiver(post_delete, sender=RoutingRule)
@receiver(post_save, sender=Territory)
@receiver(post_delete, sender=Territory)
def forget_compiled_rules(sender, **kwargs) -> None:
    routing_rules_cache_clear()


@receiver(lead_signals.lead_merged)
def tasks_follow_merge(sender, survivor_id: int, merged_id: int, **kwargs) -> None:
    lead_tasks_follow_merge(survivor_id=survivor_id, merged_id=merged_id)


@receiver(lead_signals.lead_unmerged)
def tasks_follow_unmerge(sender, survivor_id: int, merged_id: int, **kwargs) -> None:
    lead_tasks_follow_unmerge(survivor_id=survivor_id, merged_id=merged_id)


@receiver(lead_triggered)
def task_after_trigger(sender, lead_id: int, kind: str, trigger_id: int, detail=None, **kwargs) -> None:
    if kind in ("hot", "high_intent", "cold"):
        from revops.base.jobs import enqueue_after_commit

        from .jobs import lead_trigger_task_job

        enqueue_after_commit(lead_trigger_task_job, lead_id, kind, trigger_id, detail or {})
