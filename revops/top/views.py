"""The dashboards (managers, RevOps); the rep workspace is in workspace.py."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from leads.models import Lead

from . import dashboards

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
