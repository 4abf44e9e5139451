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
from django.utils import timezone

from revops.base.db.sql import history_copy, history_copy_all

from .models import Lead


def leads_history_record(rows: Iterable[tuple[int, str]], *, now: datetime, user_id: int | None = None) -> None:
    """Write one history row (a change, type "~") per ``(lead_id, reason)``: each lead as it is now."""
    history_copy(Lead, rows, now=now, user_id=user_id)


def leads_history_record_all(lead_ids: list[int], *, reason: str, now: datetime, user_id: int | None = None,
                             created: bool = False) -> None:
    """One history row per lead with the same reason, in one statement per 500 leads (``created``: type "+")."""
    history_copy_all(Lead, lead_ids, reason=reason, now=now, user_id=user_id, history_type="+" if created else "~")


def lead_save_with_history(lead: Lead, fields: list[str], *, reason: str, user=None) -> None:
    """``lead.save(update_fields=fields)`` with its history row, in two statements.

    The fields' values are prepared by their model fields as ``save()`` would; ``updated_at`` and the history date
    are the current time, as ``save()`` and django-simple-history set them.
    """
    now = timezone.now()
    lead.updated_at = now
    quote = connection.ops.quote_name
    assignments, values = [], []
    for name in [*fields, "updated_at"]:
        field = Lead._meta.get_field(name)
        assignments.append(f"{quote(field.column)} = %s")
        values.append(field.get_db_prep_save(getattr(lead, field.attname), connection))
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Lead._meta.db_table} SET {', '.join(assignments)} WHERE id = %s", [*values, lead.pk])
    leads_history_record([(lead.pk, reason)], now=now, user_id=history_user_id(user))


def history_user_id(user: Any) -> int | None:
    """The ``history_user_id`` a save by ``user`` records (none for automation or an anonymous user)."""
    return user.pk if user is not None and getattr(user, "is_authenticated", False) else None
