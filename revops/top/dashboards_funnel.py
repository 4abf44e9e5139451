"""The cohort funnel from the lead history: of the leads created in the period, how many ever reached each stage.
A lead counts as having reached a stage when any of its history rows holds that stage or a later funnel stage, so a
lead that decayed out of MQL, was disqualified or suppressed later still counts as having reached MQL."""

from __future__ import annotations

from django.db.models import Count, Q

from leads.choices import Stage
from leads.models import Lead

FUNNEL = [Stage.NEW, Stage.ENGAGED, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER]


def cohort_funnel(leads) -> list[dict]:
    """One row per funnel stage: leads of the cohort that ever reached it, the share of the cohort, and the
    conversion from the previous stage. One aggregate query over the history rows of the cohort."""
    history = Lead.history.model.objects.filter(id__in=leads.values("id"))
    counts = history.aggregate(**{
        stage: Count("id", distinct=True, filter=Q(stage__in=FUNNEL[index:]))
        for index, stage in enumerate(FUNNEL) if index
    })
    cohort = leads.count()
    counts[Stage.NEW] = cohort  # every lead of the cohort was created, whatever stage it was created in
    rows, previous = [], None
    for stage in FUNNEL:
        reached = counts[stage]
        rows.append({
            "stage": Stage(stage).label, "reached": reached,
            "reached_pct": round(100 * reached / cohort, 1) if cohort else None,
            "from_previous_pct": (round(100 * reached / previous, 1) if previous else None)
            if previous is not None else None,
        })
        previous = reached
    return rows
