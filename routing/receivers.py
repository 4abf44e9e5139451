"""Receivers: routing listens to scoring, the lead layer, its own configuration and its own signals.

Thin: each skips what does not concern it and calls one ``*_schedule`` of jobs.py (or one service, for the work
that must happen in the sender's transaction: tasks follow a merge, a closed lead's tasks are closed, the rule
cache is cleared). Connected in
``RoutingConfig.ready``.
"""

from django.conf import settings
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from leads import signals as lead_signals
from revops.base.choices import Workflow
from revops.base.signals import workflow_resumed
from scoring.signals import lead_scored, lead_triggered, leads_scored_many

from .choices import NurtureStopReason
from .jobs import (
    lead_after_scoring_schedule,
    lead_data_arrived_schedule,
    lead_reengage_schedule,
    lead_trigger_task_schedule,
    leads_after_scoring_many_schedule,
    leads_nurture_enroll_schedule,
    nurture_catch_up_schedule,
    rep_leads_reroute_schedule,
    routing_catch_up_schedule,
    task_create_schedule,
    tasks_create_batch_schedule,
    territory_leads_reroute_schedule,
    user_leads_reroute_schedule,
)
from .models import Rep, RoutingDecision, RoutingRule, Territory
from .rules import routing_rules_cache_clear
from .services import (
    decision_repeats_refresh,
    lead_nurture_stop,
    lead_nurture_stop_closed,
    lead_tasks_close,
    lead_tasks_follow_merge,
    lead_tasks_follow_unmerge,
    nurture_follow_routing,
)
from .signals import follow_up_needed, follow_ups_needed, lead_routed, leads_routed_many, territory_reroute_requested


@receiver(lead_scored)
def route_after_scoring(sender, lead_id: int, old_stage=None, new_stage=None, placement=None, **kwargs) -> None:
    lead_after_scoring_schedule(lead_id=lead_id, old_stage=old_stage, new_stage=new_stage, placement=placement)


@receiver(leads_scored_many)
def route_batch_after_scoring(sender, lead_ids: list[int], stage_moves=None, **kwargs) -> None:
    leads_after_scoring_many_schedule(lead_ids=lead_ids, stage_moves=stage_moves or {})


@receiver(lead_signals.lead_changed)
def route_after_data_arrives(sender, lead_id: int, fields=(), **kwargs) -> None:
    lead_data_arrived_schedule(lead_id=lead_id, fields=fields)


@receiver(lead_signals.events_recorded)
def reengage_after_activity(sender, lead_id: int, event_ids=(), active_before=None, stage: str = "",
                            **kwargs) -> None:
    lead_reengage_schedule(lead_id=lead_id, event_ids=list(event_ids), active_before=active_before, stage=stage)


@receiver(workflow_resumed)
def route_waiting_after_resume(sender, workflow: str, **kwargs) -> None:
    if workflow == Workflow.ROUTING:
        routing_catch_up_schedule(cause="routing resumed")
    elif workflow == Workflow.NURTURE:
        nurture_catch_up_schedule()


@receiver(post_save, sender=Rep)
def reroute_leads_of_deactivated_rep(sender, instance: Rep, raw: bool = False, **kwargs) -> None:
    if not raw and not instance.is_active:
        rep_leads_reroute_schedule(rep_id=instance.pk)


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def reroute_leads_of_deactivated_user(sender, instance, raw: bool = False, **kwargs) -> None:
    """A person deactivated as a user (someone who left) is an inactive rep too: their open leads move on."""
    if not raw and not instance.is_active:
        user_leads_reroute_schedule(user_id=instance.pk)


@receiver(post_save, sender=RoutingRule)
@receiver(post_delete, sender=RoutingRule)
@receiver(post_save, sender=Territory)
@receiver(post_delete, sender=Territory)
def forget_compiled_rules(sender, **kwargs) -> None:
    routing_rules_cache_clear()


@receiver(pre_delete, sender=RoutingRule)
def note_leads_decided_by_rule(sender, instance: RoutingRule, **kwargs) -> None:
    instance._decided_lead_ids = list(RoutingDecision.objects.filter(rule=instance).values_list("lead_id", flat=True)
                                      .distinct())


@receiver(post_delete, sender=RoutingRule)
def decisions_of_deleted_rule_repeats(sender, instance: RoutingRule, **kwargs) -> None:
    """A deleted rule's decisions are "no rule matched" now: their earlier decisions of the same kind are set again,
    so the routing report still counts each lead once in that row."""
    decision_repeats_refresh(getattr(instance, "_decided_lead_ids", []))


@receiver(lead_signals.lead_merged)
def tasks_follow_merge(sender, survivor_id: int, merged_id: int, **kwargs) -> None:
    lead_tasks_follow_merge(survivor_id=survivor_id, merged_id=merged_id)


@receiver(lead_signals.lead_closed)
def tasks_close_with_lead(sender, lead_id: int, reason: str = "", user_id=None, **kwargs) -> None:
    lead_tasks_close(lead_id=lead_id, reason=reason, user_id=user_id)


@receiver(lead_signals.lead_unmerged)
def tasks_follow_unmerge(sender, survivor_id: int, merged_id: int, **kwargs) -> None:
    lead_tasks_follow_unmerge(survivor_id=survivor_id, merged_id=merged_id)


@receiver(lead_triggered)
def task_after_trigger(sender, lead_id: int, kind: str, trigger_id: int, detail=None, **kwargs) -> None:
    lead_trigger_task_schedule(lead_id=lead_id, kind=kind, trigger_id=trigger_id, detail=detail)


@receiver(follow_up_needed)
def task_after_assignment(sender, decision_id: int, **kwargs) -> None:
    task_create_schedule(decision_id=decision_id)


@receiver(follow_ups_needed)
def tasks_after_batch_assignment(sender, decision_ids: list[int], **kwargs) -> None:
    tasks_create_batch_schedule(decision_ids=decision_ids)


@receiver(territory_reroute_requested)
def reroute_territory_leads(sender, territory_id: int, **kwargs) -> None:
    territory_leads_reroute_schedule(territory_id=territory_id)


@receiver(lead_routed)
def nurture_after_routing(sender, decision_id: int, **kwargs) -> None:
    """Routed out of the nurture queue: its enrollment stops (this transaction); routed into it: enrolled after
    commit."""
    leads_nurture_enroll_schedule(lead_ids=nurture_follow_routing(decision_ids=[decision_id]))


@receiver(leads_routed_many)
def nurture_after_batch_routing(sender, decision_ids: list[int], **kwargs) -> None:
    leads_nurture_enroll_schedule(lead_ids=nurture_follow_routing(decision_ids=decision_ids))


@receiver(lead_signals.lead_closed)
def nurture_stop_with_lead(sender, lead_id: int, transition: str = "", reason: str = "", **kwargs) -> None:
    lead_nurture_stop_closed(lead_id=lead_id, transition=transition, reason=reason)


@receiver(lead_signals.lead_merged)
def nurture_stop_when_merged(sender, survivor_id: int, merged_id: int, **kwargs) -> None:
    lead_nurture_stop(lead_id=merged_id, reason=NurtureStopReason.MERGED, detail=f"into lead #{survivor_id}")
