"""A drained batch's rescoring (``leads_score_each``) gives each lead what ``lead_score`` alone gives: score, band,
stage, reasons, history row, ScoreChange row, triggers and ``lead_scored``."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from leads.models import Lead, LeadEvent
from scoring.models import ScoreChange, ScoreTrigger, ScoringRule
from scoring.services import lead_score, lead_scoring, leads_score_each
from scoring.signals import lead_scored

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class _Undone(Exception):
    pass


def _leads(scoring_model) -> list[tuple[int, str]]:
    """Leads that earn different things: a first score, a hot burst, an intent streak, an opt-out, no change."""
    ScoringRule.objects.create(model=scoring_model, kind="engagement", dimension="behaviour", reason_code="streak",
                               label="3 pricing visits in 48 h", event_type="page_view", property_key="url",
                               property_operator="contains", property_value="/pricing", points=15,
                               frequency_count=3, frequency_hours=48, intent=True)
    scoring_model.save()
    fit = {"employees": 200, "seniority": "vp", "industry": "Technology", "country": "US"}
    new = Lead.objects.create(email="new@x.example", **fit)
    hot = Lead.objects.create(email="hot@x.example", **fit)
    streak = Lead.objects.create(email="streak@x.example", **fit)
    opted_out = Lead.objects.create(email="out@x.example", consent="opt_out", **fit)
    quiet = Lead.objects.create(email="quiet@x.example", employees=5)
    for lead in (hot, streak, opted_out, quiet):
        lead_score(lead_id=lead.pk, cause="ingest", now=NOW - timedelta(hours=6))
    for lead, kind, hours, url in [(hot, "page_view", 3, "/pricing"), (hot, "demo_request", 1, ""),
                                   (streak, "page_view", 30, "/pricing"), (streak, "page_view", 20, "/pricing"),
                                   (streak, "page_view", 2, "/pricing"), (opted_out, "demo_request", 1, ""),
                                   *[(new, "email_open", h, "") for h in range(1, 14)]]:
        LeadEvent.objects.create(lead=lead, type=kind, occurred_at=NOW - timedelta(hours=hours),
                                 properties={"url": url} if url else {})
    return [(streak.pk, "events"), (new.pk, "ingest"), (quiet.pk, "rescore"), (hot.pk, "events"),
            (opted_out.pk, "events")]


def _state(lead_ids: list[int], announced: list[dict]) -> dict:
    leads = list(Lead.objects.filter(pk__in=lead_ids).order_by("pk").values(
        "pk", "score", "fit_score", "engagement_score", "band", "stage", "score_reasons", "predicted_probability",
        "scored_at"))
    history = list(Lead.history.filter(id__in=lead_ids, history_date=NOW).order_by("id", "history_id").values_list(
        "id", "history_type", "history_change_reason", "score", "stage"))
    changes = list(ScoreChange.objects.filter(lead_id__in=lead_ids, at=NOW).order_by("lead_id").values(
        "lead_id", "cause", "old_score", "new_score", "delta", "band", "old_stage", "new_stage", "reasons"))
    triggers = sorted(ScoreTrigger.objects.filter(lead_id__in=lead_ids, fired_at=NOW).values_list(
        "lead_id", "kind", "period_key", "cause", "detail"))
    return {"leads": leads, "history": history, "changes": changes, "triggers": triggers,
            "announced": sorted(announced, key=lambda kw: kw["lead_id"])}


def _run(score, steps) -> dict:
    """Score in a savepoint, read what it wrote, undo it."""
    announced = []

    def receiver(sender, **kwargs):
        announced.append({k: v for k, v in kwargs.items() if k != "signal"})

    lead_scored.connect(receiver, weak=False)
    try:
        with transaction.atomic():
            score(steps)
            state = _state([lead_id for lead_id, _ in steps], announced)
            raise _Undone
    except _Undone:
        return state
    finally:
        lead_scored.disconnect(receiver)


def test_a_batch_scores_each_lead_as_lead_score_alone_does(scoring_model, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)  # the history rows' date
    steps = _leads(scoring_model)

    def one_by_one(steps):
        for lead_id, cause in steps:
            lead_score(lead_id=lead_id, cause=cause, now=NOW)

    alone = _run(one_by_one, steps)
    together = _run(lambda steps: leads_score_each(steps=steps, now=NOW), steps)
    assert together == alone
    assert {kind for _, kind, *_ in alone["triggers"]} >= {"hot", "high_intent", "mql_up"}
    assert len(alone["changes"]) == 4 and len(alone["announced"]) == 5  # the quiet lead: announced, unchanged


def test_a_batch_reads_and_writes_its_leads_together(scoring_model):
    steps = _leads(scoring_model)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        leads_score_each(steps=steps, now=NOW)
    statements = [q["sql"] for q in queries.captured_queries]
    assert sum(1 for sql in statements if sql.startswith('SELECT "leads_lead"."id"')) == 1
    assert sum(1 for sql in statements if 'FROM "leads_leadevent"' in sql) == 1
    assert sum(1 for sql in statements if sql.startswith('INSERT INTO "scoring_scorechange"')) == 1
    assert sum(1 for sql in statements if "UPDATE" in sql and '"score_reasons" = ' in sql) == 1
    assert sum(1 for sql in statements if sql.startswith("INSERT INTO scoring_scoretrigger")) == 1  # all leads'
    # Routing asks nothing more of each lead: whether it waits for routing comes with ``lead_scored`` (placement).
    assert not any(sql.startswith('SELECT "leads_lead"."owner_id"') for sql in statements)


def test_lead_scored_says_where_the_lead_stands_as_routing_would_read_it(scoring_model, configured):
    """The placement ``lead_scored`` carries (owner, queue, merged into) gives routing's answer to "does it wait for
    routing?" without a query: the same as reading the lead."""
    from routing.selectors import lead_waiting_for_routing, placement_waiting_for_routing

    steps = _leads(scoring_model)
    Lead.objects.filter(pk=steps[0][0]).update(owner=configured["reps"][0].user)
    Lead.objects.filter(pk=steps[1][0]).update(queue="review")
    said = _run(lambda steps: leads_score_each(steps=steps, now=NOW), steps)["announced"]
    assert [kw["placement"] for kw in said] == list(Lead.objects.filter(pk__in=[pk for pk, _ in steps])
                                                    .order_by("pk").values_list("owner_id", "queue", "merged_into_id"))
    answers = [(placement_waiting_for_routing(*kw["placement"]), lead_waiting_for_routing(lead_id=kw["lead_id"]))
               for kw in said]
    assert all(a == b for a, b in answers) and {a for a, _ in answers} == {True, False}


def test_a_batch_counts_each_leads_newest_events_only(scoring_model, monkeypatch):
    monkeypatch.setattr(lead_scoring, "EVENTS_CONSIDERED", 2)
    steps = _leads(scoring_model)
    scorings = [lead_scoring._prepared(Lead.objects.get(pk=lead_id), cause, NOW) for lead_id, cause in steps]
    events = lead_scoring.leads_events_for_scoring(scorings)
    newest = {}
    for lead_id, _ in steps:
        newest[lead_id] = [(e.type, e.occurred_at) for e in LeadEvent.objects.filter(lead_id=lead_id)
                           .order_by("-occurred_at")[:2]]
    assert {pk: [(e.type, e.occurred_at) for e in views] for pk, views in events.items()} == {
        pk: rows for pk, rows in newest.items() if rows}


def test_a_lead_gone_from_the_batch_fails_it_whole(scoring_model):
    steps = _leads(scoring_model)
    with pytest.raises(Lead.DoesNotExist), transaction.atomic():
        leads_score_each(steps=[*steps, (10**9, "events")], now=NOW)
    assert not ScoreChange.objects.filter(at=NOW).exists()
