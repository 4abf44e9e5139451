"""RQ jobs of the routing layer: each takes a primary key and calls one service."""

from revops.base.choices import Workflow
from revops.base.jobs import batch_job, periodic_job, pipeline_job

from .services import (
    lead_route,
    lead_route_failed,
    lead_stage_handoff,
    leads_route_many,
    leads_route_many_failed,
    rep_leads_reroute,
    task_create_for_decision,
    tasks_create_batch_failed,
    tasks_create_for_decisions,
    tasks_escalate_overdue,
    territory_leads_reroute,
)


@pipeline_job(workflow=Workflow.ROUTING, object_type="lead", on_failure=lead_route_failed)
def lead_route_job(lead_id: int, cause: str = "new lead") -> str:
    """Route one lead (kill switch: routing)."""
    outcome = lead_route(lead_id=lead_id, cause=cause)
    return outcome.decision.summary if outcome.decision else outcome.action


@batch_job(workflow=Workflow.ROUTING, object_type="lead", on_failure=leads_route_many_failed)
def leads_route_batch_job(lead_ids: list[int], cause: str = "new lead") -> str:
    """Route a bulk import's leads set-based in one job (kill switch: routing)."""
    return str(leads_route_many(lead_ids=lead_ids, cause=cause))


@batch_job(workflow=Workflow.TASKS, object_type="routing_decision", on_failure=tasks_create_batch_failed)
def tasks_create_batch_job(decision_ids: list[int]) -> str:
    """Create the follow-up tasks of a batch of assignments and one Slack digest per rep (kill switch: tasks)."""
    return f"{len(tasks_create_for_decisions(decision_ids=decision_ids))} tasks"


@pipeline_job(workflow=Workflow.ROUTING, object_type="lead", on_failure=lead_route_failed)
def lead_stage_handoff_job(lead_id: int) -> str:
    """Hand a lead that became SQL from its SDR to the SQL rules (kill switch: routing)."""
    outcome = lead_stage_handoff(lead_id=lead_id)
    return outcome.decision.summary if outcome.decision else outcome.action


@pipeline_job(workflow=Workflow.ROUTING, object_type="rep")
def rep_leads_reroute_job(rep_id: int) -> str:
    """Re-route the open leads of a deactivated rep (kill switch: routing); a failing lead goes to review."""
    return str(rep_leads_reroute(rep_id=rep_id))


@pipeline_job(workflow=Workflow.ROUTING, object_type="territory")
def territory_leads_reroute_job(territory_id: int) -> str:
    """Re-route the open leads a territory change affects (kill switch: routing)."""
    return str(territory_leads_reroute(territory_id=territory_id))


@pipeline_job(workflow=Workflow.TASKS, object_type="routing_decision")
def task_create_job(decision_id: int) -> str:
    """Create the follow-up task of an assignment and queue its Slack message (kill switch: tasks)."""
    task = task_create_for_decision(decision_id=decision_id)
    return f"task {task.pk}" if task else "noop"


@periodic_job(workflow=Workflow.STALE_ALERTS)
def tasks_escalate_overdue_job() -> str:
    """Every few minutes: escalate overdue follow-ups to the team manager (kill switch: stale alerts)."""
    return f"escalated {tasks_escalate_overdue()} overdue tasks"


@pipeline_job(workflow=Workflow.TASKS, object_type="lead")
def lead_trigger_task_job(lead_id: int, kind: str, trigger_id: int, detail: dict | None = None) -> str:
    """A scoring trigger on an owned lead: a hot-lead or re-engagement task (kill switch: tasks)."""
    from .services import lead_trigger_task

    task = lead_trigger_task(lead_id=lead_id, kind=kind, trigger_id=trigger_id, detail=detail)
    return f"task {task.pk}" if task else "noop"
