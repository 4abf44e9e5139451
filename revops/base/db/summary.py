"""Summary tables kept from an append-only source table by a mark (``SummaryMark``), set-based.

A summary (the funnel's stage summary from the lead history, the first assignments from the routing decisions) is
derived: per key (a lead) its rows are rebuilt from all of that key's source rows, so rebuilding a key twice is
harmless. :func:`summary_refresh` finds the keys with source rows after the mark and hands the SQL selecting them to
the summary's rebuild, in one transaction (the mark row locked: two refreshes never interleave). The mark only
settles on source rows older than ``SETTLE_SECONDS``; younger rows are read again next time, because on PostgreSQL a
transaction that commits late can hold a lower id than rows already read (SQLite has one writer at a time and ids
that only grow: a row read there is final, see :func:`settle_seconds`). The work is in proportion to what changed,
so a dashboard can refresh before it reads, and a minute job keeps that small.

A summary made of :class:`SummaryTable` parts is refreshed in two steps (:func:`summary_refresh`): its rows are
selected with no write transaction, then one short transaction deletes the keys' old rows and inserts those, if the
mark has not moved meanwhile. On SQLite every write waits for the one writer: a minute's rebuild selected inside the
transaction held the web's and the workers' writes for the whole of its reading (0.8 s at 10,000 leads)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

from django.db import DatabaseError, connection, transaction
from django.db.models import Model
from django.utils import timezone

logger = logging.getLogger(__name__)

SETTLE_SECONDS = 60


def settle_seconds() -> int:
    """How young a source row is read again by the next refresh: a minute on PostgreSQL (a transaction may commit a
    lower id late); none on SQLite, whose writes are serialised and whose ids only grow."""
    return 0 if connection.vendor == "sqlite" else SETTLE_SECONDS


@dataclass
class SummaryReport:
    keys: int
    settled_id: int


@dataclass(frozen=True)
class Summary:
    """``source``: the append-only model read; ``key``/``pk``/``date``: its key, id and date columns; ``rebuild``:
    given (SQL selecting the keys to rebuild, its parameters), deletes and rebuilds their summary rows and returns
    how many keys it rebuilt; ``tables``: the summary's models, emptied by :func:`summary_rebuild`."""

    name: str
    source: type[Model]
    key: str
    pk: str
    date: str
    rebuild: Callable[[str, list], int]
    tables: tuple[type[Model], ...]
    #: Optional: given (SQL selecting the keys, its parameters), selects the summary's rows now and returns the
    #: function that writes them (run in the refresh's short transaction; returns how many keys it rebuilt).
    prepare: Callable[[str, list], Callable[[], int]] | None = None
    #: Optional: a summary of the same source, refreshed just before, that this one copies from: this one settles no
    #: further than its mark, so a row written between the two refreshes is read again by both, and the copy is
    #: never older than what it copies.
    copies: Summary | None = None


@dataclass(frozen=True)
class SummaryTable:
    """One table of a summary: the rows of some keys are deleted by ``key`` and selected again by ``select`` (given the
    keys' SQL and parameters: a SELECT of the rows in ``columns`` order, and its parameters)."""

    model: type[Model]
    key: str
    columns: tuple[str, ...]
    select: Callable[[str, list], tuple[str, list]]


def tables_rebuild(tables: Sequence[SummaryTable], keys_sql: str, params: list) -> int:
    """The tables' rows of the keys again, in the caller's transaction (``INSERT ... SELECT``); returns how many rows
    the first table has for them (one per key)."""
    counts = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(_delete_sql(table, keys_sql), params)
        for table in tables:
            select, select_params = table.select(keys_sql, params)
            cursor.execute(f"{_insert_sql(table)} {select}", select_params)
            counts.append(cursor.rowcount)
    return counts[0]


def tables_prepare(tables: Sequence[SummaryTable], keys_sql: str, params: list) -> Callable[[], int]:
    """The tables' rows of the keys selected now; the returned function replaces the keys' rows with them."""
    selected = []
    with connection.cursor() as cursor:
        for table in tables:
            select, select_params = table.select(keys_sql, params)
            cursor.execute(select, select_params)
            selected.append((table, cursor.fetchall()))

    def write() -> int:
        with connection.cursor() as cursor:
            for table, _rows in selected:
                cursor.execute(_delete_sql(table, keys_sql), params)
            for table, rows in selected:
                if rows:
                    values = f"VALUES ({', '.join(['%s'] * len(table.columns))})"
                    cursor.executemany(f"{_insert_sql(table)} {values}", rows)
        return len(selected[0][1])

    return write


def _delete_sql(table: SummaryTable, keys_sql: str) -> str:
    quote = connection.ops.quote_name
    return f"DELETE FROM {quote(table.model._meta.db_table)} WHERE {quote(table.key)} IN ({keys_sql})"


def _insert_sql(table: SummaryTable) -> str:
    quote = connection.ops.quote_name
    return f"INSERT INTO {quote(table.model._meta.db_table)} ({', '.join(quote(c) for c in table.columns)})"


def keys_in_sql(keys: Sequence[int]) -> tuple[str, list]:
    """SQL selecting these integer keys, with one parameter however many they are (SQLite caps a statement's)."""
    if connection.vendor == "postgresql":
        return "SELECT unnest(%s::bigint[])", [list(keys)]
    return "SELECT value FROM json_each(%s)", [json.dumps(list(keys))]


def summary_refresh(summary: Summary) -> SummaryReport:
    from ..models import SummaryMark

    # Nothing new: answered by two reads, without a write transaction (on SQLite that would take the write lock).
    last = _last_id(summary)
    mark = SummaryMark.objects.filter(name=summary.name).values_list("settled_id", "refreshed_at").first()
    if mark is not None and last <= mark[0]:
        return SummaryReport(keys=0, settled_id=mark[0])
    if mark is not None and summary.prepare is not None:
        report = _refresh_prepared(summary, mark, last)
        if report is not None:
            return report
    with transaction.atomic():
        locked = SummaryMark.objects.select_for_update().filter(name=summary.name).first()
        if locked is None:
            locked = SummaryMark.objects.create(name=summary.name)
        last = _last_id(summary)
        if last <= locked.settled_id:
            return SummaryReport(keys=0, settled_id=locked.settled_id)
        settled_id = _settles_at(summary, locked.settled_id, last)
        rebuilt = summary.rebuild(_keys_sql(summary), [locked.settled_id, last])
        locked.settled_id = settled_id
        locked.refreshed_at = timezone.now()
        locked.save(update_fields=["settled_id", "refreshed_at"])
    return SummaryReport(keys=rebuilt, settled_id=locked.settled_id)


def _refresh_prepared(summary: Summary, mark: tuple, last: int) -> SummaryReport | None:
    """The keys and their rows read with no write transaction, then written in a short one if the mark (its settled
    row and its time) has not moved meanwhile; ``None`` when it has (another refresh or a rebuild wrote): the caller
    then rebuilds inside its transaction."""
    from ..models import SummaryMark

    settled_id = _settles_at(summary, mark[0], last)
    with connection.cursor() as cursor:
        cursor.execute(_keys_sql(summary), [mark[0], last])
        keys = [row[0] for row in cursor.fetchall()]
    write = summary.prepare(*keys_in_sql(keys))
    with transaction.atomic():
        now = (SummaryMark.objects.select_for_update().filter(name=summary.name)
               .values_list("settled_id", "refreshed_at").first())
        if now != mark:
            return None
        rebuilt = write()
        SummaryMark.objects.filter(name=summary.name).update(settled_id=settled_id, refreshed_at=timezone.now())
    return SummaryReport(keys=rebuilt, settled_id=settled_id)


def _settled_id(summary: Summary) -> int:
    from ..models import SummaryMark

    return SummaryMark.objects.filter(name=summary.name).values_list("settled_id", flat=True).first() or 0


def _last_id(summary: Summary) -> int:
    return summary.source._base_manager.order_by(f"-{summary.pk}").values_list(summary.pk, flat=True).first() or 0


def _settles_at(summary: Summary, settled_id: int, last: int) -> int:
    """Where the mark settles after reading the rows up to ``last``: before the first row too young to be final."""
    if summary.copies is not None:
        last = min(last, _settled_id(summary.copies))
    seconds = settle_seconds()
    if not seconds:
        return last
    since = timezone.now() - timedelta(seconds=seconds)
    young = (summary.source._base_manager.filter(**{f"{summary.pk}__gt": settled_id, f"{summary.date}__gte": since})
             .order_by(summary.pk).values_list(summary.pk, flat=True).first())
    return last if young is None else min(last, young - 1)


def _keys_sql(summary: Summary) -> str:
    """The keys with source rows in a range of ids (the mark, the last row read)."""
    quote = connection.ops.quote_name
    return (f"SELECT DISTINCT s.{quote(summary.key)} FROM {quote(summary.source._meta.db_table)} s "
            f"WHERE s.{quote(summary.pk)} > %s AND s.{quote(summary.pk)} <= %s")


_refreshed_once: ContextVar[set[str] | None] = ContextVar("leadflow_summaries_refreshed", default=None)


@contextmanager
def summaries_refreshed_once() -> Iterator[None]:
    """Within this block (a page or a report) each summary is refreshed at most once, however many figures read it:
    one refresh per page, and every figure of the page reads the same state."""
    token = _refreshed_once.set(set())
    try:
        yield
    finally:
        _refreshed_once.reset(token)


def summary_refresh_quietly(summary: Summary) -> None:
    """The refresh a page runs before it reads: if the database is busy (SQLite's write lock held by a worker), the
    page shows the summary as of the last refresh instead of failing; the minute job catches up. Inside
    ``summaries_refreshed_once`` a summary already refreshed there is not read again."""
    refresh_quietly_once(summary.name, lambda: summary_refresh(summary))


def refresh_quietly_once(name: str, refresh: Callable[[], object]) -> None:
    """Run ``refresh`` (a summary's, or another step that keeps summaries, named ``name``) unless it already ran
    inside this ``summaries_refreshed_once`` block; a busy database is logged and the page reads what is there."""
    done = _refreshed_once.get()
    if done is not None and name in done:
        return
    try:
        refresh()
    except DatabaseError:
        logger.warning("summary %s: refresh skipped, database busy", name, exc_info=True)
    if done is not None:
        done.add(name)


def summary_rebuild(summary: Summary) -> SummaryReport:
    """Start over: empty the summary and read the whole source again."""
    from ..models import SummaryMark

    with transaction.atomic():
        for table in summary.tables:
            table._base_manager.all().delete()
        SummaryMark.objects.update_or_create(name=summary.name, defaults={"settled_id": 0, "refreshed_at": None})
    return summary_refresh(summary)


def summary_settle(summary: Summary) -> None:
    """Mark the source read up to now without rebuilding (another rebuild has just covered it, e.g. a roll-up
    rebuilt with the facts): rows too young to be final (:func:`settle_seconds`) are still read again next time."""
    from ..models import SummaryMark

    with transaction.atomic():
        last = _last_id(summary)
        SummaryMark.objects.update_or_create(name=summary.name, defaults={
            "settled_id": _settles_at(summary, 0, last), "refreshed_at": timezone.now()})
