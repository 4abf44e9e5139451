"""RQ jobs of the routing layer, and the ``*_schedule`` helpers that enqueue them after commit.

Each job takes primary keys and calls one service; the batch jobs' failure hooks hand every object to its one-by-one
job. The schedule helpers are called by the receivers (receivers.py) when a signal says there is work to do; they
decide from the current rows what to enqueue and always enqueue with ``enqueue_after_commit``.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from leads.choices import Stage
from leads.selectors import leads_locked_in_order
from revops.base.choices import Workflow
from revops.base.jobs import batch_job, enqueue_after_commit, periodic_job, pipeline_job
from revops.base.notifications import notifications_send_schedule

from .selectors import (
    lead_owned_by_sdr,
    lead_reengage_candidate,
    lead_waiting_for_routing,
    leads_nurture_unenrolled_ids,
    leads_sdr_owned_among,
    leads_sql_owned_by_sdr_ids,
    leads_unrouted_ids,
    leads_waiting_among,
    placement_waiting_for_routing,
    rep_id_of_user,
    rep_leads_reroute_needed,
    reps_inactive_with_open_leads_ids,
)
from .services import (
    TRIGGER_TASKS,
    lead_nurture_enroll,
    lead_reengage,
    lead_route,
    lead_route_failed,
    lead_stage_handoff,
    lead_trigger_task,
    leads_nurture_enroll,
    leads_route_many,
    leads_stage_handoff_many,
    leads_trigger_tasks,
    nurture_steps_send,
    reengage_after_days,
    rep_leads_reroute,
    stage_slas_check,
    task_create_for_decision,
    tasks_create_for_decisions,
    tasks_escalate_overdue,
    territory_leads_reroute,
)
from .services.digest import reps_digest_due

# Lead fields whose arrival can release a lead from the holding queue ("custom" carries the language).
ROUTING_INPUT_FIELDS = frozenset(
    {"country", "state", "postal_code", "employees", "industry", "seniority", "source", "custom"}
)


# --- Failure hooks of the batch jobs: back to the one-by-one path -------------------------------------------------


def leads_route_many_failed(lead_ids: list[int], workflow: str, message: str) -> None:
    """The batch failed: each lead gets its own routing job (own retries, own way to the review queue)."""
    for lead_id in lead_ids:
        enqueue_after_commit(lead_route_job, lead_id, "new lead")


def tasks_create_batch_failed(decision_ids: list[int], workflow: str, message: str) -> None:
    """The batch failed: each decision gets its own task job."""
    for decision_id in decision_ids:
        enqueue_after_commit(task_create_job, decision_id)


# --- Set-based bodies of drained micro-batches (``pipeline_job(batch=...)``) -----------------------------------


def leads_route_drained(steps: list[tuple]) -> None:
    """Route a drain's waiting leads set-based (``leads_route_many``), one call per cause, each assignment announced
    on its own so every lead gets its own follow-up task and message, as ``lead_route_job`` does. Steps of several
    causes: all their leads are locked first, in ascending id (each call locks its own in that order, one cause
    after the other)."""
    by_cause: dict[str, list[int]] = {}
    for lead_id, *rest in steps:
        by_cause.setdefault(rest[0] if rest else "new lead", []).append(lead_id)
    if len(by_cause) > 1:
        leads_locked_in_order(lead_ids=[lead_id for lead_id, *_ in steps])
    for cause, lead_ids in by_cause.items():
        leads_route_many(lead_ids=lead_ids, cause=cause, announce_each=True)


def tasks_create_drained(steps: list[tuple]) -> None:
    """The follow-up tasks of a drain's assignments in one insert, each with its own message (no digest)."""
    tasks_create_for_decisions(decision_ids=[decision_id for decision_id, *_ in steps], digest=False)


def leads_stage_handoff_drained(steps: list[tuple]) -> None:
    """Hand a drain's SQL leads from their SDRs to the SQL rules set-based (``leads_stage_handoff_many``): the same
    decisions, cancelled tasks and per-lead follow-up tasks and messages as ``lead_stage_handoff_job``."""
    leads_stage_handoff_many(lead_ids=[lead_id for lead_id, *_ in steps])


def leads_trigger_tasks_drained(steps: list[tuple]) -> None:
    """A drain's trigger tasks in one insert, each with its own message (``leads_trigger_tasks``)."""
    leads_trigger_tasks(triggers=[(lead_id, kind, trigger_id, detail) for lead_id, kind, trigger_id, detail in steps])


# --- Jobs ---------------------------------------------------------------------------------------------------------


@pipeline_job(workflow=Workflow.ROUTING, object_type="lead", on_failure=lead_route_failed, batch=leads_route_drained,
              one_transaction=True)
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


@pipeline_job(workflow=Workflow.ROUTING, object_type="lead", on_failure=lead_route_failed,
              batch=leads_stage_handoff_drained, one_transaction=True)
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


@pipeline_job(workflow=Workflow.TASKS, object_type="routing_decision", batch=tasks_create_drained, one_transaction=True)
def task_create_job(decision_id: int) -> str:
    """Create the follow-up task of an assignment and queue its Slack message (kill switch: tasks)."""
    task = task_create_for_decision(decision_id=decision_id)
    return f"task {task.pk}" if task else "noop"


@periodic_job(workflow=Workflow.STALE_ALERTS)
def tasks_escalate_overdue_job() -> str:
    """Every few minutes: escalate overdue follow-ups to the team manager (kill switch: stale alerts)."""
    return f"escalated {tasks_escalate_overdue()} overdue tasks"


@periodic_job(workflow=Workflow.STAGE_SLA)
def stage_slas_check_job() -> str:
    """Hourly: time-in-stage SLAs (rep at 1×, manager at 2×, re-route at expiry; kill switch: stage SLAs)."""
    return ", ".join(f"{n} {name}" for name, n in stage_slas_check().items())


@periodic_job(workflow=Workflow.EMAIL_DIGEST)
def reps_digest_job() -> str:
    """Hourly: the e-mail digest of every rep whose local time is 08:00 (kill switch: e-mail digest)."""
    return f"queued {reps_digest_due()} digests"


@pipeline_job(workflow=Workflow.RE_ENGAGEMENT, object_type="lead")
def lead_reengage_job(lead_id: int, event_ids: list[int]) -> str:
    """New activity on a quiet or nurture lead: stage re-engaged, the rep alerted or the lead routed (kill switch:
    re-engagement)."""
    result = lead_reengage(lead_id=lead_id, event_ids=event_ids)
    return str(result) if result else "noop"


def lead_reengage_schedule(*, lead_id: int, event_ids: list[int], active_before: datetime | None = None,
                           stage: str = "") -> bool:
    """Events arrived on a lead that had gone quiet (or waits in nurture): its re-engagement, after commit.

    ``active_before`` (the events service's lower bound of the lead's last activity before them) inside the quiet
    period, on a lead not in nurture, answers without the lookup: the activity the job would compare is at least as
    recent, so the lead is not quiet. That keeps the query off the event API's hot path."""
    if not event_ids:
        return False
    now, quiet_days = timezone.now(), reengage_after_days()
    if active_before is not None and active_before >= now - timedelta(days=quiet_days) and stage != Stage.NURTURE:
        return False
    if not lead_reengage_candidate(lead_id=lead_id, event_ids=list(event_ids), quiet_days=quiet_days, now=now):
        return False
    enqueue_after_commit(lead_reengage_job, lead_id, list(event_ids))
    return True


@pipeline_job(workflow=Workflow.TASKS, object_type="lead", batch=leads_trigger_tasks_drained, one_transaction=True)
def lead_trigger_task_job(lead_id: int, kind: str, trigger_id: int, detail: dict | None = None) -> str:
    """A scoring trigger on an owned lead: a hot-lead or re-engagement task (kill switch: tasks)."""
    task = lead_trigger_task(lead_id=lead_id, kind=kind, trigger_id=trigger_id, detail=detail)
    return f"task {task.pk}" if task else "noop"


# --- Scheduling: routing one lead, a batch, a hand-off ------------------------------------------------------------


def lead_route_schedule(lead_id: int, cause: str) -> None:
    """Route the lead after the current transaction commits."""
    enqueue_after_commit(lead_route_job, lead_id, cause)


def lead_route_if_waiting_schedule(*, lead_id: int, cause: str,
                                   placement: tuple[int | None, str, int | None] | None = None) -> bool:
    """Schedule routing when the lead is waiting for it (no owner, not in review); True when scheduled.
    ``placement``: the lead's (owner_id, queue, merged_into_id) as its caller holds it locked (no query)."""
    waiting = (lead_waiting_for_routing(lead_id=lead_id) if placement is None
               else placement_waiting_for_routing(*placement))
    if waiting:
        lead_route_schedule(lead_id, cause)
    return waiting


def lead_data_arrived_schedule(*, lead_id: int, fields) -> bool:
    """A lead changed: when a field the rules read arrived, a lead waiting for it is routed again."""
    if not set(fields) & ROUTING_INPUT_FIELDS:
        return False
    return lead_route_if_waiting_schedule(lead_id=lead_id, cause="data arrived")


def lead_after_scoring_schedule(*, lead_id: int, old_stage: str | None, new_stage: str | None,
                                placement: tuple[int | None, str, int | None] | None = None) -> str:
    """After a score: route a lead that waits for routing; hand a lead an SDR owns that just became SQL to sales.
    ``placement``: the scored lead's (owner_id, queue, merged_into_id), as the scorer holds it locked.

    Returns what was scheduled: ``route``, ``handoff`` or ``""``.
    """
    if lead_route_if_waiting_schedule(lead_id=lead_id, cause="scored", placement=placement):
        return "route"
    if new_stage == Stage.SQL and old_stage != Stage.SQL:
        if lead_owned_by_sdr(lead_id=lead_id):
            enqueue_after_commit(lead_stage_handoff_job, lead_id)
            return "handoff"
    return ""


def leads_after_scoring_many_schedule(*, lead_ids: list[int], stage_moves: dict[int, tuple[str, str]]) -> dict:
    """After a batch was scored: route the leads waiting for routing as one batch; hand over, one by one, the
    leads an SDR owns that just became SQL (as ``lead_after_scoring_schedule`` does for one lead)."""
    waiting = leads_waiting_among(lead_ids=lead_ids)
    if waiting:
        enqueue_after_commit(leads_route_batch_job, waiting, "new lead")
    routed = set(waiting)
    became_sql = [lead_id for lead_id, (old, new) in stage_moves.items()
                  if new == Stage.SQL and old != Stage.SQL and lead_id not in routed]
    handoffs = leads_sdr_owned_among(lead_ids=became_sql)
    for lead_id in handoffs:
        enqueue_after_commit(lead_stage_handoff_job, lead_id)
    return {"route": len(waiting), "handoff": len(handoffs)}


def leads_unrouted_schedule(*, cause: str) -> int:
    """Schedule routing for every live lead waiting for it (after the routing switch comes back on)."""
    ids = leads_unrouted_ids()
    with transaction.atomic():
        for pk in ids:
            lead_route_schedule(pk, cause)
    return len(ids)


def routing_catch_up_schedule(*, cause: str = "routing resumed") -> dict[str, int]:
    """Schedule what the routing jobs skipped while the kill switch was off (called when it comes back on).

    Unrouted leads are routed; inactive reps who still own open leads have them re-routed; SQL leads still owned by
    an SDR are handed over. Every job re-checks its own condition, so scheduling one twice is harmless.
    """
    counts = {"leads": leads_unrouted_schedule(cause=cause), "reps": 0, "handoffs": 0}
    inactive = reps_inactive_with_open_leads_ids()
    handoffs = leads_sql_owned_by_sdr_ids()
    with transaction.atomic():
        for rep_id in inactive:
            enqueue_after_commit(rep_leads_reroute_job, rep_id)
        for lead_id in handoffs:
            enqueue_after_commit(lead_stage_handoff_job, lead_id)
    counts.update(reps=len(inactive), handoffs=len(handoffs))
    return counts


# --- Scheduling: re-routing ---------------------------------------------------------------------------------------


def rep_leads_reroute_schedule(*, rep_id: int) -> bool:
    """When a rep is inactive and still owns open leads, schedule their re-routing after commit; True if so."""
    if not rep_leads_reroute_needed(rep_id=rep_id):
        return False
    enqueue_after_commit(rep_leads_reroute_job, rep_id)
    return True


def user_leads_reroute_schedule(*, user_id: int) -> bool:
    """A user was deactivated: when they are a rep, their open leads are re-routed (``rep_leads_reroute_schedule``)."""
    rep_id = rep_id_of_user(user_id=user_id)
    return rep_id is not None and rep_leads_reroute_schedule(rep_id=rep_id)


def territory_leads_reroute_schedule(*, territory_id: int) -> None:
    """Re-route a territory's leads in a worker, after commit (admin action)."""
    enqueue_after_commit(territory_leads_reroute_job, territory_id)


# --- Scheduling: tasks --------------------------------------------------------------------------------------------


def task_create_schedule(*, decision_id: int) -> None:
    """Create the follow-up task of an assignment in a worker, after commit."""
    enqueue_after_commit(task_create_job, decision_id)


def tasks_create_batch_schedule(*, decision_ids: list[int]) -> None:
    """Create the follow-up tasks of a batch's assignments in one worker job, after commit."""
    enqueue_after_commit(tasks_create_batch_job, decision_ids)


def lead_trigger_task_schedule(*, lead_id: int, kind: str, trigger_id: int, detail: dict | None = None) -> bool:
    """A scoring trigger that asks the owner to act (hot, high intent, cold): its task in a worker, after commit."""
    if kind not in TRIGGER_TASKS:
        return False
    enqueue_after_commit(lead_trigger_task_job, lead_id, kind, trigger_id, detail or {})
    return True


# --- Nurture programs ---------------------------------------------------------------------------------------------


def leads_nurture_enroll_failed(lead_ids: list[int], workflow: str, message: str) -> None:
    """The batch failed: each lead gets its own enrollment job (own retries, own failure line in the log)."""
    for lead_id in lead_ids:
        enqueue_after_commit(lead_nurture_enroll_job, lead_id)


@pipeline_job(workflow=Workflow.NURTURE, object_type="lead")
def lead_nurture_enroll_job(lead_id: int) -> str:
    """A lead landed in the nurture queue: its nurture program (kill switch: nurture programs)."""
    enrollment = lead_nurture_enroll(lead_id=lead_id)
    return f"enrollment {enrollment.pk}" if enrollment else "not enrolled"


@batch_job(workflow=Workflow.NURTURE, object_type="lead", on_failure=leads_nurture_enroll_failed)
def leads_nurture_enroll_batch_job(lead_ids: list[int]) -> str:
    """A batch's leads landed in the nurture queue: their programs (kill switch: nurture programs)."""
    return f"{leads_nurture_enroll(lead_ids=lead_ids)} of {len(lead_ids)} leads enrolled"


@periodic_job(workflow=Workflow.NURTURE)
def nurture_steps_send_job() -> str:
    """Every 10 minutes: the nurture steps due, e-mailed through the outbox as one batch (kill switch: nurture
    programs; the sending itself: notifications)."""
    result = nurture_steps_send()
    notifications_send_schedule(result.notification_ids)
    return str(result)


def leads_nurture_enroll_schedule(*, lead_ids: list[int]) -> int:
    """Leads a routing decision put in the nurture queue: their enrollment after commit (one job, or one batch)."""
    if len(lead_ids) == 1:
        enqueue_after_commit(lead_nurture_enroll_job, lead_ids[0])
    elif lead_ids:
        enqueue_after_commit(leads_nurture_enroll_batch_job, list(lead_ids))
    return len(lead_ids)


def nurture_catch_up_schedule() -> int:
    """After the nurture switch comes back on: enroll the nurture-queue leads that were never enrolled (those that
    landed while it was off)."""
    ids = leads_nurture_unenrolled_ids()
    with transaction.atomic():
        for start in range(0, len(ids), 1000):
            leads_nurture_enroll_schedule(lead_ids=ids[start:start + 1000])
    return len(ids)
