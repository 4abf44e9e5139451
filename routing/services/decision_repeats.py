"""A decision's earlier decisions of the same kind (``RoutingDecision.previous_same_rule_at`` and
``previous_same_owner_at``), set again from the decisions themselves for some leads or all, in one statement.

A new decision sets them when it is saved (routing/models.py); this is for rows whose dates were changed by SQL
(the demo moves its history back in time) and for the migration that added them. The routing report
(revops/top/dashboards_routing.py) counts a lead once per rule and per rep in a period as the decisions in it with no
earlier one of the same kind in it: a count, not a sort of the period's decisions."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from ..models import RoutingDecision

#: Per standing decision, the latest earlier standing decision of the same lead by the same rule (nulls together:
#: "no rule matched"), and to the same owner. Written for both databases (window functions, UPDATE … FROM).
REPEATS_SQL = (
    "UPDATE {table} SET previous_same_rule_at = p.by_rule, previous_same_owner_at = p.by_owner FROM ("
    "SELECT d.id, MAX(d.created_at) OVER (PARTITION BY d.lead_id, d.rule_id ORDER BY d.created_at, d.id "
    "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS by_rule, "
    "CASE WHEN d.owner_id IS NULL THEN NULL ELSE MAX(d.created_at) OVER (PARTITION BY d.lead_id, d.owner_id "
    "ORDER BY d.created_at, d.id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) END AS by_owner "
    "FROM {table} d WHERE d.undone_at IS NULL{leads}) p WHERE {table}.id = p.id"
)


CHUNK = 5000  # leads per statement (SQLite's limit on parameters is 32,766)


def decision_repeats_refresh(lead_ids: Iterable[int] | None = None) -> int:
    """Set the two columns again for the standing decisions of ``lead_ids`` (None: every lead); returns the rows.
    Also after a rule's deletion: its decisions become "no rule matched" and their previous decision by the same
    rule is that group's now (routing/receivers.py)."""
    table = connection.ops.quote_name(RoutingDecision._meta.db_table)
    if lead_ids is None:
        with connection.cursor() as cursor:
            cursor.execute(REPEATS_SQL.format(table=table, leads=""))
            return cursor.rowcount
    ids, count = sorted(set(lead_ids)), 0
    with connection.cursor() as cursor:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            leads = f" AND d.lead_id IN ({', '.join(['%s'] * len(chunk))})"
            cursor.execute(REPEATS_SQL.format(table=table, leads=leads), chunk)
            count += cursor.rowcount
    return count
