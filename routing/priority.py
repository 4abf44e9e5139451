"""Task priority: one definition from the lead's score, its band and the task's due time, used by the queue, the
API and the messages (pure; ``priority_expression`` is the same formula for the database's ORDER BY).

priority = band weight (A 300, B 200, C 100, D 0) + score (clamped 0–100) + 400 when overdue + 150 when due within
the hour. Higher first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Case, ExpressionWrapper, F, IntegerField, Value, When
from django.db.models.functions import Coalesce, Greatest, Least

BAND_WEIGHT = {"A": 300, "B": 200, "C": 100, "D": 0}
OVERDUE_BOOST = 400
DUE_SOON_BOOST = 150
DUE_SOON = timedelta(hours=1)


def task_priority(*, score: int | None, band: str, due_at: datetime, now: datetime) -> int:
    """The priority of an open task (higher first)."""
    clamped = max(0, min(100, score or 0))
    urgency = OVERDUE_BOOST if due_at < now else DUE_SOON_BOOST if due_at < now + DUE_SOON else 0
    return BAND_WEIGHT.get(band, 0) + clamped + urgency


def priority_expression(now: datetime, *, lead: str = "lead__"):
    """``task_priority`` as an ORM expression over tasks (``lead`` is the path to the task's lead)."""
    band = Case(*[When(**{f"{lead}band": band}, then=Value(weight)) for band, weight in BAND_WEIGHT.items()],
                default=Value(0), output_field=IntegerField())
    score = Greatest(Value(0), Least(Value(100), Coalesce(F(f"{lead}score"), Value(0))))
    urgency = Case(When(due_at__lt=now, then=Value(OVERDUE_BOOST)),
                   When(due_at__lt=now + DUE_SOON, then=Value(DUE_SOON_BOOST)),
                   default=Value(0), output_field=IntegerField())
    return ExpressionWrapper(band + score + urgency, output_field=IntegerField())
