"""The routing layer's writes on its own tables: the round-robin pointer's turn, and a task created once by its key
with the reason in its first history row.

A pointer is saved on every decision that takes a turn (once per pool for a batch), so its UPDATE is written
directly: three columns, no model ``save()`` machinery. The lead table's columns that routing sets in bulk belong to
the lead layer (``leads.writes.leads_assignments_write``).
"""

import json
from typing import Any

from django.db import IntegrityError, connection, transaction

from .models import RoutingPointer, Task


def routing_pointer_save(pointer: RoutingPointer) -> None:
    """Write a locked pointer's new position (last rep, turns, weighted credits)."""
    quote = connection.ops.quote_name
    table = quote(RoutingPointer._meta.db_table)
    cast = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {quote('last_rep_id')} = %s, {quote('turns')} = %s, "
                       f"{quote('credits')} = {cast} WHERE {quote('id')} = %s",
                       [pointer.last_rep_id, pointer.turns, json.dumps(pointer.credits), pointer.pk])


def task_get_or_create(dedup_key: str, fields: dict[str, Any], *, reason: str, user=None) -> tuple[Task, bool]:
    """``Task.objects.get_or_create`` by its key whose new row's history row ("+") carries ``reason`` and ``user``
    (a ``save(update_fields=[])`` after ``get_or_create`` writes nothing: the reason was lost). Another process
    creating the same key meanwhile: that task, not created."""
    existing = Task.objects.filter(dedup_key=dedup_key).first()
    if existing is not None:
        return existing, False
    task = Task(dedup_key=dedup_key, **fields)
    task._change_reason = reason[:1000]
    task._history_user = user
    try:
        with transaction.atomic():  # a savepoint: the key may have been written meanwhile
            task.save()
    except IntegrityError:
        return Task.objects.get(dedup_key=dedup_key), False
    return task, True
