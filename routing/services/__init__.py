"""Business logic of the routing layer that writes, by topic; every public service is importable from here.

- ``assignment``: route one lead (``lead_route``) or a bulk import's leads (``leads_route_many``), the rules tried
  and the explanation of each decision, the failure hook (to the review queue);
- ``pools``: availability (inactive, out of office, working hours, capacity, caps), the pool lock and its order,
  the loads read after it, the round-robin pointer and the strategy's choice;
- ``handoff``: an SQL lead an SDR owns goes to the SQL rules;
- ``reroute``: a deactivated rep's leads, a territory change, "route again";
- ``reassign``: manual reassignment with a reason, and undo of routing changes;
- ``rebalance``: even out a team's open leads;
- ``governance``: preview a rule set with drafts on recent leads, activate drafts;
- ``tasks``: follow-up tasks of assignments (one or a batch), tasks following a lead, the open tasks of a closed
  lead cancelled;
- ``triggers``: scoring's triggers' tasks (hot, high intent, cold) for the owner after a due hand-off;
- ``sla``: due times (``SlaPolicy`` over band, stage and source, in the rep's working time) and the escalation of
  overdue tasks;
- ``task_actions``: what a person does with a task, with an explicit actor (complete with a disposition, snooze,
  accept, reject, ask to reassign);
- ``task_templates``: the template of a kind of lead (source × band × stage) and its texts with the lead's fields;
- ``stage_sla``: time-in-stage SLAs (rep at 1×, manager at 2×, re-route at expiry);
- ``reengagement``: new activity on a quiet or nurture lead → stage re-engaged, the rep alerted or the lead routed;
- ``nurture``: nurture programs: enroll the leads routing puts in the nurture queue, send each program's e-mail
  steps when due (consent checked at send time), stop an enrollment when its lead leaves nurture;
- ``first_assignment``: the first assignment of each lead, summarised from the decisions for the dashboards;
- ``decision_repeats``: each decision's earlier decisions of the same kind set again after its dates moved;
- ``messages``: every Slack text (new task, a batch's digest, moved task, trigger task, escalation).

Services never enqueue jobs: they announce what they committed with routing's signals (signals.py), and the
receivers schedule the next step (jobs.py). Reads are in selectors.py.
"""

from .assignment import (
    BATCH_CHUNK,
    EXPLAIN_RULES_IN_FULL,
    RouteManyResult,
    RouteOutcome,
    lead_route,
    lead_route_failed,
    lead_routing_state,
    leads_route_many,
)
from .decision_repeats import decision_repeats_refresh
from .first_assignment import (
    first_assignments_rebuild,
    first_assignments_refresh,
    first_assignments_refresh_quietly,
)
from .governance import PREVIEW_MAX_LEADS, PreviewRow, RoutingPreview, routing_preview, routing_rules_activate
from .handoff import CAUSE_STAGE_HANDOFF, lead_stage_handoff, leads_stage_handoff_many
from .messages import task_escalation_notify, task_moved_notify, task_notify, tasks_digest_notify, trigger_task_notify
from .nurture import (
    NurtureSendResult,
    lead_nurture_enroll,
    lead_nurture_stop,
    lead_nurture_stop_closed,
    leads_nurture_enroll,
    nurture_enrollments_stop,
    nurture_follow_routing,
    nurture_steps_send,
)
from .pools import rep_unavailable_reason
from .reassign import CAUSE_REASSIGN, ReassignResult, UndoResult, leads_reassign, routing_decisions_undo
from .rebalance import CAUSE_REBALANCE, RebalanceResult, routing_rebalance
from .reengagement import REENGAGE_STAGES, ReengageResult, lead_reengage, reengage_after_days
from .reroute import (
    CAUSE_REP_DEACTIVATED,
    CAUSE_TERRITORY,
    RerouteResult,
    leads_reroute,
    rep_leads_reroute,
    territory_leads_reroute,
    territory_leads_reroute_request,
)
from .sla import (
    DEFAULT_SLA_MINUTES,
    due_at_for,
    rep_working_time,
    sla_minutes_for,
    sla_policy_for,
    tasks_escalate_overdue,
    tomorrow_morning_for,
)
from .stage_sla import stage_slas_check
from .task_actions import (
    CompleteResult,
    TaskActionRefused,
    disqualify_reasons,
    disqualify_reasons_defaults_ensure,
    task_accept,
    task_actor_may_act,
    task_complete,
    task_reassign_request,
    task_reject,
    task_snooze,
)
from .task_templates import RenderedTemplate, task_template_for, task_template_render, template_fill
from .tasks import (
    lead_tasks_close,
    lead_tasks_follow_merge,
    lead_tasks_follow_unmerge,
    task_create_for_decision,
    tasks_create_for_decisions,
)
from .triggers import TRIGGER_TASKS, lead_trigger_task, leads_trigger_tasks

__all__ = [
    "NurtureSendResult", "lead_nurture_enroll", "lead_nurture_stop", "lead_nurture_stop_closed",
    "leads_nurture_enroll", "nurture_enrollments_stop", "nurture_follow_routing", "nurture_steps_send",
    "REENGAGE_STAGES", "ReengageResult", "lead_reengage", "reengage_after_days", "stage_slas_check",
    "RenderedTemplate", "task_template_for", "task_template_render", "template_fill",
    "CompleteResult", "TaskActionRefused", "disqualify_reasons",
    "disqualify_reasons_defaults_ensure", "due_at_for", "lead_tasks_close", "rep_working_time",
    "sla_policy_for", "task_accept", "task_actor_may_act", "task_reassign_request", "task_reject", "task_snooze",
    "tomorrow_morning_for",
    "BATCH_CHUNK", "CAUSE_REASSIGN", "CAUSE_REBALANCE", "CAUSE_REP_DEACTIVATED", "CAUSE_STAGE_HANDOFF",
    "CAUSE_TERRITORY", "DEFAULT_SLA_MINUTES", "EXPLAIN_RULES_IN_FULL", "PREVIEW_MAX_LEADS", "TRIGGER_TASKS",
    "PreviewRow", "ReassignResult", "RebalanceResult", "RerouteResult", "RouteManyResult", "RouteOutcome",
    "RoutingPreview", "UndoResult", "lead_route", "lead_route_failed", "lead_routing_state", "lead_stage_handoff",
    "lead_tasks_follow_merge", "lead_tasks_follow_unmerge", "lead_trigger_task", "leads_reassign", "leads_reroute",
    "leads_route_many", "leads_stage_handoff_many", "leads_trigger_tasks",
    "rep_leads_reroute", "rep_unavailable_reason", "routing_decisions_undo", "routing_preview",
    "routing_rebalance", "routing_rules_activate", "sla_minutes_for", "task_complete", "task_create_for_decision",
    "task_escalation_notify", "task_moved_notify", "task_notify", "tasks_create_for_decisions",
    "tasks_digest_notify", "tasks_escalate_overdue", "territory_leads_reroute", "territory_leads_reroute_request",
    "trigger_task_notify",
    "decision_repeats_refresh",
    "first_assignments_rebuild",
    "first_assignments_refresh",
    "first_assignments_refresh_quietly",
]
