"""A small hand-built data set for the scheduled reports: one day of scoring and one week of leads, routing,
follow-ups and a won deal, relative to today so every figure is known in advance."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from leads.models import Lead
from revops.top.reports_figures import week_monday
from routing.models import RoutingDecision, Task
from scoring.models import ScoreChange, ScoreTrigger

VP = {"code": "vp", "label": "VP or above", "points": 20}
DEMO = {"code": "demo", "label": "Asked for a demo", "points": 30}
PRICING = {"code": "pricing", "label": "Visited pricing", "points": 10}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def scoring_day() -> date:
    return timezone.localdate() - timedelta(days=3)


def build_scoring_day(day: date, owner=None) -> dict[str, Lead]:
    """Ann: engaged→MQL at 09:00 (+20, band B), MQL→SQL at 15:00 (+25, band A). Bob: −5 at 10:00, stays MQL, band C.
    Cem: changes the evening before and just after midnight (outside the day). Triggers: Ann became MQL and SQL.
    ``owner``: the user owning the three leads (a rep of the manager who reads the report), else nobody."""
    ann, bob, cem = (Lead.objects.create(email=f"{name}@x.example", owner=owner) for name in ("ann", "bob", "cem"))
    rows = [
        (ann, at(day, 9), 40, 60, "B", "engaged", "mql", [VP, DEMO]),
        (ann, at(day, 15), 60, 85, "A", "mql", "sql", [VP, DEMO, PRICING]),
        (bob, at(day, 10), 50, 45, "C", "mql", "mql", [VP]),
        (cem, at(day - timedelta(days=1), 23, 30), 10, 90, "A", "new", "sql", [DEMO]),
        (cem, at(day + timedelta(days=1), 0, 10), 90, 95, "A", "sql", "sql", [DEMO]),
    ]
    for lead, moment, old, new, band, old_stage, new_stage, reasons in rows:
        ScoreChange.objects.create(lead=lead, at=moment, cause="event", old_score=old, new_score=new,
                                   delta=new - old, band=band, old_stage=old_stage, new_stage=new_stage,
                                   reasons=reasons)
    ScoreTrigger.objects.create(lead=ann, kind="mql_up", period_key="d1", fired_at=at(day, 9))
    ScoreTrigger.objects.create(lead=ann, kind="sql_up", period_key="d1", fired_at=at(day, 15))
    ScoreTrigger.objects.create(lead=cem, kind="hot", period_key="d0", fired_at=at(day - timedelta(days=1), 23, 30))
    return {"ann": ann, "bob": bob, "cem": cem}


def review_monday() -> date:
    return week_monday(timezone.localdate()) - timedelta(days=14)


def build_week(monday: date, reps) -> dict:
    """Wes (created Monday 10:00, band A, won 1000, a customer): assigned to Rita at 12:00, her task accepted at 13:00.
    Val (created Tuesday 09:00, band B, open, owned by Rita; first touched when Ravi's task was
    done Thursday 10:00). Old (created the week before: not in the cohort).
    Follow-ups due in the week: Rita's done an hour early, Ravi's done a day late, Rita's still open; one due the
    week after (not counted)."""
    rita, ravi = reps
    wes = Lead.objects.create(email="wes@x.example", band="A", stage="customer", outcome="won",
                              deal_value=Decimal(1000), owner=rita.user)
    val = Lead.objects.create(email="val@x.example", band="B", owner=rita.user)
    old = Lead.objects.create(email="old@x.example", band="B")
    Lead.objects.filter(pk=wes.pk).update(created_at=at(monday, 10), closed_at=at(monday + timedelta(days=4), 10))
    Lead.objects.filter(pk=val.pk).update(created_at=at(monday + timedelta(days=1), 9))
    Lead.objects.filter(pk=old.pk).update(created_at=at(monday - timedelta(days=3), 9))
    decision = RoutingDecision.objects.create(lead=wes, rep=rita, owner=rita.user, summary="to Rita")
    RoutingDecision.objects.filter(pk=decision.pk).update(created_at=at(monday, 12))

    def task(key, lead, rep, due, **fields):
        return Task.objects.create(lead=lead, assignee=rep.user, title="Follow up", dedup_key=key, due_at=due,
                                   **fields)

    task("t1", wes, rita, at(monday + timedelta(days=1), 10), status="done",
         completed_at=at(monday + timedelta(days=1), 9), accepted_at=at(monday, 13))
    task("t2", val, ravi, at(monday + timedelta(days=2), 10), status="done",
         completed_at=at(monday + timedelta(days=3), 10))
    task("t3", val, rita, at(monday + timedelta(days=4), 10))
    task("t4", val, rita, at(monday + timedelta(days=9), 10))
    return {"wes": wes, "val": val, "old": old}
