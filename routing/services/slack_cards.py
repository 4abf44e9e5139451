"""The facts of a rep's task message as a ``TaskCard`` (Slack's Block Kit now; the same facts for other channels):
name, company, title, score and band, the top reasons, the routing rule, the due time in the rep's zone, a link."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.utils import timezone

from leads.models import Lead
from revops.base.channels.slack import TaskCard
from revops.base.db.sql import rows_compiled_once

from ..models import Rep, RoutingDecision, Task
from ..priority import task_priority


def due_for_rep(task: Task, rep: Rep | None) -> str:
    """The due time as the rep reads it, in their own time zone."""
    zone = zoneinfo.ZoneInfo(rep.time_zone) if rep and rep.time_zone else timezone.get_current_timezone()
    return task.due_at.astimezone(zone).strftime("%a %d %b %H:%M %Z")


def routing_rule_label(task: Task) -> str:
    """The rule that chose the rep (else the decision's summary; empty without a decision)."""
    if not task.decision_id:
        return ""
    # Two columns only (a decision's row carries its whole explanation), compiled once: every task message asks.
    rows = rows_compiled_once("task card rule label",
                              lambda: RoutingDecision.objects.filter(pk=0).values_list("rule__name", "summary"),
                              [task.decision_id])
    if not rows:
        return ""
    return _rule_label(*rows[0])


def routing_rule_labels(decision_ids: list[int]) -> dict[int, str]:
    """:func:`routing_rule_label` of many tasks' decisions in one query (a drain's batch of task messages), by
    decision id."""
    if not decision_ids:
        return {}
    rows = RoutingDecision.objects.filter(pk__in=set(decision_ids)).order_by().values_list("pk", "rule__name",
                                                                                          "summary")
    return {pk: _rule_label(rule_name, summary) for pk, rule_name, summary in rows}


def _rule_label(rule_name: str | None, summary: str) -> str:
    return f"rule {rule_name}" if rule_name is not None else summary


def task_card(task: Task, lead: Lead, rep: Rep | None, *, rule: str | None = None) -> TaskCard:
    """The card of a task's message; ``rule``: its routing rule's label when the caller read it already (a batch,
    ``routing_rule_labels``), else read here."""
    name = lead.full_name or lead.email
    who = ", ".join(filter(None, [lead.title, lead.company]))
    reasons = [f"{r['label']} ({r['points']:+d})" for r in (lead.score_reasons or [])[:3] if r.get("points")]
    score = f"{lead.score if lead.score is not None else '-'} (band {lead.band or '-'})"
    priority = task_priority(score=lead.score, band=lead.band, due_at=task.due_at, now=timezone.now())
    return TaskCard(
        task_id=task.pk,
        headline=f"New lead for you: {name}",
        who=who or lead.email,
        score=score,
        reasons=reasons,
        rule=routing_rule_label(task) if rule is None else rule,
        due=due_for_rep(task, rep),
        priority=str(priority),
        link=f"{settings.LEADFLOW_BASE_URL}/workspace/leads/{lead.pk}/",
    )
