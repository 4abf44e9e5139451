"""Lead history rows written in SQL, for the hot paths (routing decisions, bulk scoring, bulk routing).

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
from functools import cache
from typing import Any

from django.db import connection
from django.utils import timezone

from .models import Lead


@cache
def _copy_sql() -> str:
    history = Lead.history.model
    columns = ", ".join(connection.ops.quote_name(f.column) for f in history.tracked_fields)
    return (f"INSERT INTO {history._meta.db_table} ({columns}, history_date, history_change_reason, history_type, "
            f"history_user_id) SELECT {columns}, %s, %s, '~', %s FROM {Lead._meta.db_table} WHERE id = %s")


def leads_history_record(rows: Iterable[tuple[int, str]], *, now: datetime, user_id: int | None = None) -> None:
    """Write one history row per ``(lead_id, reason)``: each lead as it is now in this transaction."""
    when = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.executemany(_copy_sql(), [(when, reason[:1000], user_id, lead_id) for lead_id, reason in rows])


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
    leads_history_record([(lead.pk, reason)], now=now, user_id=_user_id(user))


def _user_id(user: Any) -> int | None:
    return user.pk if user is not None and getattr(user, "is_authenticated", False) else None
