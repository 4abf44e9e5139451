"""The routing layer's writes that bypass the ORM, on its own tables: the round-robin pointer's turn.

A pointer is saved on every decision that takes a turn (once per pool for a batch), so its UPDATE is written
directly: three columns, no model ``save()`` machinery. The lead table's columns that routing sets in bulk belong to
the lead layer (``leads.writes.leads_assignments_write``).
"""

import json

from django.db import connection

from .models import RoutingPointer


def routing_pointer_save(pointer: RoutingPointer) -> None:
    """Write a locked pointer's new position (last rep, turns, weighted credits)."""
    quote = connection.ops.quote_name
    table = quote(RoutingPointer._meta.db_table)
    cast = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {quote('last_rep_id')} = %s, {quote('turns')} = %s, "
                       f"{quote('credits')} = {cast} WHERE {quote('id')} = %s",
                       [pointer.last_rep_id, pointer.turns, json.dumps(pointer.credits), pointer.pk])
