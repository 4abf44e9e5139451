"""The funnel summary kept from the lead history (leads/services/stage_summary.py): what it holds for a hand-made
history, that a refresh only reads what is new and is idempotent, that rows too young to settle are read again, that
the SQL history copies of the hot paths are seen like model saves (the dashboards' minute job that keeps it:
tests/revops/test_summaries_minute_job.py)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import Lead
from leads.services import stage_summary_rebuild, stage_summary_refresh
from leads.stage_models import StageMove, StageReach
from leads.writes import leads_history_record_all
from revops.base.db.summary import SETTLE_SECONDS, settle_seconds
from revops.base.models import SummaryMark

pytestmark = pytest.mark.django_db


def make(email: str, *stages: str, stage: str = "new") -> Lead:
    lead = Lead.objects.create(email=email, stage=stage)
    for value in stages:
        lead.stage = value
        lead.save()
    return lead


def backdate_all(days: float) -> None:
    """Every history row ``days`` older, each keeping its place in time (rows dated alike have no order: their moves
    would be read back in any order)."""
    Lead.history.update(history_date=F("history_date") - timedelta(days=days))


def moves(lead: Lead) -> list[tuple[int, int]]:
    return list(StageMove.objects.filter(lead=lead).order_by("at", "id").values_list("rank_before", "rank_now"))


def test_a_lead_keeps_the_first_time_it_reached_each_stage_and_its_rank_changes():
    decayed = make("d@x.example", "engaged", "mql", "engaged", "mql")
    dropped = make("x@x.example", "engaged", "disqualified")
    straight = make("s@x.example", stage="sql")
    report = stage_summary_refresh()
    assert report.keys == 3
    reach = StageReach.objects.get(lead=decayed)
    first_mql = Lead.history.filter(id=decayed.pk, stage="mql").order_by("history_date").first().history_date
    assert reach.mql_at == first_mql and reach.sql_at is None
    assert moves(decayed) == [(-1, 0), (0, 1), (1, 2), (2, 1), (1, 2)]
    # Disqualified is outside the funnel: the lead reached Engaged only, and leaving the funnel is a rank change.
    assert StageReach.objects.get(lead=dropped).engaged_at is not None
    assert StageReach.objects.get(lead=dropped).mql_at is None and moves(dropped) == [(-1, 0), (0, 1), (1, -1)]
    # Created straight into SQL: it reached Engaged, MQL and SQL at its creation.
    reach = StageReach.objects.get(lead=straight)
    assert reach.engaged_at == reach.mql_at == reach.sql_at == reach.first_at and moves(straight) == [(-1, 3)]


def test_a_refresh_reads_only_the_new_rows_and_a_second_one_changes_nothing():
    first = make("a@x.example", "engaged")
    backdate_all(1)  # old enough to settle
    assert stage_summary_refresh().keys == 1
    mark = SummaryMark.objects.get(name="stage_summary")
    assert mark.settled_id == Lead.history.order_by("-history_id").first().history_id
    assert stage_summary_refresh().keys == 0
    second = make("b@x.example", "engaged", "mql")
    backdate_all(1)
    assert stage_summary_refresh().keys == 1  # the second lead only
    assert StageReach.objects.count() == 2 and moves(first) == [(-1, 0), (0, 1)]
    assert StageReach.objects.get(lead=second).mql_at is not None


def test_rows_too_young_to_settle_are_read_again_so_a_late_commit_is_not_missed(monkeypatch):
    # The window PostgreSQL has (a transaction may commit a lower id late), tried on both databases.
    monkeypatch.setattr("revops.base.db.summary.settle_seconds", lambda: SETTLE_SECONDS)
    lead = make("late@x.example", "engaged")
    stage_summary_refresh()
    young = Lead.history.filter(history_date__gte=timezone.now() - timedelta(seconds=SETTLE_SECONDS))
    assert SummaryMark.objects.get(name="stage_summary").settled_id < young.order_by("history_id").first().history_id
    # A row of a transaction that committed late: an id the refresh has passed, a stage it has not seen.
    Lead.history.filter(id=lead.pk, stage="engaged").update(stage="mql")
    assert stage_summary_refresh().keys == 1
    assert StageReach.objects.get(lead=lead).mql_at is not None


def test_on_sqlite_a_row_read_is_final_and_the_mark_settles_at_the_last_row():
    """SQLite has one writer at a time and ids that only grow: no row can commit below one already read, so a
    refresh does not read the last minute again (on PostgreSQL it does, as above)."""
    make("now@x.example", "engaged")
    report = stage_summary_refresh()
    last = Lead.history.order_by("-history_id").first().history_id
    if connection.vendor == "sqlite":
        assert settle_seconds() == 0 and report.settled_id == last
        assert stage_summary_refresh().keys == 0
    else:
        assert settle_seconds() == SETTLE_SECONDS and report.settled_id < last


def test_history_written_in_sql_by_the_bulk_paths_is_summarised():
    leads = [Lead.objects.create(email=f"bulk{n}@x.example") for n in range(3)]
    Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(stage="mql")
    leads_history_record_all([lead.pk for lead in leads], reason="bulk scoring", now=timezone.now())
    stage_summary_refresh()
    assert StageReach.objects.filter(lead__in=leads, mql_at__isnull=False).count() == 3
    assert all(moves(lead) == [(-1, 0), (0, 2)] for lead in leads)


def test_rebuild_starts_over_and_gives_the_same_summary():
    make("a@x.example", "engaged", "mql")
    make("b@x.example", "engaged")
    stage_summary_refresh()
    before = sorted(StageMove.objects.values_list("lead_id", "at", "rank_before", "rank_now"))
    StageMove.objects.filter(rank_now=2).delete()  # damaged by hand
    call_command("stage_summary", "--rebuild", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert sorted(StageMove.objects.values_list("lead_id", "at", "rank_before", "rank_now")) == before
    assert stage_summary_rebuild().keys == 2


def test_nothing_new_is_answered_by_reads_without_a_write_transaction():
    make("q@x.example", "engaged")
    backdate_all(1)
    stage_summary_refresh()
    with CaptureQueriesContext(connection) as captured:
        assert stage_summary_refresh().keys == 0
    statements = [query["sql"].split()[0].upper() for query in captured.captured_queries]
    assert statements and set(statements) == {"SELECT"}, statements
