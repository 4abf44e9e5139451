"""Counted figures from the daily roll-up (revops/top/models.py ``LeadDay``): the leads of the period, grouped by a
few dimensions, with their deal values. Whole days of the period are summed from the roll-up (thousands of rows at a
million leads); a preset period ("the last 90 days") starts inside a day, and that day's leads from the boundary on
are counted from the facts. The figures are exact: the roll-up is the facts grouped, refreshed before a page reads.

The figures derived here are those of the overview and the band table that count leads: the cohort funnel (the
furthest stage each lead reached), conversion and deal value by band, the sources; and, company wide whatever the
period, the queues and the open leads per owner. Medians and percentiles are not counts: they read
the facts (dashboards_bands.py, dashboards_speed.py)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db import connection
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from leads.choices import CLOSED_STAGES, Outcome, Stage
from leads.stage_models import FUNNEL_STAGES as FUNNEL

from .dashboard_facts import day_start, lead_facts_refresh_quietly, live_facts
from .dashboards_bands import band_rows, median_days_to_close
from .dashboards_filters import PERIODS, DashboardFilters
from .duration_days import digest_select
from .models import DurationDay, LeadDay, LeadFacts, TaskDay


class PeriodSplit(NamedTuple):
    """The period under some filters, split where the roll-ups answer: ``days`` a roll-up's rows of the whole days;
    ``edge`` a preset period's first, partial day as its live facts (None: the period has no such day); ``whole`` the
    live facts of the whole days (the leads ``days`` counts)."""

    days: QuerySet
    edge: QuerySet | None
    whole: QuerySet


def period_split(filters: DashboardFilters, roll_up: type[LeadDay | DurationDay | TaskDay]) -> PeriodSplit:
    """The period under ``filters`` for ``roll_up`` (``PeriodSplit``), from one reading of the clock. The facts are
    refreshed first."""
    lead_facts_refresh_quietly()
    days = filters.apply_dimensions(roll_up.objects.all())
    live = LeadFacts.objects.filter(merged=False)
    edge, whole = None, filters.apply(live)
    if filters.created_from or filters.created_to:  # whole days of the settings' time zone
        if filters.created_from:
            days = days.filter(day__gte=filters.created_from)
        if filters.created_to:
            days = days.filter(day__lte=filters.created_to)
    elif PERIODS[filters.period] is not None:  # from a moment: the rest of its day, then whole days
        since = timezone.now() - timedelta(days=PERIODS[filters.period])
        first_day = timezone.localdate(since)
        boundary = day_start(first_day + timedelta(days=1))
        days = days.filter(day__gt=first_day)
        edge = filters.apply_dimensions(live).filter(created_at__gte=since, created_at__lt=boundary)
        whole = filters.apply_dimensions(live).filter(created_at__gte=boundary)
    return PeriodSplit(days, edge, whole)


def duration_buckets(filters: DashboardFilters, metrics: tuple[int, ...], by: list[str]) -> list[tuple]:
    """The durations' digest of the period under ``filters`` (duration_days.py): rows of (*``by``, metric, bucket,
    histogram bucket, leads) for ``metrics``, the whole days' rows summed and a preset period's first day bucketed
    from its facts in the same way."""
    days, edge, _ = period_split(filters, DurationDay)
    rows = list(days.filter(metric__in=metrics).order_by().values_list(*by, "metric", "bucket", "hours")
                .annotate(leads=Sum("n")))
    if edge is not None:
        sql, params = digest_select(edge, by, metrics)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows += cursor.fetchall()
    return rows


def lead_counts(filters: DashboardFilters, *by: str) -> list[dict]:
    """The live leads under ``filters`` grouped by ``by`` (roll-up dimensions: source, campaign, segment, owner_id,
    band, stage, outcome, reached, queue): one row per combination with ``n`` (leads), ``deal_n`` (with a deal
    value) and ``deal_sum``."""
    days, edge, _ = period_split(filters, LeadDay)
    totals: dict[tuple, dict] = {}

    def add(row: dict) -> None:
        key = tuple(row[name] for name in by)
        found = totals.setdefault(key, {**{name: row[name] for name in by}, "n": 0, "deal_n": 0,
                                        "deal_sum": Decimal(0)})
        found["n"] += row["n"]
        found["deal_n"] += row["deal_n"]
        found["deal_sum"] += Decimal(row["deal_sum"] or 0)

    for row in days.order_by().values(*by).annotate(n=Sum("n"), deal_n=Sum("deal_n"), deal_sum=Sum("deal_sum")):
        add(row)
    if edge is not None:
        for row in edge.order_by().values(*by).annotate(n=Count("id"), deal_n=Count("deal_value"),
                                                       deal_sum=Sum("deal_value")):
            add(row)
    return list(totals.values())


def _sum(rows: list[dict], key: str, **where) -> dict:
    totals: dict = defaultdict(int)
    for row in rows:
        if all(row[name] == value for name, value in where.items()):
            totals[row[key]] += row["n"]
    return totals


def cohort_from(rows: list[dict]) -> tuple[int, dict[str, int]]:
    """The cohort's size and, per funnel stage after "new", the leads that ever reached it (rows grouped by
    ``reached``: the furthest stage a lead reached; a lead counts at every stage up to it)."""
    furthest = _sum(rows, "reached")
    return sum(furthest.values()), {stage: sum(n for rank, n in furthest.items() if rank >= index)
                                    for index, stage in enumerate(FUNNEL) if index}


def bands_from(rows: list[dict]) -> dict[str, dict]:
    """Per band (rows grouped by ``band`` and ``outcome``): leads, won, lost, open, average and total won deal
    value, as ``dashboards_bands.band_rows`` takes them."""
    grouped: dict[str, dict] = {}
    for row in rows:
        if not row["band"]:
            continue
        band = grouped.setdefault(row["band"], {"band": row["band"], "leads": 0, "won": 0, "lost": 0, "open": 0,
                                                "deal_n": 0, "total_deal": None})
        band["leads"] += row["n"]
        if row["outcome"] in (Outcome.WON, Outcome.LOST, Outcome.OPEN):
            band[row["outcome"]] += row["n"]
        if row["outcome"] == Outcome.WON and row["deal_n"]:
            band["deal_n"] += row["deal_n"]
            band["total_deal"] = (band["total_deal"] or Decimal(0)) + row["deal_sum"]
    for band in grouped.values():
        deals = band.pop("deal_n")
        band["avg_deal"] = band["total_deal"] / deals if deals else None
    return grouped


def sources_from(rows: list[dict]) -> list[dict]:
    """Per source (rows grouped by ``source``, ``reached`` and ``outcome``): leads, those that ever reached MQL,
    those won; most leads first."""
    mql = FUNNEL.index(Stage.MQL)
    by_source: dict[str, dict] = {}
    for row in rows:
        source = by_source.setdefault(row["source"], {"source": row["source"], "leads": 0, "mql": 0, "won": 0})
        source["leads"] += row["n"]
        source["mql"] += row["n"] if row["reached"] >= mql else 0
        source["won"] += row["n"] if row["outcome"] == Outcome.WON else 0
    ordered = sorted(by_source.values(), key=lambda row: -row["leads"])
    return [{**row, "source": row["source"] or "(none)"} for row in ordered]


def queues_now() -> dict[str, int]:
    """Live leads waiting in each queue now."""
    return dict(_sum(dimension_counts(DashboardFilters(), "queue"), "queue"))


def dimension_counts(filters: DashboardFilters, *by: str) -> list[dict]:
    """``lead_counts`` under every filter but the period (figures that are "now", such as the workload)."""
    return lead_counts(replace(filters, period="all", created_from=None, created_to=None), *by)


def bands_counted(filters: DashboardFilters, counts: list[dict] | None = None) -> list[dict]:
    """The band table of the period: its counts from the roll-up (``counts`` grouped by at least ``band`` and
    ``outcome``, or read here), the median days to close from the won leads' facts."""
    counts = lead_counts(filters, "band", "outcome") if counts is None else counts
    return band_rows(bands_from(counts), median_days_to_close(filters.apply(live_facts())))


def open_leads_per_owner(rows: list[dict], *, closed_stages: bool = False) -> dict[int, int]:
    """Per owner, their open leads (rows grouped by ``owner_id``, ``outcome`` and ``stage``); a lead in a closed
    stage (customer, disqualified) counts only with ``closed_stages``."""
    return dict(_sum([row for row in rows if row["owner_id"] is not None and row["outcome"] == Outcome.OPEN
                      and (closed_stages or row["stage"] not in CLOSED_STAGES)], "owner_id"))
