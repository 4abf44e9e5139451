"""The rep workspace: a rep's task queue and lead pages (managers see their teams')."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from leads.models import Lead
from routing.selectors import routing_decision_latest, task_list_for
from routing.services import task_complete

from . import dashboards


@login_required
def workspace(request: HttpRequest) -> HttpResponse:
    """Open tasks first, overdue on top; the rep's newest leads below."""
    tasks = task_list_for(user=request.user)
    status = request.GET.get("status", "open")
    if status in {"open", "done"}:
        tasks = tasks.filter(status=status)
    leads = Lead.objects.live().filter(owner=request.user).order_by("-assigned_at")[:25]
    return render(request, "workspace/index.html", {
        "tasks": tasks[:200], "leads": leads, "now": timezone.now(), "status": status,
    })


@login_required
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = Lead.objects.select_related("owner", "account").filter(pk=lead_id).first()
    if lead is None:
        raise Http404("no such lead")
    allowed = (
        request.user.is_superuser or request.user.has_perm("leads.view_lead") or lead.owner_id == request.user.pk
    )
    if not allowed:
        raise Http404("no such lead")
    contact = [part for part in (lead.email, lead.phone or lead.phone_raw, lead.country) if part]
    return render(request, "workspace/lead.html", {
        "lead": lead,
        "contact": contact,
        "decision": routing_decision_latest(lead_id=lead.pk),
        "events": lead.events.all()[:50],
        "tasks": lead.tasks.select_related("assignee").all(),
        "now": timezone.now(),
    })


@login_required
@require_POST
def task_done(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_list_for(user=request.user).filter(pk=task_id).first()
    if task is None:
        raise Http404("no such task")
    task_complete(task_id=task.pk, user=request.user, note=request.POST.get("note", ""))
    messages.success(request, f"Done: {task.title}")
    return redirect(request.POST.get("next") or "workspace")


PERIODS = {"30": 30, "90": 90, "365": 365, "all": None}


@login_required
@permission_required("leads.view_lead", raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    """Funnel, conversion by score band, sources, queues, SLA compliance and workload (managers, RevOps)."""


    period = request.GET.get("period", "90")
    days = PERIODS.get(period, 90)
    leads = Lead.objects.live()
    if days is not None:
        leads = leads.filter(created_at__gte=timezone.now() - timedelta(days=days))
    return render(request, "workspace/dashboard.html", {
        "period": period, "periods": list(PERIODS), "total": leads.count(),
        "funnel": dashboards.funnel(leads), "bands": dashboards.band_conversion(leads),
        "sources": dashboards.sources(leads), "queues": dashboards.queues(), "sla": dashboards.sla(days=days or 3650),
        "workload": dashboards.workload(),
    })
