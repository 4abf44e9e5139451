"""A summary's refresh reads its rows before its write transaction (revops/base/db/summary.py ``_refresh_prepared``):
the rows are the ones a rebuild inside the transaction gives; the transaction itself reads no source; a mark moved
meanwhile (another refresh, an erasure's rebuild of some leads) makes it rebuild inside the transaction instead of
writing what it read."""

import dataclasses

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Lead
from leads.services import stage_summary as stage_summary_module
from leads.stage_models import StageMove, StageReach
from revops.base.db import summary as summary_module
from revops.base.db.summary import summary_refresh
from revops.base.models import SummaryMark
from revops.top import dashboard_facts
from revops.top.dashboard_facts import FACTS_COLUMNS, lead_facts_rebuild_leads, lead_facts_refresh
from revops.top.models import LeadFacts
from routing.models import FirstAssignment, RoutingDecision

pytestmark = pytest.mark.django_db


def _leads(reps, prefix: str, count: int) -> list[Lead]:
    leads = []
    for n in range(count):
        lead = Lead.objects.create(email=f"{prefix}{n}@x.example", stage="new", source="web", score=10 * n)
        for stage in ("engaged", "mql", "sql", "engaged")[: n % 5]:
            lead.stage = stage
            lead.save()
        if n % 2:
            RoutingDecision.objects.create(lead=lead, owner=reps[n % len(reps)].user, summary="t", explanation={})
        leads.append(lead)
    return leads


def _state() -> dict[str, list]:
    return {
        "reach": sorted(StageReach.objects.values_list("lead_id", "first_at", "engaged_at", "mql_at", "sql_at")),
        "moves": sorted(StageMove.objects.values_list("lead_id", "at", "rank_before", "rank_now", "previous_mql_at")),
        "firsts": sorted(FirstAssignment.objects.values_list("lead_id", "at")),
        "facts": sorted(LeadFacts.objects.values_list(*FACTS_COLUMNS)),
    }


def _spy_prepare(monkeypatch, module, name: str, between=None) -> list[str]:
    """Replace ``module.name`` (a Summary) by one whose prepare is watched: ``between`` runs after its rows are read
    and before its write; returns the list of what happened ("read", "written")."""
    summary = getattr(module, name)
    events: list[str] = []

    def prepare(keys_sql, params):
        write = summary.prepare(keys_sql, params)
        events.append("read")
        if between is not None:
            between()

        def watched() -> int:
            events.append("written")
            return write()

        return watched

    monkeypatch.setattr(module, name, dataclasses.replace(summary, prepare=prepare))
    return events


def test_rows_read_before_the_transaction_equal_a_rebuild_inside_it(reps, monkeypatch):
    _leads(reps, "first", 4)
    lead_facts_refresh()  # the marks' first refresh (inside its transaction)
    changed = _leads(reps, "second", 7)
    changed[1].stage = "mql"
    changed[1].save()
    events = _spy_prepare(monkeypatch, dashboard_facts, "LEAD_FACTS")
    lead_facts_refresh()
    assert events == ["read", "written"]
    prepared = _state()
    assert len(prepared["facts"]) == 11 and len(prepared["firsts"]) == 5 and prepared["moves"]

    # The same summaries rebuilt inside one transaction each (no mark yet: the first refresh's path).
    for model in (StageReach, StageMove, FirstAssignment, LeadFacts, SummaryMark):
        model.objects.all().delete()
    lead_facts_refresh()
    assert _state() == prepared


def test_the_write_transaction_reads_no_source(reps):
    _leads(reps, "a", 3)
    lead_facts_refresh()
    _leads(reps, "b", 3)
    history = Lead.history.model._meta.db_table
    for summary in (stage_summary_module.STAGE_SUMMARY, dashboard_facts.LEAD_FACTS):
        with CaptureQueriesContext(connection) as captured:
            assert summary_refresh(summary).keys >= 3
        statements = [query["sql"] for query in captured.captured_queries]
        first_write = next(n for n, sql in enumerate(statements)
                           if sql.lstrip().upper().startswith(("DELETE", "INSERT", "UPDATE")))
        read_before = statements[:first_write]
        written = statements[first_write:]
        assert any(history in sql for sql in read_before)
        assert not any(history in sql or "scoring_scorechange" in sql for sql in written), written


def test_a_mark_moved_between_the_read_and_the_write_rebuilds_inside_the_transaction(reps, monkeypatch):
    lead = _leads(reps, "m", 1)[0]
    lead_facts_refresh()
    lead.stage = "engaged"
    lead.save()
    original = stage_summary_module.STAGE_SUMMARY

    def meanwhile():  # another refresh reads the same rows and more: the lead has since become an MQL
        lead.stage = "mql"
        lead.save()
        summary_refresh(dataclasses.replace(original, prepare=None))

    events = _spy_prepare(monkeypatch, stage_summary_module, "STAGE_SUMMARY", between=meanwhile)
    stage_summary_module.stage_summary_refresh()
    assert events == ["read"]  # what it read was not written
    reach = StageReach.objects.get(lead=lead)
    assert reach.engaged_at is not None and reach.mql_at is not None
    assert StageReach.objects.count() == 1 and list(StageMove.objects.filter(lead=lead).values_list(
        "rank_before", "rank_now").order_by("at", "id")) == [(-1, 0), (0, 1), (1, 2)]


def test_an_erasure_rebuilding_some_facts_meanwhile_is_not_overwritten(reps, monkeypatch):
    lead = _leads(reps, "e", 1)[0]
    lead_facts_refresh()
    lead.source = "campaign-a"
    lead.save()

    def meanwhile():  # a rebuild of this lead's facts from the lead as it is now, outside the refresh
        Lead.objects.filter(pk=lead.pk).update(source="erased")
        lead_facts_rebuild_leads([lead.pk])

    events = _spy_prepare(monkeypatch, dashboard_facts, "LEAD_FACTS", between=meanwhile)
    summary_module.summary_refresh(dashboard_facts.LEAD_FACTS)
    assert events == ["read"]
    assert LeadFacts.objects.get(id=lead.pk).source == "erased"


def test_a_lead_written_between_the_funnel_refresh_and_the_facts_is_read_again(reps, monkeypatch):
    """The facts copy the funnel summary and read the same history: a row written after the funnel summary read it
    and before the facts do is read again by both next time, so the facts never keep a funnel state older than the
    lead's."""
    lead = _leads(reps, "r", 1)[0]
    lead_facts_refresh()
    real = dashboard_facts.stage_summary_refresh

    def then_the_lead_moves():
        report = real()
        lead.stage = "mql"
        lead.save()
        return report

    monkeypatch.setattr(dashboard_facts, "stage_summary_refresh", then_the_lead_moves)
    lead_facts_refresh()
    monkeypatch.setattr(dashboard_facts, "stage_summary_refresh", real)
    lead_facts_refresh()
    facts = LeadFacts.objects.get(id=lead.pk)
    assert facts.stage == "mql" and facts.mql_at is not None
    assert facts.mql_at == StageReach.objects.get(lead=lead).mql_at
