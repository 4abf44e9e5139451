"""The rep workspace: the task queue (sort, filter, counts, paging), the lead page with its actions, and the
manager's view (teams' queue, breaches, reassignment requests, reassign in one action).

Every action is a POST (CSRF-protected by the middleware) that calls one service with the user as the actor; the
``next`` parameter is read and checked (same site only) before anything is written, so a bad value can only ever
send the user back to the default page.
"""

from __future__ import annotations

import zoneinfo
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from leads.choices import Stage, Transition
from leads.models import Lead
from leads.services import events_record, lead_touch_apply, lead_transition
from leads.timezones import lead_time_zone
from revops.base.boundary import BoundaryError, datetime_utc
from revops.base.presentation import changes_html, history_rows_annotate, json_html, reasons_html
from revops.base.roles import is_revops_admin
from routing.choices import Disposition, TaskStatus
from routing.models import Rep
from routing.scoping import TRIAGE_QUEUES, leads_visible_to, managed_team_ids, reps_visible_to
from routing.selectors import (
    TASK_SORTS,
    TaskQuery,
    routing_decision_latest,
    stage_sla_alerts_for,
    task_list_for,
    task_queue,
    task_queue_counts,
)
from routing.services import (
    disqualify_reasons,
    leads_reassign,
    task_accept,
    task_complete,
    task_reassign_request,
    task_snooze,
    task_template_render,
)
from scoring.choices import FeedbackReason
from scoring.services import score_feedback_create

from .access import workspace_user_required

PAGE_SIZE = 50
LOG_KINDS = {"call": "call_logged", "email": "email_sent", "note": "note"}


def safe_next(request: HttpRequest, default: str) -> str:
    """The ``next`` parameter when it points into this site, else ``default`` (read before any write)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


def _query(request: HttpRequest) -> TaskQuery:
    get = request.GET
    band = get.get("band", "")
    stage = get.get("stage", "")
    status = get.get("status", "open")
    return TaskQuery(
        status="" if status == "all" else status if status in TaskStatus.values else "open",
        band=band if band in {"A", "B", "C", "D"} else "", stage=stage if stage in Stage.values else "",
        overdue=get.get("overdue") == "1", reassign_requested=get.get("reassign") == "1",
        sort=get.get("sort") if get.get("sort") in TASK_SORTS else "priority",
        assignee=int(get["assignee"]) if get.get("assignee", "").isdigit() else None,
    )


@workspace_user_required
def workspace(request: HttpRequest) -> HttpResponse:
    """The queue: counts at the top, filters and sort, overdue highlighted, 50 a page; the rep's newest leads."""
    now = timezone.now()
    query = _query(request)
    page = Paginator(task_queue(user=request.user, query=query, now=now), PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "workspace/index.html", {
        "page": page, "tasks": page.object_list, "now": now, "query": query, "params": params.urlencode(),
        "counts": task_queue_counts(user=request.user, now=now), "sorts": list(TASK_SORTS),
        "bands": ["A", "B", "C", "D"], "stages": Stage.choices, "status": request.GET.get("status", "open"),
        "leads": Lead.objects.live().filter(owner=request.user).order_by("-assigned_at")[:10],
        "is_manager": _manages_a_team(request.user), **_action_context(request),
        "team_reps": reps_visible_to(request.user, Rep.objects.select_related("user"))
        if _manages_a_team(request.user) else Rep.objects.none(),
    })


def _action_context(request: HttpRequest) -> dict:
    """What the task cards need: the choices, the page to come back to, the user's time zone."""
    rep = Rep.objects.filter(user=request.user).first()
    return {"dispositions": Disposition.choices, "reasons": disqualify_reasons(), "next": request.get_full_path(),
            "user_tz": rep.time_zone if rep else timezone.get_current_timezone_name()}


def _manages_a_team(user) -> bool:
    return is_revops_admin(user) or bool(managed_team_ids(user))


def _lead_for(request: HttpRequest, lead_id: int) -> Lead:
    """The lead when the user may see it (``routing.scoping.leads_visible_to``), else a 404."""
    lead = leads_visible_to(request.user, Lead.objects.select_related("owner", "account")).filter(pk=lead_id).first()
    if lead is None:
        raise Http404("no such lead")
    return lead


@workspace_user_required
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The lead page: score and reasons, routing explanation, tasks with their actions, log, close, timeline."""
    lead = _lead_for(request, lead_id)
    place = ", ".join(part for part in (lead.city, lead.state, lead.country) if part)  # "Seattle, WA, US"
    contact = [part for part in (lead.email, lead.phone or lead.phone_raw, place) if part]
    # The admin's renderers (revops.base.presentation): reasons that add up, history changes for people, JSON as
    # small tables, the automation user by name.
    history = list(lead.history.select_related("history_user").all()[:21])
    history_rows_annotate(history)
    history = history[:20]
    for record in history:
        record.changes_html = changes_html(record.readable_changes)
    events = list(lead.events.all()[:50])
    for event in events:
        event.properties_html = json_html(event.properties) if event.properties else ""
    return render(request, "workspace/lead.html", {
        "lead": lead, "contact": contact, "decision": routing_decision_latest(lead_id=lead.pk),
        "events": events, "tasks": lead.tasks.select_related("assignee").all(), "history": history,
        "reasons_html": reasons_html(lead.score_reasons, score=lead.score),
        "feedback_reasons": FeedbackReason.choices,
        "template": task_template_render(lead, owner_first_name=lead.owner.first_name if lead.owner else ""),
        "now": timezone.now(), "local_time": _lead_local_time(lead), **_action_context(request),
    })


def _lead_local_time(lead) -> str:
    """The lead's time now ("Mon 10:42 CST, America/Chicago"), from its country and state; empty when unknown."""
    zone = lead_time_zone(lead.country, lead.state)
    if not zone:
        return ""
    return f"{timezone.now().astimezone(zoneinfo.ZoneInfo(zone)):%a %H:%M %Z}, {zone}"


def _back(request: HttpRequest, default: str, call, done: str) -> HttpResponse:
    """Run one service call; a refusal is a message (never half-written); always back to a same-site page."""
    try:
        call()
    except PermissionDenied:
        raise
    except ValidationError as exc:
        messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
                       if hasattr(exc, "error_dict") else " ".join(exc.messages))
    else:
        messages.success(request, done)
    return HttpResponseRedirect(default)


def _decimal(value: str) -> Decimal | None:
    if not value.strip():
        return None
    try:
        return Decimal(value.replace(",", "").strip())
    except InvalidOperation as exc:
        raise ValidationError({"deal_value": "a number, e.g. 25000"}) from exc


@workspace_user_required
@require_POST
def task_action(request: HttpRequest, task_id: int, action: str) -> HttpResponse:
    """complete (disposition, reason, deal value, note), snooze (1h, tomorrow, a time), accept, reassign (reason)."""
    target = safe_next(request, reverse("workspace"))  # checked before any write
    task = task_list_for(user=request.user).filter(pk=task_id).first()
    if task is None:
        raise Http404("no such task")
    post = request.POST

    def run():
        if action == "complete":
            return task_complete(task_id=task.pk, actor=request.user,
                                 disposition=post.get("disposition") or Disposition.CONTACTED,
                                 reason=post.get("reason", ""), note=post.get("note", ""),
                                 deal_value=_decimal(post.get("deal_value", "")))
        if action == "snooze":
            until = parse_datetime(post.get("until", "")) if post.get("until") else None
            if until is not None and timezone.is_naive(until):
                until = timezone.make_aware(until, timezone.get_current_timezone())
            if until is not None:
                try:
                    until = datetime_utc(until, field="until")
                except BoundaryError as exc:
                    raise ValidationError({"until": exc.reason}) from None
            return task_snooze(task_id=task.pk, actor=request.user, preset=post.get("preset", ""), until=until)
        if action == "accept":
            return task_accept(task_id=task.pk, actor=request.user)
        if action == "reassign":
            return task_reassign_request(task_id=task.pk, actor=request.user, reason=post.get("reason", ""))
        raise Http404("no such action")

    done = {"complete": "Completed", "snooze": "Snoozed", "accept": "Accepted", "reassign": "Asked to reassign"}
    return _back(request, target, run, f"{done.get(action, action)}: {task.title}")


@workspace_user_required
@require_POST
def lead_action(request: HttpRequest, lead_id: int, action: str) -> HttpResponse:
    """won / lost (with deal value) through the lifecycle; log a call, an e-mail or a note as an activity."""
    target = safe_next(request, reverse("workspace-lead", args=[lead_id]))
    lead = _lead_for(request, lead_id)
    if lead.owner_id != request.user.pk and not request.user.has_perm("leads.change_lead"):
        raise PermissionDenied("only the owner or a manager may change this lead")
    post = request.POST

    def run():
        if action in ("won", "lost"):
            return lead_transition(lead_id=lead.pk, to=Transition(action), user=request.user,
                                   reason=post.get("note", "") or f"marked {action} in the workspace",
                                   deal_value=_decimal(post.get("deal_value", "")), interaction=True)
        if action == "score_wrong":
            return score_feedback_create(lead_id=lead.pk, user=request.user, reason=post.get("reason", ""),
                                         comment=post.get("note", ""))
        if action in LOG_KINDS:
            note = post.get("note", "").strip()[:1000]
            if action == "note" and not note:
                raise ValidationError({"note": "write the note"})
            now = timezone.now()
            with transaction.atomic():
                events_record(lead_id=lead.pk, items=[{"type": LOG_KINDS[action], "occurred_at": now,
                                                       "source": "rep",
                                                       "properties": {"note": note, "by": request.user.username}}])
                touched = Lead.objects.select_for_update().get(pk=lead.pk)
                touched._history_user = request.user
                touched._change_reason = f"{action} logged in the workspace"
                return touched.save(update_fields=lead_touch_apply(touched, at=now))
        raise Http404("no such action")

    done = {"won": "Marked won", "lost": "Marked lost", "call": "Call logged", "email": "E-mail logged",
            "note": "Note added", "score_wrong": "Score flagged"}
    return _back(request, target, run, f"{done.get(action, action)}: {lead}")


@workspace_user_required
@permission_required("leads.change_lead", raise_exception=True)
def manager_view(request: HttpRequest) -> HttpResponse:
    """The teams' queue for their manager: breaches (overdue), reassignment requests, snoozed past the limit, and the
    leads waiting for a rep in the holding and review queues (oldest first) to place with one of theirs."""
    now = timezone.now()
    base = task_queue(user=request.user, query=TaskQuery(sort="due"), now=now)
    waiting = (leads_visible_to(request.user, Lead.objects.live()).filter(owner__isnull=True, queue__in=TRIAGE_QUEUES)
               .order_by("created_at", "id"))
    return render(request, "workspace/manager.html", {
        "waiting": waiting[:50], "waiting_count": waiting.count(),
        "now": now, "counts": task_queue_counts(user=request.user, now=now), **_action_context(request),
        "requests": base.filter(reassign_requested_at__isnull=False)[:100],
        "overdue": base.filter(due_at__lt=now)[:100],
        "reps": reps_visible_to(request.user, Rep.objects.select_related("user", "team")).filter(is_active=True),
        "stage_breaches": stage_sla_alerts_for(user=request.user)[:50],
    })


def _give_to_posted_rep(request: HttpRequest, target: str, lead_id: int, reason: str, done: str) -> HttpResponse:
    """Give the lead to the posted ``rep`` when it is one of the user's teams' reps (``reps_visible_to``), through
    ``leads_reassign`` (a routing decision with the reason, the follow-up task, the history)."""
    try:
        rep_id = int(request.POST.get("rep", ""))
    except ValueError:
        rep_id = None
    if rep_id is None or not reps_visible_to(request.user).filter(pk=rep_id).exists():
        messages.error(request, "rep: choose a rep of your teams")
        return HttpResponseRedirect(target)

    def run():
        result = leads_reassign(lead_ids=[lead_id], rep_id=rep_id, reason=reason, user=request.user)
        if not result.reassigned:
            raise ValidationError("; ".join(result.skipped) or "not assigned")
        return result

    return _back(request, target, run, done)


@workspace_user_required
@permission_required("leads.change_lead", raise_exception=True)
@require_POST
def manager_reassign(request: HttpRequest, task_id: int) -> HttpResponse:
    """Reassign a task's lead to another rep in one action (open tasks move with it; the request is answered)."""
    target = safe_next(request, reverse("workspace-manager"))
    task = task_list_for(user=request.user).filter(pk=task_id).first()
    if task is None:
        raise Http404("no such task")
    reason = request.POST.get("reason", "").strip() or task.reassign_reason or "reassigned by the manager"
    return _give_to_posted_rep(request, target, task.lead_id, reason, f"Reassigned: {task.lead}")


@workspace_user_required
@permission_required("leads.change_lead", raise_exception=True)
@require_POST
def manager_assign(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Give a lead to a rep of the manager's teams in one action: a waiting lead (holding or review queue) or one of
    their teams' leads."""
    target = safe_next(request, reverse("workspace-manager"))
    lead = leads_visible_to(request.user, Lead.objects.live()).filter(pk=lead_id).first()
    if lead is None:
        raise Http404("no such lead")
    reason = request.POST.get("reason", "").strip()[:300] or "assigned by the manager"
    return _give_to_posted_rep(request, target, lead.pk, reason, f"Assigned: {lead}")

