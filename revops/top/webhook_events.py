"""From the apps' signals to outbound webhook events (delivery: ``revops/base/webhooks.py``).

The top layer may import every app, so it is the one that turns ``lead_created``, ``lead_scored``, ``lead_routed``,
``lead_changed`` (a stage set by a lifecycle transition), ``task_completed`` and ``lead_merged`` into events with a
payload, inside the transaction of the change (the deliveries commit with it). Without a subscription each signal
costs one indexed query.

Events and their ``data``:

- ``lead.created``: ``lead`` (the lead's summary: id, name, e-mail, company, source, score, band, stage, owner);
- ``lead.scored`` (the score, band or stage changed): ``lead``, ``old_score``, ``new_score``, ``old_stage``,
  ``new_stage`` (the old values are null after a batch);
- ``lead.routed``: ``lead``, ``decision`` (id, owner, queue, rule, summary, cause);
- ``lead.stage_changed``: ``lead``, ``old_stage``, ``new_stage`` (scoring's moves; a stage set outside scoring — a
  lifecycle transition (won, opportunity, disqualified, suppressed, reopened), a meeting booked, re-engagement —
  has ``old_stage`` null);
- ``task.completed``: ``task`` (id, title, disposition, assignee, completed_at), ``lead``;
- ``lead.merged``: ``survivor`` (the lead kept), ``merged_id``.
"""

from __future__ import annotations

from django.dispatch import receiver

from leads.models import Lead
from leads.signals import lead_changed, lead_created, lead_merged, leads_enriched_many
from revops.base.choices import WebhookEvent
from revops.base.webhooks import webhook_event_emit, webhook_events_emit, webhook_subscriptions_active
from routing.models import RoutingDecision, Task
from routing.signals import lead_routed, leads_routed_many, task_completed
from scoring.signals import lead_scored, leads_scored_many


def _wanted(event_type: str) -> bool:
    """Whether any active subscription wants the event (one query, once per drain job; the payload is built only
    then)."""
    return any(subscription.wants(event_type) for subscription in webhook_subscriptions_active())


def lead_summary(lead: Lead) -> dict:
    """What every lead event says about the lead."""
    return {
        "id": lead.pk, "first_name": lead.first_name, "last_name": lead.last_name, "email": lead.email,
        "company": lead.company, "source": lead.source, "score": lead.score, "fit_score": lead.fit_score,
        "engagement_score": lead.engagement_score, "band": lead.band, "stage": lead.stage,
        "owner": lead.owner.username if lead.owner_id else None, "queue": lead.queue,
        "created_at": lead.created_at.isoformat() if lead.created_at else None,
    }


def _leads(ids) -> dict[int, Lead]:
    return Lead.objects.select_related("owner").in_bulk(list(ids))


@receiver(lead_created)
def lead_created_event(sender, lead_id: int, **kwargs) -> None:
    if _wanted(WebhookEvent.LEAD_CREATED):
        lead = _leads([lead_id]).get(lead_id)
        if lead is not None:
            webhook_event_emit(event_type=WebhookEvent.LEAD_CREATED, data={"lead": lead_summary(lead)})


@receiver(leads_enriched_many)
def leads_created_event(sender, lead_ids: list[int], **kwargs) -> None:
    """A bulk import's new leads (announced as a batch instead of one ``lead_created`` each)."""
    if _wanted(WebhookEvent.LEAD_CREATED):
        leads = _leads(lead_ids)
        webhook_events_emit(event_type=WebhookEvent.LEAD_CREATED,
                            items=[{"lead": lead_summary(leads[pk])} for pk in lead_ids if pk in leads])


@receiver(lead_scored)
def lead_scored_event(sender, lead_id: int, changed: bool = True, old_stage=None, new_stage=None, old_score=None,
                      new_score=None, **kwargs) -> None:
    stage_moved = old_stage != new_stage
    scored = changed and _wanted(WebhookEvent.LEAD_SCORED)
    staged = stage_moved and _wanted(WebhookEvent.LEAD_STAGE_CHANGED)
    if not (scored or staged):
        return
    lead = _leads([lead_id]).get(lead_id)
    if lead is None:
        return
    if scored:
        webhook_event_emit(event_type=WebhookEvent.LEAD_SCORED, data={
            "lead": lead_summary(lead), "old_score": old_score, "new_score": new_score, "old_stage": old_stage,
            "new_stage": new_stage})
    if staged:
        webhook_event_emit(event_type=WebhookEvent.LEAD_STAGE_CHANGED, data={
            "lead": lead_summary(lead), "old_stage": old_stage, "new_stage": new_stage})


@receiver(leads_scored_many)
def leads_scored_event(sender, lead_ids: list[int], stage_moves: dict | None = None, **kwargs) -> None:
    stage_moves = stage_moves or {}
    scored = _wanted(WebhookEvent.LEAD_SCORED)
    staged = bool(stage_moves) and _wanted(WebhookEvent.LEAD_STAGE_CHANGED)
    if not (scored or staged):
        return
    leads = _leads(lead_ids)
    if scored:
        webhook_events_emit(event_type=WebhookEvent.LEAD_SCORED, items=[
            {"lead": lead_summary(leads[pk]), "old_score": None, "new_score": leads[pk].score,
             "old_stage": stage_moves.get(pk, (None, None))[0], "new_stage": leads[pk].stage}
            for pk in lead_ids if pk in leads])
    if staged:
        webhook_events_emit(event_type=WebhookEvent.LEAD_STAGE_CHANGED, items=[
            {"lead": lead_summary(leads[pk]), "old_stage": old, "new_stage": new}
            for pk, (old, new) in stage_moves.items() if pk in leads])


@receiver(lead_changed)
def lead_stage_set_event(sender, lead_id: int, fields=(), **kwargs) -> None:
    """A stage set outside scoring: a lifecycle transition (won, opportunity, disqualified, suppressed, reopened)."""
    if "stage" in fields and _wanted(WebhookEvent.LEAD_STAGE_CHANGED):
        lead = _leads([lead_id]).get(lead_id)
        if lead is not None:
            webhook_event_emit(event_type=WebhookEvent.LEAD_STAGE_CHANGED, data={
                "lead": lead_summary(lead), "old_stage": None, "new_stage": lead.stage})


def _decision_data(decision: RoutingDecision) -> dict:
    return {"id": decision.pk, "owner": decision.owner.username if decision.owner_id else None,
            "queue": decision.queue, "rule": decision.rule.name if decision.rule_id else None,
            "summary": decision.summary, "cause": decision.cause}


@receiver(lead_routed)
def lead_routed_event(sender, decision_id: int, **kwargs) -> None:
    leads_routed_event(sender, decision_ids=[decision_id])


@receiver(leads_routed_many)
def leads_routed_event(sender, decision_ids: list[int], **kwargs) -> None:
    if not _wanted(WebhookEvent.LEAD_ROUTED):
        return
    decisions = (RoutingDecision.objects.filter(pk__in=decision_ids)
                 .select_related("lead__owner", "owner", "rule").order_by("pk"))
    webhook_events_emit(event_type=WebhookEvent.LEAD_ROUTED, items=[
        {"lead": lead_summary(d.lead), "decision": _decision_data(d)} for d in decisions])


@receiver(task_completed)
def task_completed_event(sender, task_id: int, disposition: str = "", **kwargs) -> None:
    if not _wanted(WebhookEvent.TASK_COMPLETED):
        return
    task = Task.objects.select_related("lead__owner", "assignee").filter(pk=task_id).first()
    if task is not None:
        webhook_event_emit(event_type=WebhookEvent.TASK_COMPLETED, data={
            "task": {"id": task.pk, "title": task.title, "kind": task.kind, "disposition": task.disposition,
                     "assignee": task.assignee.username if task.assignee_id else None,
                     "completed_at": task.completed_at.isoformat() if task.completed_at else None},
            "lead": lead_summary(task.lead)})


@receiver(lead_merged)
def lead_merged_event(sender, survivor_id: int, merged_id: int, **kwargs) -> None:
    if _wanted(WebhookEvent.LEAD_MERGED):
        survivor = _leads([survivor_id]).get(survivor_id)
        if survivor is not None:
            webhook_event_emit(event_type=WebhookEvent.LEAD_MERGED,
                               data={"survivor": lead_summary(survivor), "merged_id": merged_id})
