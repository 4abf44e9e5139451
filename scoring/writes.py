"""The scoring layer's own tables written with SQL that bypasses the ORM: the score-change log of the set-based
paths and the once-per-period score triggers.

Both are append-only rows written many at a time, where model instances and a statement per row would cost more
than the scoring itself. Announcing what was written (signals) is the callers' business.
"""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from .models import ScoreChange, ScoreTrigger

TRIGGERS_PER_STATEMENT = 500  # 7 parameters a row: well within SQLite's and PostgreSQL's limits


def score_changes_insert(rows: list[tuple]) -> None:
    """Insert ScoreChange rows, one ``executemany``, inside the caller's transaction.

    Each row: (lead_id, model_id, at, cause, old_score, new_score, delta, fit_score, engagement_score, band,
    old_stage, new_stage, reasons, experiment_id, variant), ``at`` adapted for the database and ``reasons`` JSON text.
    """
    log_table = ScoreChange._meta.db_table
    log_json = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {log_table} (lead_id, model_id, at, cause, old_score, new_score, delta, fit_score, "
            f"engagement_score, band, old_stage, new_stage, reasons, experiment_id, variant) VALUES "
            f"(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, {log_json}, %s, %s)",
            rows,
        )


def _trigger_row(trigger: ScoreTrigger) -> tuple:
    return (trigger.lead_id, trigger.kind, trigger.period_key[:80],
            connection.ops.adapt_datetimefield_value(trigger.fired_at), trigger.model_id, trigger.cause[:60],
            json.dumps(trigger.detail or {}, cls=DjangoJSONEncoder))


def score_triggers_insert(triggers: list[ScoreTrigger]) -> list[ScoreTrigger]:
    """Insert unsaved triggers unless their lead, kind and period key already have one; return the inserted ones
    (primary key set), in the given order (a second trigger of the same lead, kind and period is not new).

    One ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` per ``TRIGGERS_PER_STATEMENT``: the unique constraint
    decides, also between workers, and the rows it returns are exactly the ones inserted.
    """
    detail = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    row = f"(%s, %s, %s, %s, %s, %s, {detail})"
    created = []
    for start in range(0, len(triggers), TRIGGERS_PER_STATEMENT):
        chunk = triggers[start:start + TRIGGERS_PER_STATEMENT]
        sql = (f"INSERT INTO {ScoreTrigger._meta.db_table} (lead_id, kind, period_key, fired_at, model_id, cause, "
               f"detail) VALUES {', '.join([row] * len(chunk))} ON CONFLICT (lead_id, kind, period_key) DO NOTHING "
               f"RETURNING id, lead_id, kind, period_key")
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for trigger in chunk for value in _trigger_row(trigger)])
            inserted = {(lead_id, kind, period_key): pk for pk, lead_id, kind, period_key in cursor.fetchall()}
        for trigger in chunk:
            pk = inserted.pop((trigger.lead_id, trigger.kind, trigger.period_key[:80]), None)
            if pk is not None:
                trigger.pk = pk
                created.append(trigger)
    return created
