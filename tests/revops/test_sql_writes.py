"""revops.base.db.sql writes the same rows as the ORM and django-simple-history, on SQLite and PostgreSQL."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from leads.models import Lead
from revops.base.automation import automation_user_id
from revops.base.db.sql import (
    bulk_insert,
    history_copy,
    history_copy_all,
    row_get_or_insert_with_history,
    row_insert_and_update_with_history,
    row_insert_with_history,
    row_update_with_history,
)
from revops.base.models import Notification
from revops.base.notifications import notification_queue
from routing.models import Task
from tests.races import first_read_misses

pytestmark = pytest.mark.django_db


def _lead(n: int, **extra) -> Lead:
    return Lead(email=f"p{n}@example.com", first_name="Ada", last_name=f"N{n}", employees=n, score=n,
                custom={"n": n, "tags": ["a"]}, flags=["phone_invalid"], annual_revenue=Decimal("1234.50"),
                closed_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), **extra)


def test_bulk_insert_sets_keys_and_stores_what_the_orm_would():
    leads = bulk_insert([_lead(n) for n in range(1, 1201)])  # more rows than one statement may carry on SQLite
    assert len({lead.pk for lead in leads}) == 1200 and all(not lead._state.adding for lead in leads)
    reference = Lead.objects.create(**{f.attname: getattr(_lead(9999), f.attname)
                                       for f in Lead._meta.concrete_fields if not f.primary_key})
    stored = Lead.objects.get(pk=leads[41].pk)
    assert stored.email == "p42@example.com" and stored.employees == 42 and stored.score == 42
    assert stored.custom == {"n": 42, "tags": ["a"]} and stored.flags == ["phone_invalid"]
    assert stored.annual_revenue == Decimal("1234.50") == reference.annual_revenue
    assert stored.closed_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert stored.created_at is not None and stored.updated_at is not None  # auto_now_add / auto_now
    for field in ("stage", "queue", "consent", "outcome", "enrichment_status", "score_reasons"):
        assert getattr(stored, field) == getattr(reference, field), field


def test_bulk_insert_prepares_a_value_of_another_type_like_the_field_would():
    lead = _lead(1)
    lead.first_name = 123  # a number in a text field: prepared to text, as save() would
    bulk_insert([lead])
    assert Lead.objects.get(pk=lead.pk).first_name == "123"


def test_history_rows_copied_in_sql_read_like_simple_history_rows(revops_admin):
    leads = bulk_insert([_lead(1), _lead(2)])
    now = timezone.now()
    history_copy_all(Lead, [lead.pk for lead in leads], reason="bulk import", now=now, history_type="+",
                     user_id=revops_admin.pk)
    Lead.objects.filter(pk=leads[0].pk).update(stage="mql")
    history_copy(Lead, [(leads[0].pk, "scored")], now=now)
    rows = list(Lead.history.filter(id=leads[0].pk).order_by("history_id"))
    assert [(r.history_type, r.history_change_reason, r.stage) for r in rows] == [
        ("+", "bulk import", "new"), ("~", "scored", "mql")]
    assert rows[0].history_user_id == revops_admin.pk and rows[1].history_user_id == automation_user_id()
    assert rows[1].diff_against(rows[0]).changed_fields == ["stage"]


def test_history_copy_works_for_any_tracked_model(configured):
    rita = configured["reps"][0]
    lead = bulk_insert([_lead(1)])[0]
    task = bulk_insert([Task(lead_id=lead.pk, assignee_id=rita.user_id, title="Follow up", dedup_key="k1",
                             due_at=timezone.now())])[0]
    history_copy_all(Task, [task.pk], reason="automation:tasks follow-up", now=timezone.now(), history_type="+")
    assert task.history.get().history_change_reason == "automation:tasks follow-up"


def test_rows_compiled_once_read_what_the_queryset_reads():
    from leads.models import LeadEvent
    from revops.base.db.sql import rows_compiled_once

    leads = bulk_insert([_lead(1), _lead(2)])
    when = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    for lead in leads:
        LeadEvent.objects.create(lead=lead, type="page_view", occurred_at=when, properties={"url": f"/p{lead.pk}"})
        LeadEvent.objects.create(lead=lead, type="email_open", occurred_at=when, properties={})

    def query():
        return LeadEvent.objects.filter(lead_id=0, type__in=["page_view"]).values_list("type", "occurred_at",
                                                                                      "properties")

    for lead in leads:  # compiled for the first, reused for the second
        rows = rows_compiled_once(("test events", "page_view"), query, [lead.pk, "page_view"])
        expected = LeadEvent.objects.filter(lead=lead, type="page_view").values_list("type", "occurred_at",
                                                                                    "properties")
        assert rows == [list(row) for row in expected] == [["page_view", when, {"url": f"/p{lead.pk}"}]]
    with pytest.raises(ValueError, match="1 parameters given, the statement has 2"):
        rows_compiled_once(("test events", "page_view"), query, [leads[0].pk])


def _history_columns(row) -> dict:
    return {f.attname: getattr(row, f.attname) for f in type(row)._meta.concrete_fields
            if f.attname not in ("history_id", "history_date")}


def test_one_rows_insert_and_update_with_history_write_what_save_and_simple_history_write(revops_admin):
    def fresh(key):
        return Notification(dedup_key=key, recipient="U1", text="hello", blocks=[{"type": "section"}],
                            object_type="task", object_id=7)

    by_orm = fresh("orm")
    by_orm._history_user = revops_admin
    by_orm._change_reason = "queued"
    by_orm.save()
    by_sql = row_insert_with_history(fresh("sql"), reason="queued", user_id=revops_admin.pk)
    orm_row, sql_row = by_orm.history.get(), by_sql.history.get()
    assert {**_history_columns(sql_row), "id": 0, "dedup_key": ""} == {
        **_history_columns(orm_row), "id": 0, "dedup_key": "", "created_at": sql_row.created_at}
    assert sql_row.history_type == "+" and sql_row.history_user_id == revops_admin.pk
    assert sql_row.history_date == by_sql.created_at == Notification.objects.get(pk=by_sql.pk).created_at

    by_sql.status, by_sql.sent_at, by_sql.slack_ts = "sent", timezone.now(), "1.2"
    row_update_with_history(by_sql, ["status", "sent_at", "slack_ts"], reason="sent")
    stored = Notification.objects.get(pk=by_sql.pk)
    assert (stored.status, stored.slack_ts, stored.sent_at) == ("sent", "1.2", by_sql.sent_at)
    latest = stored.history.first()
    assert (latest.history_type, latest.history_change_reason, latest.status) == ("~", "sent", "sent")
    assert latest.history_user_id == automation_user_id()  # no person given: the automation user


def test_a_lead_updated_with_history_gets_its_updated_at_as_save_sets_it():
    lead = Lead.objects.create(email="u@example.com")
    before = lead.updated_at
    lead.score = 5
    row_update_with_history(lead, ["score"], reason="rescore")
    stored = Lead.objects.get(pk=lead.pk)
    assert stored.score == 5 and stored.updated_at == lead.updated_at > before


def test_a_message_queued_twice_at_once_is_one_row(monkeypatch):
    first, created = notification_queue(dedup_key="race", recipient="U1", text="one", send=False)
    assert created
    # Another process wrote the key between this one's read and its insert: the insert fails, the row is read.
    first_read_misses(monkeypatch, Notification)
    second, created = notification_queue(dedup_key="race", recipient="U2", text="two", send=False)
    assert not created and second.pk == first.pk and second.text == "one"
    assert Notification.objects.filter(dedup_key="race").count() == 1



def test_rows_with_every_kind_of_value_and_none_are_inserted_in_order():
    """Many rows at once: each row's values stored, keys in order, a column
    that is empty in every row included."""
    leads = [_lead(n, phone="" if n % 2 else "+14155550100", website="" if n < 9 else "https://x.example")
             for n in range(1, 12)]
    for lead in leads:
        lead.employees = None  # a column empty in every row
    leads[2].custom = {}
    bulk_insert(leads)
    assert [lead.pk for lead in leads] == sorted(lead.pk for lead in leads)
    stored = {lead.pk: lead for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads])}
    for lead in leads:
        row = stored[lead.pk]
        assert (row.email, row.phone, row.website, row.custom, row.employees, row.annual_revenue, row.closed_at) == (
            lead.email, lead.phone, lead.website, lead.custom, None, Decimal("1234.50"), lead.closed_at)


def test_a_write_and_its_history_row_are_one_statement_on_postgresql(revops_admin):
    """On PostgreSQL a row and its history row go as one statement (one round trip); SQLite takes two."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as inserted:
        lead = row_insert_with_history(_lead(1), reason="new", user_id=revops_admin.pk)
    with CaptureQueriesContext(connection) as updated:
        lead.score = 99
        row_update_with_history(lead, ["score"], reason="rescored")
    expected = 1 if connection.vendor == "postgresql" else 2
    assert (len(inserted), len(updated)) == (expected, expected)
    history = list(lead.history.order_by("history_id").values_list("history_type", "history_change_reason", "score"))
    assert history == [("+", "new", 1), ("~", "rescored", 99)]


def _message(key: str, text: str) -> Notification:
    return Notification(dedup_key=key, channel="slack", recipient="U1", text=text, blocks=[{"type": "section"}])


def test_get_or_insert_creates_once_then_reads_the_stored_row_as_the_orm_reads_it(revops_admin):
    """A new value: the row and its history row written; the same value again: the stored row (its JSON parsed, as
    the ORM reads it), nothing written. On PostgreSQL each is one statement (the insert skips a taken value and the
    same statement reads the stored row); SQLite reads first, then inserts in a savepoint."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as first:
        created, was_created = row_get_or_insert_with_history(Notification, "dedup_key", "k1",
                                                              lambda: _message("k1", "one"), reason="queued",
                                                              user_id=revops_admin.pk)
    with CaptureQueriesContext(connection) as second:
        found, found_created = row_get_or_insert_with_history(Notification, "dedup_key", "k1",
                                                              lambda: _message("k1", "two"), reason="queued")
    assert was_created and not found_created and found.pk == created.pk
    orm = Notification.objects.get(pk=created.pk)
    assert [getattr(found, f.attname) for f in Notification._meta.concrete_fields] == [
        getattr(orm, f.attname) for f in Notification._meta.concrete_fields]
    assert found.blocks == [{"type": "section"}] and found.text == "one" and not found._state.adding
    assert list(Notification.history.filter(id=created.pk).values_list("history_type", "history_change_reason",
                                                                        "history_user_id")) == [
        ("+", "queued", revops_admin.pk)]
    if connection.vendor == "postgresql":
        assert (len(first), len(second)) == (1, 1)
    else:
        assert len(second) == 1  # the read finds it


@pytest.mark.django_db(transaction=True)
def test_get_or_insert_reads_a_value_another_transaction_committed_while_the_insert_waited(monkeypatch):
    """PostgreSQL: another transaction inserts the value and commits while this insert waits on its row; the
    statement's own read (its snapshot older than that commit) finds nothing, so the row is read again: one row,
    returned as found, no error and no history row of this side."""
    import threading
    import time

    from django.db import connection, connections, transaction

    if connection.vendor != "postgresql":
        pytest.skip("the insert that waits on another transaction's row is PostgreSQL's")
    from revops.base.db import sql

    inserted, release = threading.Event(), threading.Event()
    reads_again, read = [], sql.instance_compiled_once
    monkeypatch.setattr(sql, "instance_compiled_once", lambda *args: reads_again.append(args) or read(*args))

    def other() -> None:
        try:
            with transaction.atomic():
                row_insert_with_history(_message("race-2", "theirs"), reason="theirs")
                inserted.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other)
    thread.start()
    assert inserted.wait(10)
    threading.Timer(0.5, release.set).start()  # commits while this side's insert waits on the same key
    started = time.monotonic()
    found, created = row_get_or_insert_with_history(Notification, "dedup_key", "race-2",
                                                    lambda: _message("race-2", "ours"), reason="ours")
    thread.join(10)
    assert time.monotonic() - started >= 0.4  # it did wait for the other transaction
    assert not created and found.text == "theirs" and found.pk
    assert reads_again == [(Notification, "dedup_key", "race-2")]
    assert Notification.objects.filter(dedup_key="race-2").count() == 1
    assert list(Notification.history.filter(dedup_key="race-2").values_list("history_change_reason", flat=True)) == [
        "theirs"]


def test_an_insert_and_an_update_together_write_what_the_two_calls_write(revops_admin):
    """A new row of one model and an update of another's row, with their history rows: one statement on
    PostgreSQL, the two calls on SQLite; the rows and history rows as those calls (and so ``save()``) write them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leads.models import LeadEvent

    lead = row_insert_with_history(_lead(7), reason="new")
    event = LeadEvent(lead_id=lead.pk, type="pricing_visit", occurred_at=timezone.now(), properties={"p": 1},
                      source="site")
    lead.last_interaction_at = event.occurred_at
    with CaptureQueriesContext(connection) as together:
        row_insert_and_update_with_history(event, reason="event from site", user_id=revops_admin.pk, changed=lead,
                                           fields=["last_interaction_at"], changed_reason="touched")
    assert len(together) == (1 if connection.vendor == "postgresql" else 4)
    stored = LeadEvent.objects.get(pk=event.pk)
    assert (stored.lead_id, stored.type, stored.properties, stored.source, stored.created_at) == (
        lead.pk, "pricing_visit", {"p": 1}, "site", event.created_at)
    [event_row] = LeadEvent.history.filter(id=event.pk)
    assert (event_row.history_type, event_row.history_change_reason, event_row.history_user_id,
            event_row.history_date) == ("+", "event from site", revops_admin.pk, event.created_at)
    lead_rows = list(lead.history.order_by("history_id"))
    assert [(row.history_type, row.history_change_reason) for row in lead_rows] == [("+", "new"), ("~", "touched")]
    changed = Lead.objects.get(pk=lead.pk)
    assert (changed.last_interaction_at, changed.updated_at) == (event.occurred_at, lead.updated_at)
    assert lead_rows[1].history_user_id == automation_user_id()
    assert lead_rows[1].history_date == changed.updated_at >= event.created_at
    assert (lead_rows[1].last_interaction_at, lead_rows[1].score) == (event.occurred_at, 7)
