"""Summary tables kept from an append-only source table by a mark (``SummaryMark``), set-based.

A summary (the funnel's stage summary from the lead history, the first assignments from the routing decisions) is
derived: per key (a lead) its rows are rebuilt from all of that key's source rows, so rebuilding a key twice is
harmless. :func:`summary_refresh` finds the keys with source rows after the mark and hands the SQL selecting them to
the summary's rebuild, in one transaction (the mark row locked: two refreshes never interleave). The mark only
settles on source rows older than ``SETTLE_SECONDS``; younger rows are read again next time, because on PostgreSQL a
transaction that commits late can hold a lower id than rows already read. The work is in proportion to what changed,
so a dashboard can refresh before it reads, and a minute job keeps that small."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

from django.db import DatabaseError, connection, transaction
from django.db.models import Model
from django.utils import timezone

logger = logging.getLogger(__name__)

SETTLE_SECONDS = 60


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


def summary_refresh(summary: Summary) -> SummaryReport:
    from ..models import SummaryMark

    source = summary.source
    quote = connection.ops.quote_name
    # Nothing new: answered by two reads, without a write transaction (on SQLite that would take the write lock).
    last = source._base_manager.order_by(f"-{summary.pk}").values_list(summary.pk, flat=True).first() or 0
    settled = SummaryMark.objects.filter(name=summary.name).values_list("settled_id", flat=True).first()
    if settled is not None and last <= settled:
        return SummaryReport(keys=0, settled_id=settled)
    with transaction.atomic():
        mark = SummaryMark.objects.select_for_update().filter(name=summary.name).first()
        if mark is None:
            mark = SummaryMark.objects.create(name=summary.name)
        last = source._base_manager.order_by(f"-{summary.pk}").values_list(summary.pk, flat=True).first() or 0
        if last <= mark.settled_id:
            return SummaryReport(keys=0, settled_id=mark.settled_id)
        young = (source._base_manager.filter(**{f"{summary.pk}__gt": mark.settled_id,
                                               f"{summary.date}__gte": timezone.now() - timedelta(
                                                   seconds=SETTLE_SECONDS)})
                 .order_by(summary.pk).values_list(summary.pk, flat=True).first())
        keys_sql = (f"SELECT DISTINCT s.{quote(summary.key)} FROM {quote(source._meta.db_table)} s "
                    f"WHERE s.{quote(summary.pk)} > %s AND s.{quote(summary.pk)} <= %s")
        rebuilt = summary.rebuild(keys_sql, [mark.settled_id, last])
        mark.settled_id = last if young is None else young - 1
        mark.refreshed_at = timezone.now()
        mark.save(update_fields=["settled_id", "refreshed_at"])
    return SummaryReport(keys=rebuilt, settled_id=mark.settled_id)


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
    rebuilt with the facts): rows younger than ``SETTLE_SECONDS`` are still read again next time."""
    from ..models import SummaryMark

    source = summary.source._base_manager
    with transaction.atomic():
        young = (source.filter(**{f"{summary.date}__gte": timezone.now() - timedelta(seconds=SETTLE_SECONDS)})
                 .order_by(summary.pk).values_list(summary.pk, flat=True).first())
        last = source.order_by(f"-{summary.pk}").values_list(summary.pk, flat=True).first() or 0
        SummaryMark.objects.update_or_create(name=summary.name, defaults={
            "settled_id": last if young is None else young - 1, "refreshed_at": timezone.now()})
