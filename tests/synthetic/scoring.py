"""Synthetic scoring data for benchmarks and tests: closed leads as predictive rows, and leads and events straight
into the database for the set-based paths.

``synthetic_closed_leads`` draws realistic closed leads (rows and outcomes) with planted effects, no database.
``open_leads`` and ``closed_leads`` insert leads and events with one ``executemany`` per batch (every other column
gets its model default), so a million leads take seconds: no model instances, no signals, no history. Never used by
the application itself.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection, models, transaction
from django.utils import timezone

from leads.models import Lead, LeadEvent
from leads.normalize import size_band_for

_COUNTRIES = ["US", "GB", "DE", "FR", "CA", "AU", "NL", "IN", "BR", "SE", "ES", "JP"]
_COUNTRY_P = [0.38, 0.12, 0.09, 0.07, 0.06, 0.05, 0.04, 0.06, 0.04, 0.03, 0.03, 0.03]
_INDUSTRIES = {
    "Technology": 0.5,
    "Financial Services": 0.3,
    "Healthcare": 0.1,
    "Manufacturing": 0.0,
    "Retail": -0.1,
    "Professional Services": 0.15,
    "Media": -0.1,
    "Education": -0.4,
    "Government": -0.5,
    "Non-profit": -0.6,
}
_INDUSTRY_P = [0.26, 0.12, 0.10, 0.11, 0.09, 0.10, 0.06, 0.06, 0.05, 0.05]
_SENIORITY = {"c_level": 0.5, "vp": 0.7, "director": 0.4, "manager": 0.1, "individual_contributor": -0.4}
_SENIORITY_P = [0.06, 0.12, 0.2, 0.27, 0.35]
_DEPARTMENTS = ["sales", "marketing", "engineering", "finance", "operations", "it", "hr"]
_DEPARTMENT_P = [0.22, 0.2, 0.18, 0.1, 0.12, 0.12, 0.06]
_SOURCES = {
    "referral": 0.8,
    "partner": 0.5,
    "event": 0.4,
    "webinar": 0.3,
    "organic": 0.1,
    "paid_search": 0.0,
    "content_download": -0.2,
    "outbound": -0.4,
}
_SOURCE_P = [0.07, 0.06, 0.08, 0.14, 0.2, 0.18, 0.15, 0.12]
_PLANS = {"enterprise": 0.4, "pro": 0.2, "free": -0.3}


def synthetic_closed_leads(n: int, *, seed: int = 0) -> tuple[list[dict], list[bool]]:
    """Generate ``n`` realistic closed leads and their outcomes (True = won), deterministic per ``seed``.

    Steps: 1) draw firmographics (country, industry, log-normal headcount with its size band as ingestion derives
    it, and revenue), persona (seniority, department), lead source and a ``custom:plan_interest`` attribute;
    2) draw a latent engagement level that drives email opens, pricing-page visits, events, recency and demo
    requests; 3) build the win log-odds from a few planted effects - pricing-page visits strongest, then seniority,
    source, industry, a mid-market size sweet spot and recency (the last two non-linear, so boosting has something
    to find) - plus Gaussian noise; 4) sample outcomes (about 20% won, achievable AUC around 0.8) and blank out some
    values so missing-value handling is exercised.
    """
    rng = np.random.default_rng(seed)
    country = rng.choice(_COUNTRIES, size=n, p=_COUNTRY_P)
    industry = rng.choice(list(_INDUSTRIES), size=n, p=_INDUSTRY_P)
    employees = np.clip(np.round(rng.lognormal(np.log(150), 1.5, size=n)), 1, 250_000).astype(int)
    revenue = employees * rng.lognormal(np.log(160_000), 0.5, size=n)
    seniority = rng.choice(list(_SENIORITY), size=n, p=_SENIORITY_P)
    department = rng.choice(_DEPARTMENTS, size=n, p=_DEPARTMENT_P)
    source = rng.choice(list(_SOURCES), size=n, p=_SOURCE_P)
    plan = rng.choice(list(_PLANS), size=n, p=[0.2, 0.45, 0.35])

    engagement = rng.gamma(2.0, 0.5, size=n)
    email_opens = rng.poisson(2.5 * engagement)
    pricing_visits = rng.poisson(0.7 * engagement)
    events = rng.poisson(6.0 * engagement)
    days_since = np.round(rng.exponential(20.0 / (0.3 + engagement), size=n)).astype(int)
    demo = rng.random(n) < 0.05 + 0.1 * engagement
    personal_email = rng.random(n) < 0.15

    log_odds = (
        -2.2
        + 0.6 * np.minimum(pricing_visits, 6)
        + np.vectorize(_SENIORITY.get)(seniority)
        + np.vectorize(_SOURCES.get)(source)
        + np.vectorize(_INDUSTRIES.get)(industry)
        + np.vectorize(_PLANS.get)(plan)
        # Enterprise interest only converts where there is an enterprise to sell to.
        + np.where(plan == "enterprise", np.where(employees >= 1000, 0.9, -0.7), 0.0)
        # Pricing-page visits from a decision maker weigh more than from an individual contributor.
        + 0.25 * np.minimum(pricing_visits, 4) * np.isin(seniority, ["c_level", "vp"])
        - 0.2 * (np.log(employees) - np.log(800)) ** 2
        + 1.5 * np.exp(-days_since / 7.0) * (events > 0)
        + 0.5 * demo
        - 0.6 * personal_email
        + 0.1 * engagement
        + rng.normal(0.0, 0.5, size=n)
    )
    won = rng.random(n) < 1.0 / (1.0 + np.exp(-log_odds))

    missing_revenue = rng.random(n) < 0.25
    missing_seniority = rng.random(n) < 0.08
    missing_plan = rng.random(n) < 0.3
    rows: list[dict] = []
    for i in range(n):
        row: dict[str, Any] = {
            "country": str(country[i]),
            "industry": str(industry[i]),
            "size_band": size_band_for(int(employees[i])),
            "employees": int(employees[i]),
            "seniority": None if missing_seniority[i] else str(seniority[i]),
            "department": str(department[i]),
            "source": str(source[i]),
            "annual_revenue": None if missing_revenue[i] else round(float(revenue[i]), -3),
            "email_opens_30d": int(email_opens[i]),
            "pricing_visits_30d": int(pricing_visits[i]),
            "events_90d": int(events[i]),
            "days_since_last_event": None if events[i] == 0 else int(days_since[i]),
            "demo_requested": bool(demo[i]),
            "personal_email": bool(personal_email[i]),
            "custom:plan_interest": None if missing_plan[i] else str(plan[i]),
        }
        rows.append(row)
    return rows, [bool(w) for w in won]


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]],
                *, batch_size: int = 20_000) -> int:
    """Insert ``rows`` (values for ``columns``) into the model's table; other columns get their defaults."""
    now = timezone.now()
    fields = {f.name: f for f in model._meta.concrete_fields}
    given = [fields[name] for name in columns]
    rest = [f for f in model._meta.concrete_fields if f.name not in columns and not f.primary_key]

    def default(field: models.Field) -> Any:
        if isinstance(field, models.DateTimeField) and (field.auto_now or field.auto_now_add):
            value = now
        else:
            value = field.get_default()
        return field.get_db_prep_save(value, connection)

    defaults = tuple(default(f) for f in rest)
    simple = (models.CharField, models.IntegerField, models.BooleanField, models.FloatField, models.ForeignKey)
    converters = []
    for field in given:
        if isinstance(field, models.DateTimeField):
            converters.append(connection.ops.adapt_datetimefield_value)
        elif isinstance(field, models.JSONField):
            converters.append(lambda v, f=field: f.get_db_prep_save(v, connection))
        elif isinstance(field, simple) and not isinstance(field, models.DecimalField):
            converters.append(None)
        else:
            converters.append(lambda v, f=field: f.get_db_prep_save(v, connection))
    names = ", ".join(f.column for f in [*given, *rest])
    sql = (f"INSERT INTO {model._meta.db_table} ({names}) VALUES "
           f"({', '.join(['%s'] * (len(given) + len(rest)))})")
    count = 0
    batch: list[tuple] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(tuple(v if c is None or v is None else c(v) for c, v in zip(converters, row, strict=True))
                         + defaults)
            if len(batch) >= batch_size:
                with transaction.atomic():
                    cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            with transaction.atomic():
                cursor.executemany(sql, batch)
            count += len(batch)
    return count


# The predictive generator's seniority names, in the lead layer's vocabulary (and its 20-character column).
SENIORITY = {"individual_contributor": "individual"}


def _new_ids(before: int) -> list[int]:
    """Ids of the leads just inserted, in insertion order (a sequence need not continue from the highest id)."""
    return list(Lead.objects.filter(id__gt=before).order_by("id").values_list("id", flat=True))


OPEN_LEAD_COLUMNS = ("first_name", "email", "country", "industry", "employees", "seniority", "title", "source",
                     "consent", "stage", "custom")
EVENT_COLUMNS = ("lead", "type", "occurred_at", "properties", "source")


def open_leads(n: int, *, seed: int = 0, now: datetime | None = None, engaged_share: float = 0.5,
               max_events: int = 6, history_days: int = 120) -> tuple[int, int]:
    """Insert ``n`` open leads (a share of them with engagement events of the last ``history_days``).

    Returns (leads, events) inserted. Lead ids follow the table's current maximum.
    """
    rng = random.Random(seed)
    now = now or timezone.now()
    before = Lead.objects.order_by("-id").values_list("id", flat=True).first() or 0
    countries = ["US", "US", "CA", "GB", "DE", "FR", "IN", ""]
    industries = ["Technology", "Technology", "Financial Services", "Healthcare", "Retail", "Education", ""]
    seniorities = ["vp", "c_level", "director", "manager", "individual", ""]

    def lead_rows():
        for i in range(n):
            yield (f"Lead{i}", f"lead{seed}-{i}@example.com", rng.choice(countries), rng.choice(industries),
                   rng.choice([None, 8, 40, 120, 300, 900, 4000]), rng.choice(seniorities),
                   rng.choice(["VP Sales", "Engineer", "Student", "Head of Ops"]),
                   rng.choice(["webform", "event", "referral"]), "unknown", "new",
                   {"plan": rng.choice(["free", "pro", "enterprise"])})

    leads = insert_rows(Lead, OPEN_LEAD_COLUMNS, lead_rows())
    ids = _new_ids(before)
    kinds = [("page_view", {"url": "https://acme.example/pricing"}), ("page_view", {"url": "https://acme.example/blog"}),
             ("email_open", {}), ("email_open", {}), ("demo_request", {}), ("webinar_attended", {})]

    def event_rows():
        for i in range(n):
            if rng.random() >= engaged_share:
                continue
            for _ in range(rng.randint(1, max_events)):
                kind, props = rng.choice(kinds)
                at = now - timedelta(seconds=rng.uniform(0, history_days * 86400))
                yield (ids[i], kind, at, props, "synthetic")

    events = insert_rows(LeadEvent, EVENT_COLUMNS, event_rows())
    return leads, events


def closed_leads(n: int, *, seed: int = 0, now: datetime | None = None) -> tuple[int, int]:
    """Insert ``n`` closed (won or lost) leads from :func:`synthetic_closed_leads`, with events that
    reproduce each lead's engagement aggregates before its close date. Returns (leads, events) inserted.
    """
    rng = random.Random(seed)
    now = now or timezone.now()
    rows, outcomes = synthetic_closed_leads(n, seed=seed)
    before = Lead.objects.order_by("-id").values_list("id", flat=True).first() or 0
    closed_at = [now - timedelta(days=rng.uniform(1, 400)) for _ in range(n)]
    columns = ("email", "country", "industry", "employees", "size_band", "annual_revenue", "seniority",
               "department", "source", "custom", "outcome", "closed_at", "stage", "consent")

    def lead_rows():
        for i, (row, won) in enumerate(zip(rows, outcomes, strict=True)):
            revenue = row["annual_revenue"]
            plan = row["custom:plan_interest"]
            yield (f"closed{seed}-{i}@example.com", row["country"], row["industry"], row["employees"],
                   row["size_band"], None if revenue is None else Decimal(str(revenue)),
                   SENIORITY.get(row["seniority"], row["seniority"] or ""),
                   row["department"], row["source"], {"plan_interest": plan} if plan else {},
                   "won" if won else "lost", closed_at[i], "customer" if won else "disqualified", "opt_in")

    leads = insert_rows(Lead, columns, lead_rows())
    ids = _new_ids(before)

    def event_rows():
        for i, row in enumerate(rows):
            lead_id, close = ids[i], closed_at[i]

            def at(days: float, close: datetime = close) -> datetime:
                return close - timedelta(days=days, seconds=rng.uniform(0, 3600))

            newest = row["days_since_last_event"]
            if newest is not None:
                yield (lead_id, "page_view", at(newest), {"url": "https://acme.example/blog"}, "synthetic")
            for _ in range(row["pricing_visits_30d"]):
                yield (lead_id, "page_view", at(rng.uniform(0, 29)), {"url": "https://acme.example/pricing"},
                       "synthetic")
            for _ in range(row["email_opens_30d"]):
                yield (lead_id, "email_open", at(rng.uniform(0, 29)), {}, "synthetic")
            for _ in range(max(0, row["events_90d"] - row["pricing_visits_30d"] - row["email_opens_30d"] - 1)):
                yield (lead_id, "page_view", at(rng.uniform(0, 89)), {"url": "https://acme.example/docs"},
                       "synthetic")
            if row["demo_requested"]:
                yield (lead_id, "demo_request", at(rng.uniform(0, 60)), {}, "synthetic")

    events = insert_rows(LeadEvent, EVENT_COLUMNS, event_rows())
    return leads, events

