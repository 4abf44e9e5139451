"""Dashboard figures: the funnel, conversion by score band, queues, SLAs and workload. Reads only."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, F, Q
from django.utils import timezone

from leads.choices import Outcome, Queue, Stage
from leads.models import NEEDS_PERSON, DuplicateReview, Lead
from leads.services import stage_summary_refresh_quietly
from leads.stage_models import FUNNEL_STAGES as FUNNEL
from routing.choices import TaskStatus
from routing.models import Rep, Task

from .dashboards_counts import dimension_counts, open_leads_per_owner, queues_now
from .dashboards_filters import DashboardFilters


def funnel(leads) -> list[dict]:
    """Leads per lifecycle stage, and the share of all live leads that reached at least that stage."""
    counts = dict(leads.values_list("stage").annotate(n=Count("id")).values_list("stage", "n"))
    total = sum(counts.values()) or 1
    rows, reached = [], sum(counts.get(stage, 0) for stage in FUNNEL)
    for stage in FUNNEL:
        rows.append({"stage": Stage(stage).label, "count": counts.get(stage, 0),
                     "reached_pct": round(100 * reached / total, 1)})
        reached -= counts.get(stage, 0)
    for stage in (Stage.NURTURE, Stage.DISQUALIFIED, Stage.SUPPRESSED):
        rows.append({"stage": Stage(stage).label, "count": counts.get(stage, 0), "reached_pct": None})
    return rows


def band_conversion(leads) -> list[dict]:
    """Per score band: leads, closed, won, lost and the win rate of closed leads (is the score predictive?)."""
    rows = (
        leads.exclude(band="")
        .values("band")
        .annotate(leads=Count("id"), won=Count("id", filter=Q(outcome=Outcome.WON)),
                  lost=Count("id", filter=Q(outcome=Outcome.LOST)))
        .order_by("band")
    )
    result = []
    for row in rows:
        closed = row["won"] + row["lost"]
        result.append({**row, "closed": closed, "win_rate": round(100 * row["won"] / closed, 1) if closed else None})
    return result


def queues() -> dict[str, int]:
    """Leads waiting now, per queue (from the daily roll-up), open duplicate reviews, and leads whose enrichment
    needs a person (a partial index on the lead table)."""
    waiting = queues_now()
    return {
        "holding": waiting.get(Queue.HOLDING, 0),
        "review": waiting.get(Queue.REVIEW, 0),
        "nurture": waiting.get(Queue.NURTURE, 0),
        "duplicate_reviews": DuplicateReview.objects.filter(status="open").count(),
        "needs_manual_enrichment": Lead.objects.live().filter(enrichment_status__in=NEEDS_PERSON).count(),
    }


def sla(now=None, days: int = 30) -> dict:
    """Follow-ups of the last ``days``: done on time, done late, open overdue, open in time (one statement)."""
    now = now or timezone.now()
    done, still_open = Q(status=TaskStatus.DONE), Q(status=TaskStatus.OPEN)
    counts = Task.objects.filter(created_at__gte=now - timedelta(days=days)).aggregate(
        created=Count("id"),
        done=Count("id", filter=done),
        done_on_time=Count("id", filter=done & Q(completed_at__lte=F("due_at"))),
        open_overdue=Count("id", filter=still_open & Q(due_at__lt=now)),
        open_in_time=Count("id", filter=still_open & Q(due_at__gte=now)),
        escalated=Count("id", filter=Q(escalated_at__isnull=False)),
    )
    done_count = counts.pop("done")
    figures = {**counts, "done_late": done_count - counts["done_on_time"]}
    finished = figures["done_on_time"] + figures["done_late"] + figures["open_overdue"]
    figures["on_time_pct"] = round(100 * figures["done_on_time"] / finished, 1) if finished else None
    return figures


def workload() -> list[dict]:
    """Per rep: open leads against capacity (from the daily roll-up), open and overdue tasks."""
    now = timezone.now()
    reps = Rep.objects.select_related("user", "team").order_by("team__name", "user__username")
    open_leads = open_leads_per_owner(dimension_counts(DashboardFilters(), "owner_id", "outcome", "stage"),
                                      closed_stages=True)
    tasks = {row["assignee_id"]: row for row in Task.objects.filter(status=TaskStatus.OPEN).values("assignee_id")
             .annotate(open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now)))}
    return [{"rep": str(rep), "team": rep.team.name, "active": rep.is_active,
             "open_leads": open_leads.get(rep.user_id, 0), "capacity": rep.capacity,
             "open_tasks": tasks.get(rep.user_id, {}).get("open", 0),
             "overdue_tasks": tasks.get(rep.user_id, {}).get("overdue", 0)} for rep in reps]




def sources(leads) -> list[dict]:
    """Per source: leads, those that ever reached MQL or a later stage (their stage history, as the funnel counts:
    a lead that decayed back or was disqualified since still counts), and those won."""
    stage_summary_refresh_quietly()  # the funnel summary: the first time each lead reached MQL (leads/stage_models.py)
    rows = (leads.values("source")
            .annotate(leads=Count("id"), mql=Count("id", filter=Q(stage_reach__mql_at__isnull=False)),
                      won=Count("id", filter=Q(outcome=Outcome.WON)))
            .order_by("-leads"))
    return [{**row, "source": row["source"] or "(none)"} for row in rows]
