"""Manual reassignment and undo: give leads to one rep by hand with a reason, and undo routing changes (previous
owners, queues and tasks come back)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leads.choices import Queue
from leads.models import Lead

from ..choices import TaskStatus
from ..models import Rep, RoutingDecision, Task
from ..selectors import rep_open_lead_counts
from .assignment import lead_routing_state
from .tasks import tasks_after_manual_move, tasks_move_open

CAUSE_REASSIGN = "manual reassign"


def _user_label(user) -> str:
    return user.get_username() if user is not None else ""


@dataclass
class ReassignResult:
    """What a bulk reassignment did: decisions written, leads skipped and why, capacity warnings."""

    decisions: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def reassigned(self) -> int:
        return len(self.decisions)


def leads_reassign(*, lead_ids: list[int], rep_id: int, reason: str, user) -> ReassignResult:
    """Give leads to one rep by hand, with a reason: one decision per lead, open tasks move with the lead.

    Steps: refuse an empty reason or an inactive rep; lock the leads (id order) then the rep; for each live lead
    not already the rep's, write a decision (cause "manual reassign", the user and reason in it), move its open
    tasks to the rep (or, when it had none, schedule a follow-up task), save the owner with history naming the
    user. A person may knowingly go over a rep's capacity: it is allowed and reported as a warning.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give a reason for the reassignment.")
    now = timezone.now()
    result = ReassignResult()
    with transaction.atomic():
        leads = list(Lead.objects.select_for_update(of=("self",)).filter(pk__in=lead_ids).order_by("pk"))
        rep = Rep.objects.select_for_update(of=("self",)).select_related("user", "team").get(pk=rep_id)
        if not rep.is_active or not rep.user.is_active:
            raise ValidationError(f"{rep} is inactive; choose an active rep.")
        who = _user_label(user) or "automation"
        for lead in leads:
            if lead.merged_into_id:
                result.skipped.append(f"{lead}: merged into #{lead.merged_into_id}")
                continue
            if lead.owner_id == rep.user_id:
                result.skipped.append(f"{lead}: already owned by {rep}")
                continue
            summary = f"reassigned to {rep} by {who}: {reason}"
            explanation: dict[str, Any] = {"at": now.isoformat(), "manual": {"user": who, "reason": reason},
                                           "before": lead_routing_state(lead)}
            explanation["moved_tasks"] = tasks_move_open(lead, to_user_id=rep.user_id, user=user,
                                                          reason=f"lead reassigned to {rep}: {reason}")
            decision = RoutingDecision.objects.create(
                lead=lead, rep=rep, owner_id=rep.user_id, previous_owner_id=lead.owner_id,
                previous_queue=lead.queue, queue=Queue.NONE, summary=summary[:500], explanation=explanation,
                cause=CAUSE_REASSIGN, user=user,
            )
            lead.owner_id, lead.queue, lead.queue_reason, lead.assigned_at = rep.user_id, Queue.NONE, "", now
            lead._history_user = user
            lead._change_reason = f"reassigned to {rep}: {reason}"[:1000]
            lead.save(update_fields=["owner", "queue", "queue_reason", "assigned_at", "updated_at"])
            tasks_after_manual_move(decision, lead, recipient=rep.slack_user_id or rep.team.slack_channel)
            result.decisions.append(decision.pk)
        if result.decisions:
            open_now = rep_open_lead_counts([rep])[rep.pk]
            if open_now > rep.capacity:
                result.warnings.append(f"{rep} now has {open_now} open leads, over their capacity of {rep.capacity}")
    return result


@dataclass
class UndoResult:
    """Decisions undone and the ones left as they were, with why."""

    undone: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def routing_decisions_undo(*, decision_ids: list[int], user) -> UndoResult:
    """Undo routing changes in one action: previous owners and queues come back, the decisions are marked undone.

    Steps: lock the leads (id order); take the decisions newest first so a chain of changes on one lead unwinds in
    order; undo one only when it is the lead's latest standing decision and the lead still has the owner and
    queue it gave (otherwise say why and leave it); cancel the open tasks it created, reopen the tasks it
    cancelled, give back the tasks it moved; restore owner, queue and queue reason with history naming the user.
    A previous owner who is now inactive does not get leads back. Round-robin turns are not rewound.
    """
    now = timezone.now()
    result = UndoResult()
    who = _user_label(user) or "automation"
    with transaction.atomic():
        lead_ids = sorted(set(RoutingDecision.objects.filter(pk__in=decision_ids).values_list("lead_id", flat=True)))
        leads = {lead.pk: lead for lead in
                 Lead.objects.select_for_update(of=("self",)).filter(pk__in=lead_ids).order_by("pk")}
        decisions = list(
            RoutingDecision.objects.filter(pk__in=decision_ids).select_related("previous_owner__rep", "owner")
            .order_by("-created_at", "-id")
        )
        for decision in decisions:
            lead = leads[decision.lead_id]
            label = f"decision #{decision.pk} ({lead})"
            if decision.undone_at:
                result.skipped.append(f"{label}: already undone")
                continue
            latest = (RoutingDecision.objects.filter(lead_id=lead.pk, undone_at__isnull=True)
                      .order_by("-created_at", "-id").values_list("pk", flat=True).first())
            if latest != decision.pk:
                result.skipped.append(f"{label}: a later routing change of this lead must be undone first")
                continue
            if lead.owner_id != decision.owner_id or lead.queue != decision.queue:
                result.skipped.append(f"{label}: the lead's owner or queue changed since; undo by hand")
                continue
            previous = decision.previous_owner
            previous_rep = getattr(previous, "rep", None) if previous else None
            if previous is not None and (not previous.is_active or (previous_rep and not previous_rep.is_active)):
                result.skipped.append(f"{label}: the previous owner {previous} is inactive")
                continue
            reason = f"undo of routing decision #{decision.pk} by {who}"
            for task in Task.objects.select_for_update().filter(decision=decision, status=TaskStatus.OPEN):
                task.status, task.outcome_note = TaskStatus.CANCELLED, reason
                task._history_user, task._change_reason = user, reason
                task.save(update_fields=["status", "outcome_note"])
            reopen = decision.explanation.get("cancelled_tasks") or []
            for task in Task.objects.select_for_update().filter(pk__in=reopen, status=TaskStatus.CANCELLED):
                task.status, task.outcome_note = TaskStatus.OPEN, ""
                task._history_user, task._change_reason = user, reason
                task.save(update_fields=["status", "outcome_note"])
            for move in decision.explanation.get("moved_tasks") or []:
                task = Task.objects.select_for_update().filter(pk=move["task"], status=TaskStatus.OPEN,
                                                               assignee_id=decision.owner_id).first()
                if task is not None:
                    task.assignee_id = move["from"]
                    task._history_user, task._change_reason = user, reason
                    task.save(update_fields=["assignee"])
            before = decision.explanation.get("before") or {}
            lead.owner_id = decision.previous_owner_id
            lead.queue = decision.previous_queue
            lead.queue_reason = before.get("queue_reason", "") if not lead.owner_id else ""
            lead.assigned_at = datetime.fromisoformat(before["assigned_at"]) if before.get("assigned_at") else None
            lead._history_user = user
            lead._change_reason = f"{reason}: {decision.summary}"[:1000]
            lead.save(update_fields=["owner", "queue", "queue_reason", "assigned_at", "updated_at"])
            decision.undone_at, decision.undone_by = now, user
            decision.save(update_fields=["undone_at", "undone_by"])
            result.undone.append(decision.pk)
    return result
