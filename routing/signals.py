"""Receivers: routing listens to scoring and to the lead layer. Thin: each calls one service."""

from django.dispatch import receiver

from leads import signals as lead_signals
from revops.choices import Workflow
from revops.signals import workflow_resumed
from scoring.signals_defs import lead_scored

from .services import lead_route_if_waiting, leads_unrouted_schedule

# Lead fields whose arrival can release a lead from the holding queue.
ROUTING_INPUT_FIELDS = frozenset({"country", "state", "postal_code", "employees", "industry", "seniority", "source"})


@receiver(lead_scored)
def route_after_scoring(sender, lead_id: int, **kwargs) -> None:
    lead_route_if_waiting(lead_id=lead_id, cause="scored")


@receiver(lead_signals.lead_changed)
def route_after_data_arrives(sender, lead_id: int, fields=(), **kwargs) -> None:
    if set(fields) & ROUTING_INPUT_FIELDS:
        lead_route_if_waiting(lead_id=lead_id, cause="data arrived")


@receiver(workflow_resumed)
def route_waiting_after_resume(sender, workflow: str, **kwargs) -> None:
    if workflow == Workflow.ROUTING:
        leads_unrouted_schedule(cause="routing resumed")
