"""Business logic of the routing layer that writes: route a lead, create its follow-up task, announce it.

``lead_route`` explains every decision: the rules tried and why each did or did not match, the candidates of the
chosen pool and why each was skipped, and the strategy's state. When data a rule needs is missing the lead waits
in the holding queue and is routed again when the data arrives; when no rule matches, or a pool has nobody
available and no overflow, it goes to the review queue: never to a random rep, never to nobody.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from leads.choices import Outcome, Queue
from leads.models import Lead
from revops.jobs import enqueue_after_commit
from revops.notifications import notification_queue

from . import strategies
from .choices import RuleAction, Strategy, TaskKind, TaskStatus
from .models import Rep, RoutingDecision, RoutingPointer, RoutingRule, SlaPolicy, Task, Team, split_csv

# Queues a lead is routed out of automatically; a lead in review waits for a person.
ROUTABLE_QUEUES = frozenset({Queue.NONE, Queue.HOLDING, Queue.NURTURE})
CLOSED_STAGES = frozenset({"customer", "disqualified"})
DEFAULT_SLA_MINUTES = {"A": 60, "B": 240, "C": 1440, "D": 2880}


@dataclass
class RuleCheck:
    """Whether one rule matches a lead: True, False (with the failed condition) or None (data missing)."""

    matched: bool | None
    detail: str = ""
    missing: list[str] = field(default_factory=list)


def rule_check(rule: RoutingRule, lead: Lead) -> RuleCheck:
    """Test every condition of a rule against a lead; the first failing condition is the reason."""
    missing: list[str] = []

    def need(name: str, value: Any) -> bool:
        if value in (None, ""):
            missing.append(name)
            return False
        return True

    if rule.territory_id:
        covers = rule.territory.covers(country=lead.country, state=lead.state, postal_code=lead.postal_code)
        if covers is None:
            missing.append("location (country/state/postal code)")
        elif not covers:
            return RuleCheck(False, f"{lead.country or '?'} {lead.state} is outside territory {rule.territory}")
    countries = split_csv(rule.countries, upper=True)
    if countries and need("country", lead.country) and lead.country.upper() not in countries:
        return RuleCheck(False, f"country {lead.country} not in {', '.join(countries)}")
    if rule.min_employees is not None or rule.max_employees is not None:
        if need("employees", lead.employees):
            if rule.min_employees is not None and lead.employees < rule.min_employees:
                return RuleCheck(False, f"{lead.employees} employees < {rule.min_employees}")
            if rule.max_employees is not None and lead.employees > rule.max_employees:
                return RuleCheck(False, f"{lead.employees} employees > {rule.max_employees}")
    industries = split_csv(rule.industries)
    if industries and need("industry", lead.industry) and lead.industry.lower() not in industries:
        return RuleCheck(False, f"industry {lead.industry} not in {rule.industries}")
    seniorities = split_csv(rule.seniorities)
    if seniorities and need("seniority", lead.seniority) and lead.seniority.lower() not in seniorities:
        return RuleCheck(False, f"seniority {lead.seniority} not in {rule.seniorities}")
    if rule.min_score is not None or rule.max_score is not None:
        if need("score", lead.score):
            if rule.min_score is not None and lead.score < rule.min_score:
                return RuleCheck(False, f"score {lead.score} < {rule.min_score}")
            if rule.max_score is not None and lead.score > rule.max_score:
                return RuleCheck(False, f"score {lead.score} > {rule.max_score}")
    bands = split_csv(rule.bands, upper=True)
    if bands and need("band", lead.band) and lead.band.upper() not in bands:
        return RuleCheck(False, f"band {lead.band} not in {', '.join(bands)}")
    stages = split_csv(rule.stages)
    if stages and lead.stage not in stages:
        return RuleCheck(False, f"stage {lead.stage} not in {rule.stages}")
    sources = split_csv(rule.sources)
    if sources and (lead.source or "").lower() not in sources:
        return RuleCheck(False, f"source {lead.source or '(none)'} not in {rule.sources}")
    if missing:
        return RuleCheck(None, "missing " + ", ".join(missing), missing)
    return RuleCheck(True, "all conditions hold")


def rep_unavailable_reason(rep: Rep, now: datetime, open_leads: int, today: int, week: int) -> str | None:
    """Why a rep cannot take a lead now, or None when they can."""
    if not rep.is_active or not rep.user.is_active:
        return "inactive"
    if rep.out_of_office_from and rep.out_of_office_until and rep.out_of_office_from <= now <= rep.out_of_office_until:
        return f"out of office until {rep.out_of_office_until:%Y-%m-%d %H:%M} UTC"
    if rep.out_of_office_until and not rep.out_of_office_from and now <= rep.out_of_office_until:
        return f"out of office until {rep.out_of_office_until:%Y-%m-%d %H:%M} UTC"
    local = now.astimezone(zoneinfo.ZoneInfo(rep.time_zone)).time()
    start, end = rep.working_hours_start, rep.working_hours_end
    inside = start <= local <= end if start <= end else (local >= start or local <= end)
    if not inside:
        return f"outside working hours ({local:%H:%M} in {rep.time_zone}, works {start:%H:%M}–{end:%H:%M})"
    if open_leads >= rep.capacity:
        return f"at capacity ({open_leads}/{rep.capacity} open leads)"
    if rep.daily_cap is not None and today >= rep.daily_cap:
        return f"daily cap reached ({today}/{rep.daily_cap})"
    if rep.weekly_cap is not None and week >= rep.weekly_cap:
        return f"weekly cap reached ({week}/{rep.weekly_cap})"
    return None


def rep_open_lead_counts(reps: list[Rep]) -> dict[int, int]:
    """Open leads owned by each rep (one query)."""
    by_user = dict(
        Lead.objects.live()
        .filter(owner_id__in=[r.user_id for r in reps], outcome=Outcome.OPEN)
        .exclude(stage__in=CLOSED_STAGES)
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    return {r.pk: by_user.get(r.user_id, 0) for r in reps}


def _assignment_counts(reps: list[Rep], now: datetime) -> tuple[dict[int, int], dict[int, int]]:
    """New leads given to each rep today and this week (in UTC days)."""
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week_start = day_start - timedelta(days=day_start.weekday())
    rows = (
        RoutingDecision.objects.filter(rep__in=reps, created_at__gte=week_start, undone_at__isnull=True)
        .values("rep_id")
        .annotate(week=Count("id"), today=Count("id", filter=Q(created_at__gte=day_start)))
    )
    week = {row["rep_id"]: row["week"] for row in rows}
    today = {row["rep_id"]: row["today"] for row in rows}
    return today, week


def _performance_weights(reps: list[Rep], now: datetime) -> dict[int, float]:
    """1 + 10 × each rep's win rate over leads closed in the last 90 days."""
    since = now - timedelta(days=90)
    rows = (
        Lead.objects.filter(owner_id__in=[r.user_id for r in reps], closed_at__gte=since)
        .values("owner_id")
        .annotate(won=Count("id", filter=Q(outcome=Outcome.WON)), closed=Count("id"))
    )
    rate = {row["owner_id"]: row["won"] / row["closed"] for row in rows if row["closed"]}
    return {r.pk: 1.0 + 10.0 * rate.get(r.user_id, 0.0) for r in reps}


def _choose_from_team(rule: RoutingRule, team: Team, lead: Lead, now: datetime, explanation: dict) -> Rep | None:
    """Pick a rep of ``team`` by the rule's strategy, following overflow teams; None when nobody is available."""
    seen: set[int] = set()
    while team is not None and team.pk not in seen:
        seen.add(team.pk)
        pool = list(
            Rep.objects.select_for_update(of=("self",)).select_related("user").filter(team=team).order_by("pk")
        )
        if rule.match_rep_territory and rule.territory_id:
            pool = [r for r in pool if rule.territory in r.territories.all()]
        open_counts = rep_open_lead_counts(pool)
        today, week = _assignment_counts(pool, now)
        available, candidates = [], []
        for rep in pool:
            reason = rep_unavailable_reason(rep, now, open_counts[rep.pk], today.get(rep.pk, 0), week.get(rep.pk, 0))
            candidates.append({"rep": rep.pk, "name": str(rep), "team": team.name, "open_leads": open_counts[rep.pk],
                               "skipped": reason})
            if reason is None:
                available.append(rep)
        explanation.setdefault("candidates", []).extend(candidates)
        if available:
            pool_key = f"team:{team.pk}:{rule.strategy}"
            chosen_pool = available
            if rule.strategy == Strategy.SKILLS and lead.industry:
                skilled = [r for r in available if lead.industry.lower() in split_csv(r.skills)]
                explanation["skills"] = {"industry": lead.industry, "matching": [r.pk for r in skilled]}
                if skilled:
                    chosen_pool = skilled
                    pool_key += f":{lead.industry.lower()}"
            if rule.strategy == Strategy.ACCOUNT and lead.account_id and lead.account.owner_id:
                owner_rep = next((r for r in available if r.user_id == lead.account.owner_id), None)
                explanation["account_owner"] = lead.account.owner_id
                if owner_rep is not None:
                    explanation["strategy_state"] = {"strategy": "account", "account": lead.account_id}
                    return owner_rep
            pointer, _ = RoutingPointer.objects.get_or_create(pool_key=pool_key)
            pointer = RoutingPointer.objects.select_for_update().get(pk=pointer.pk)
            if rule.strategy == Strategy.WEIGHTED:
                chosen, state = strategies.weighted_round_robin(chosen_pool, pointer)
            elif rule.strategy == Strategy.PERFORMANCE:
                chosen, state = strategies.weighted_round_robin(
                    chosen_pool, pointer, _performance_weights(chosen_pool, now)
                )
            elif rule.strategy == Strategy.CAPACITY:
                chosen, state = strategies.fewest_open(chosen_pool, pointer, open_counts)
            else:
                chosen, state = strategies.round_robin(chosen_pool, pointer)
            pointer.save()
            explanation["strategy_state"] = state
            return chosen
        explanation.setdefault("overflow", []).append(f"nobody available in {team.name}")
        team = team.overflow_team
    return None


@dataclass
class RouteOutcome:
    decision: RoutingDecision | None
    action: str  # assigned, queued, noop


def lead_route(*, lead_id: int, cause: str = "new lead", force: bool = False, dry_run: bool = False) -> RouteOutcome:
    """Route one lead by the ordered rules and record why.

    Steps: lock the lead; skip it when it already has an owner, waits in review, or was merged (unless forced);
    try the active rules in order, noting each result; act on the first match (a rep, a team's strategy with
    overflow, or a queue); with no match go to holding when a rule lacked data, else to review; write the
    decision, the owner or queue (with history) and schedule the follow-up task after commit. A dry run does
    all the choosing inside a transaction that is rolled back.
    """
    now = timezone.now()
    with transaction.atomic():
        lead = Lead.objects.select_for_update(of=("self",)).select_related("account").get(pk=lead_id)
        if not force and (lead.merged_into_id or lead.owner_id or lead.queue not in ROUTABLE_QUEUES):
            return RouteOutcome(None, "noop")
        explanation: dict[str, Any] = {"rules": [], "at": now.isoformat()}
        matched_rule, missing_data = None, []
        rules = RoutingRule.objects.filter(active=True).select_related("territory", "team", "rep__user")
        for rule in rules:
            check = rule_check(rule, lead)
            explanation["rules"].append({"rule": rule.pk, "name": rule.name, "matched": check.matched,
                                         "detail": check.detail})
            if check.matched:
                matched_rule = rule
                break
            if check.matched is None:
                missing_data.extend(m for m in check.missing if m not in missing_data)
        owner_rep, queue, summary = None, Queue.NONE, ""
        if matched_rule is None:
            if missing_data:
                queue = Queue.HOLDING
                summary = f"holding: waiting for {', '.join(missing_data)}"
            else:
                queue = Queue.REVIEW
                summary = "review: no routing rule matched"
        elif matched_rule.action == RuleAction.QUEUE:
            queue = matched_rule.queue
            summary = f"{queue} queue by rule '{matched_rule.name}'"
        elif matched_rule.action == RuleAction.ASSIGN_REP:
            rep = matched_rule.rep
            counts = rep_open_lead_counts([rep])
            today, week = _assignment_counts([rep], now)
            reason = rep_unavailable_reason(rep, now, counts[rep.pk], today.get(rep.pk, 0), week.get(rep.pk, 0))
            explanation["candidates"] = [{"rep": rep.pk, "name": str(rep), "open_leads": counts[rep.pk],
                                          "skipped": reason}]
            if reason is None:
                owner_rep = rep
            elif rep.team.overflow_team_id:
                owner_rep = _choose_from_team(matched_rule, rep.team.overflow_team, lead, now, explanation)
            if owner_rep is None:
                queue = Queue.REVIEW
                summary = f"review: {rep} unavailable ({reason}) and no overflow by rule '{matched_rule.name}'"
        else:
            owner_rep = _choose_from_team(matched_rule, matched_rule.team, lead, now, explanation)
            if owner_rep is None:
                queue = Queue.REVIEW
                summary = (
                    f"review: nobody available in {matched_rule.team} or its overflow (rule '{matched_rule.name}')"
                )
        if owner_rep is not None:
            summary = f"assigned to {owner_rep} by rule '{matched_rule.name}'" + (
                f" ({matched_rule.get_strategy_display().lower()})" if matched_rule.action == RuleAction.ASSIGN_TEAM
                else ""
            )
        if not force and owner_rep is None and queue == lead.queue and lead.queue_reason == summary:
            return RouteOutcome(None, "noop")
        decision = RoutingDecision(
            lead=lead, rule=matched_rule, rep=owner_rep, owner=owner_rep.user if owner_rep else None,
            previous_owner=lead.owner, previous_queue=lead.queue, queue=queue,
            strategy=matched_rule.strategy if matched_rule and matched_rule.action == RuleAction.ASSIGN_TEAM else "",
            summary=summary[:500], explanation=explanation, cause=cause[:100],
        )
        if dry_run:
            transaction.set_rollback(True)
            return RouteOutcome(decision, "dry_run")
        decision.save()
        lead.owner = owner_rep.user if owner_rep else None
        lead.queue = queue
        lead.queue_reason = "" if owner_rep else summary[:500]
        if owner_rep:
            lead.assigned_at = now
        lead._change_reason = f"automation:routing {summary}"[:1000]
        lead.save(update_fields=["owner", "queue", "queue_reason", "assigned_at", "updated_at"])
        if owner_rep is not None:
            from .jobs import task_create_job

            enqueue_after_commit(task_create_job, decision.pk)
    return RouteOutcome(decision, "assigned" if owner_rep else "queued")


def lead_route_failed(lead_id: int, workflow: str, message: str) -> None:
    """Routing crashed: the lead goes to the review queue with the error, never to a random rep."""
    from leads.services import lead_send_to_review

    lead_send_to_review(lead_id, workflow, message)


def lead_route_schedule(lead_id: int, cause: str) -> None:
    """Route the lead after the current transaction commits."""
    from .jobs import lead_route_job

    enqueue_after_commit(lead_route_job, lead_id, cause)


def lead_route_if_waiting(*, lead_id: int, cause: str) -> bool:
    """Schedule routing when the lead is waiting for it (no owner, not in review); True when scheduled."""
    waiting = (
        Lead.objects.live()
        .filter(pk=lead_id, owner__isnull=True, queue__in=list(ROUTABLE_QUEUES))
        .exists()
    )
    if waiting:
        lead_route_schedule(lead_id, cause)
    return waiting


def leads_unrouted_schedule(*, cause: str) -> int:
    """Schedule routing for every live lead waiting for it (after the routing switch comes back on)."""
    ids = list(
        Lead.objects.live()
        .filter(owner__isnull=True, queue__in=[Queue.NONE, Queue.HOLDING], score__isnull=False)
        .values_list("pk", flat=True)
    )
    with transaction.atomic():
        for pk in ids:
            lead_route_schedule(pk, cause)
    return len(ids)


def sla_minutes_for(band: str, stage: str) -> tuple[int, int]:
    """The follow-up SLA and escalation delay: the most specific SlaPolicy, else the built-in defaults."""
    policies = list(SlaPolicy.objects.filter(Q(band=band) | Q(band=""), Q(stage=stage) | Q(stage="")))
    if policies:
        best = max(policies, key=lambda p: (bool(p.band), bool(p.stage)))
        return best.minutes, best.escalate_after_minutes
    return DEFAULT_SLA_MINUTES.get(band, 1440), 60


def task_create_for_decision(*, decision_id: int) -> Task | None:
    """Create the follow-up task of an assignment (once per decision) and queue the rep's Slack message.

    Nothing is created when the decision was undone or the lead has since moved to someone else.
    """
    with transaction.atomic():
        decision = RoutingDecision.objects.select_related("lead", "rep__team", "owner").get(pk=decision_id)
        lead = Lead.objects.select_for_update().get(pk=decision.lead_id)
        if decision.undone_at or decision.owner_id is None or lead.owner_id != decision.owner_id:
            return None
        minutes, _ = sla_minutes_for(lead.band, lead.stage)
        name = lead.full_name or lead.email or lead.phone
        task, created = Task.objects.get_or_create(
            dedup_key=f"follow_up:decision:{decision.pk}",
            defaults={
                "lead": lead, "assignee": decision.owner, "decision": decision, "kind": TaskKind.FOLLOW_UP,
                "title": f"Follow up {name}" + (f" ({lead.company})" if lead.company else ""),
                "due_at": timezone.now() + timedelta(minutes=minutes),
            },
        )
        if created:
            task._change_reason = f"automation:tasks follow-up due in {minutes} min (band {lead.band or '-'})"
            task.save(update_fields=[])
            _task_notify(task, lead, decision.rep)
    return task


def _task_notify(task: Task, lead: Lead, rep: Rep | None) -> None:
    reasons = ", ".join(f"{r['label']} ({r['points']:+d})" for r in lead.score_reasons[:3] if r.get("points"))
    name = lead.full_name or lead.email
    due = timezone.localtime(task.due_at).strftime("%H:%M %Z")
    link = f"{settings.LEADFLOW_BASE_URL}/workspace/leads/{lead.pk}/"
    who = name + (f", {lead.title}" if lead.title else "") + (f" at {lead.company}" if lead.company else "")
    score = lead.score if lead.score is not None else "-"
    text = (
        f"New lead for you: {who}. Score {score} (band {lead.band or '-'}, {lead.get_stage_display()})."
        + (f" Why: {reasons}." if reasons else "")
        + f" Follow up by {due}: {link}"
    )
    recipient = (rep.slack_user_id if rep else "") or (rep.team.slack_channel if rep else "")
    notification_queue(dedup_key=f"task:{task.pk}:assigned", recipient=recipient, text=text,
                       object_type="task", object_id=task.pk)


def task_complete(*, task_id: int, user, note: str = "") -> Task:
    """Mark a task done (by its assignee or a manager)."""
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task_id)
        if task.status != TaskStatus.OPEN:
            return task
        task.status = TaskStatus.DONE
        task.completed_at = timezone.now()
        task.outcome_note = note[:500]
        task._history_user = user
        task._change_reason = "completed" + (f": {note}" if note else "")
        task.full_clean()
        task.save()
    return task


def leads_reroute(*, lead_ids: list[int], user=None, reason: str) -> int:
    """Clear the owner and queue of the given leads and route them again now (admin action, territory change)."""
    count = 0
    for lead_id in lead_ids:
        with transaction.atomic():
            lead = Lead.objects.select_for_update().get(pk=lead_id)
            if lead.merged_into_id:
                continue
            lead_route(lead_id=lead_id, cause=reason, force=True)
            count += 1
    return count


def tasks_escalate_overdue(*, now: datetime | None = None) -> int:
    """Alert the team manager (or channel) once for every open task overdue past its escalation delay."""
    now = now or timezone.now()
    escalated = 0
    overdue = Task.objects.filter(status=TaskStatus.OPEN, escalated_at__isnull=True, due_at__lt=now).select_related(
        "lead", "assignee__rep__team__manager__rep"
    )
    for task in overdue[:1000]:
        _, escalate_after = sla_minutes_for(task.lead.band, task.lead.stage)
        if task.due_at + timedelta(minutes=escalate_after) > now:
            continue
        with transaction.atomic():
            claimed = Task.objects.filter(pk=task.pk, escalated_at__isnull=True).update(escalated_at=now)
            if not claimed:
                continue
            rep = getattr(task.assignee, "rep", None)
            team = rep.team if rep else None
            manager_rep = getattr(team.manager, "rep", None) if team and team.manager else None
            recipient = (manager_rep.slack_user_id if manager_rep else "") or (team.slack_channel if team else "")
            overdue_minutes = int((now - task.due_at).total_seconds() // 60)
            notification_queue(
                dedup_key=f"task:{task.pk}:escalated",
                recipient=recipient,
                text=f"Overdue by {overdue_minutes} min: '{task.title}' for "
                f"{task.assignee.get_full_name() or task.assignee} "
                f"(lead score {task.lead.score}, band {task.lead.band or '-'}). "
                f"{settings.LEADFLOW_BASE_URL}/workspace/leads/{task.lead_id}/",
                object_type="task",
                object_id=task.pk,
            )
            escalated += 1
    return escalated
