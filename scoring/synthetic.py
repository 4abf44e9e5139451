"""Synthetic leads and events straight into the database, for benchmarks and tests of the set-based paths.

Rows go in with one ``executemany`` per batch (every other column gets its model default), so a million leads
take seconds: no model instances, no signals, no history. Never used by the application itself.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from leads.models import Lead, LeadEvent

from .predictive import synthetic_closed_leads


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
    """Insert ``n`` closed (won or lost) leads from ``scoring.predictive.synthetic_closed_leads``, with events that
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

