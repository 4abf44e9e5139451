"""Writes to the lead table in SQL that bypass the ORM: the one place they live, as named functions that the
lead layer and the layers above call.

Lead history rows written in SQL, for the hot paths (routing decisions, bulk scoring, bulk routing).

django-simple-history writes a history row on every ``Lead.save()`` by building a historical model instance and
preparing its 54 fields in Python; that alone took about a third of a routing decision. These helpers write the
very same row (every tracked column copied from the lead as it now is, the date, the reason, the user, type "~")
with one ``INSERT ... SELECT`` in the database. The history admin, ``lead.history`` and undo read them like any
other row.

Nothing listens to ``Lead`` ``post_save`` apart from the history itself; the layers learn of lead changes through
their own signals (``lead_changed``, ``lead_scored``...), which the callers send as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Model

from revops.base.db.sql import (
    history_copy,
    history_copy_all,
    row_insert_and_update_with_history,
    row_insert_with_history,
    row_update_with_history,
    rows_update_with_history,
)
from revops.base.history_records import request_user_id

from .models import Lead, LeadEvent


def leads_history_record(rows: Iterable[tuple[int, str]], *, now: datetime, user_id: int | None = None) -> None:
    """Write one history row (a change, type "~") per ``(lead_id, reason)``: each lead as it is now."""
    history_copy(Lead, rows, now=now, user_id=user_id)


def leads_history_record_all(lead_ids: list[int], *, reason: str, now: datetime, user_id: int | None = None,
                             created: bool = False) -> None:
    """One history row per lead with the same reason, in one statement per 500 leads (``created``: type "+")."""
    history_copy_all(Lead, lead_ids, reason=reason, now=now, user_id=user_id, history_type="+" if created else "~")


def lead_insert_with_history(lead: Lead, *, reason: str, user=None, step: Model | None = None) -> Lead:
    """``lead.save()`` of a new lead with its history row (type "+"): one statement on PostgreSQL, two on SQLite.
    ``step``: the pending row of the lead's first pipeline step (``revops.base.step_rows.step_row``,
    PostgreSQL), written in the same statement with the lead's id as its arguments."""
    return row_insert_with_history(lead, reason=reason, user_id=history_user_id(user), follower=step,
                                   follower_field="args")


def lead_save_with_history(lead: Lead, fields: list[str], *, reason: str, user=None) -> None:
    """``lead.save(update_fields=fields)`` with its history row, in two statements.

    The fields' values are prepared by their model fields as ``save()`` would; ``updated_at`` and the history date
    are the current time, as ``save()`` and django-simple-history set them.
    """
    row_update_with_history(lead, fields, reason=reason, user_id=history_user_id(user))


def leads_save_with_history(leads: list[Lead], fields: list[str], *, reasons: list[str]) -> None:
    """:func:`lead_save_with_history` for several leads (the same fields, a reason each, by automation): the update
    and the history rows each prepared once for all of them."""
    rows_update_with_history(leads, fields, reasons=reasons)


def event_insert_with_history(event: LeadEvent, *, reason: str) -> LeadEvent:
    """``event.save()`` of a new event with its history row (type "+"), in two statements (every event the API takes
    is written here). The history row names the person behind the request, as ``save()`` would."""
    return row_insert_with_history(event, reason=reason, user_id=request_user_id())


def event_insert_with_lead_update(event: LeadEvent, *, reason: str, lead: Lead, fields: list[str],
                                  lead_reason: str, step: Model | None = None) -> LeadEvent:
    """:func:`event_insert_with_history` and :func:`lead_save_with_history` (by automation) of the event's lead:
    on PostgreSQL one statement for the event, the lead and their history rows (every event the API takes), and
    ``step``: the pending row of the step that follows (``revops.base.step_rows.step_row``)."""
    row_insert_and_update_with_history(event, reason=reason, user_id=request_user_id(), changed=lead, fields=fields,
                                       changed_reason=lead_reason, follower=step)
    return event


def history_user_id(user: Any) -> int | None:
    """The ``history_user_id`` a save by ``user`` records (none for automation or an anonymous user)."""
    return user.pk if user is not None and getattr(user, "is_authenticated", False) else None


def leads_scores_write(updates: list[tuple], *, now: datetime) -> set[int]:
    """Write computed scores to the lead table (set-based scoring); return the ids of the leads written.

    Each update is ``(lead id, scored_at as read, fit, engagement, score, band, stage, reasons JSON, probability)``.

    One ``UPDATE ... FROM`` a temporary table, conditional on ``scored_at`` being what the run read (the second
    value of each update row): a lead scored meanwhile is left out. Runs inside the caller's transaction
    (``scoring.services.bulk``).
    """
    lead_table = Lead._meta.db_table
    now_db = connection.ops.adapt_datetimefield_value(now)
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute("CREATE TEMP TABLE scoring_bulk (id bigint PRIMARY KEY, old_scored_at timestamptz, "
                           "fit_score integer, engagement_score integer, score integer, band varchar(2), "
                           "stage varchar(20), score_reasons text, predicted_probability double precision)", [])
        else:
            cursor.execute("CREATE TEMP TABLE scoring_bulk (id integer PRIMARY KEY, old_scored_at text, "
                           "fit_score integer, engagement_score integer, score integer, band text, stage text, "
                           "score_reasons text, predicted_probability real)", [])
        cursor.executemany("INSERT INTO scoring_bulk VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", updates)
        same_version = "IS NOT DISTINCT FROM" if postgres else "IS"
        reasons = "t.score_reasons::jsonb" if postgres else "t.score_reasons"
        cursor.execute(
            f"UPDATE {lead_table} SET fit_score = t.fit_score, engagement_score = t.engagement_score, "
            f"score = t.score, band = t.band, stage = t.stage, score_reasons = {reasons}, "
            f"predicted_probability = t.predicted_probability, scored_at = %s, updated_at = %s "
            f"FROM scoring_bulk AS t WHERE {lead_table}.id = t.id AND {lead_table}.id BETWEEN %s AND %s "
            f"AND {lead_table}.scored_at {same_version} t.old_scored_at RETURNING {lead_table}.id",
            # The id range lets the planner walk the temporary table and look leads up by key instead of scanning
            # the lead table for every chunk.
            [now_db, now_db, min(row[0] for row in updates), max(row[0] for row in updates)],
        )
        applied = {row[0] for row in cursor.fetchall()}
        cursor.execute("DROP TABLE scoring_bulk", [])
    return applied


def leads_assignments_write(updates: list[tuple]) -> None:
    """Write a batch's routing outcome on the lead table in one ``executemany`` (``routing.services.assignment``):
    each update is ``(owner_id, queue, queue_reason, assigned_at, updated_at, lead id)``, the datetimes already
    adapted for the database. History rows and announcements are the caller's.
    """
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {quote(Lead._meta.db_table)} SET {quote('owner_id')} = %s, {quote('queue')} = %s, "
            f"{quote('queue_reason')} = %s, {quote('assigned_at')} = %s, {quote('updated_at')} = %s "
            f"WHERE {quote('id')} = %s", updates)
