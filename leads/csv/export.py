"""CSV export of leads and of the open duplicate reviews (docs/csv.md).

Live leads in id order, read with ``iterator(chunk_size=2000)`` and their source records prefetched per chunk.
Every cell that a spreadsheet would run as a formula is prefixed with a single quote (``csv_safe``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from typing import Any, TextIO

from django.db.models import Prefetch, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from ..choices import ReviewStatus
from ..models import DuplicateReview, Lead, SourceRecord

EXPORT_COLUMNS: tuple[str, ...] = (
    "lead_id", "external_ids", "first_name", "last_name", "email", "phone", "country", "company", "industry",
    "fit_score", "engagement_score", "score", "band", "stage", "owner", "queue", "predicted_probability",
    "title", "domain", "source", "outcome", "created_at",
)
DUPLICATE_REVIEW_COLUMNS: tuple[str, ...] = ("lead_id", "other_lead_id", "similarity", "reason")
# The incremental export (``export_leads --updated-since``) adds where a merged lead went and when a row changed.
FEED_EXTRA_COLUMNS: tuple[str, ...] = ("merged_into", "updated_at")

_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER_RE = re.compile(r"[+-]?\d+(?:\.\d+)?\Z")


def csv_safe(value: Any) -> str:
    """A value as a CSV cell that a spreadsheet shows as text and never runs as a formula.

    OWASP "CSV injection": a cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is prefixed
    with a single quote. Plain numbers (``-12``, ``+14155550100``, an E.164 phone) cannot call anything and are
    left as they are, so phones and negative scores survive a round trip.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.startswith(_FORMULA_TRIGGERS) and not _PLAIN_NUMBER_RE.match(text):
        return "'" + text
    return text


EXPORT_CHUNK_SIZE = 2000


def _number(value: Any) -> str:
    return "" if value is None else str(value)


def lead_export_rows(queryset: QuerySet[Lead], *, feed: bool = False) -> Iterator[list[str]]:
    """The export rows (EXPORT_COLUMNS) of the live leads of ``queryset``, in id order, streamed in chunks.

    ``feed``: the incremental export instead — merged leads too, ordered by ``(updated_at, id)``, with the
    ``FEED_EXTRA_COLUMNS`` at the end of each row.

    Source records are prefetched per chunk of ``EXPORT_CHUNK_SIZE`` leads and owners joined, so the number of
    queries grows with the chunks, not the leads. Text cells pass through ``csv_safe``.
    """
    leads = (
        (queryset if feed else queryset.filter(merged_into__isnull=True))
        .select_related("owner")
        .prefetch_related(Prefetch("source_records", queryset=SourceRecord.objects.order_by("id")))
        .order_by(*(("updated_at", "id") if feed else ("id",)))
    )
    for lead in leads.iterator(chunk_size=EXPORT_CHUNK_SIZE):
        row = _export_row(lead)
        if feed:
            row += [_number(lead.merged_into_id), lead.updated_at.isoformat()]
        yield row


def _export_row(lead: Lead) -> list[str]:
    """One lead's cells in the order of EXPORT_COLUMNS."""
    external_ids = ";".join(f"{r.source}:{r.external_id}" for r in lead.source_records.all())
    probability = "" if lead.predicted_probability is None else f"{lead.predicted_probability:.4f}"
    return [
        str(lead.pk), csv_safe(external_ids), csv_safe(lead.first_name), csv_safe(lead.last_name),
        csv_safe(lead.email), csv_safe(lead.phone), csv_safe(lead.country), csv_safe(lead.company),
        csv_safe(lead.industry), _number(lead.fit_score), _number(lead.engagement_score), _number(lead.score),
        csv_safe(lead.band), csv_safe(lead.stage), csv_safe(lead.owner.email if lead.owner else ""),
        csv_safe(lead.queue), probability, csv_safe(lead.title), csv_safe(lead.domain), csv_safe(lead.source),
        csv_safe(lead.outcome), lead.created_at.isoformat() if lead.created_at else "",
    ]


def write_leads_csv(queryset: QuerySet[Lead], out: TextIO, *, feed: bool = False) -> int:
    """Write the lead CSV (header and rows) to ``out`` (opened with ``newline=""``); returns the number of leads.
    ``feed``: the incremental export's rows and columns (``lead_export_rows``)."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS + (FEED_EXTRA_COLUMNS if feed else ()))
    count = 0
    for row in lead_export_rows(queryset, feed=feed):
        writer.writerow(row)
        count += 1
    return count


class _Echo:
    """A file-like object whose write() hands back what it was given (for streaming csv.writer output)."""

    def write(self, value: str) -> str:
        return value


def leads_csv_stream(queryset: QuerySet[Lead], *, batch: int = 500) -> Iterator[str]:
    """The lead CSV as text chunks of ``batch`` rows, for a StreamingHttpResponse."""
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    lines: list[str] = []
    for row in lead_export_rows(queryset):
        lines.append(writer.writerow(row))
        if len(lines) >= batch:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def leads_csv_response(queryset: QuerySet[Lead], *, filename_prefix: str = "leads") -> StreamingHttpResponse:
    """The lead CSV of ``queryset`` as a streamed download (the admin action, the admin link, the API)."""
    response = StreamingHttpResponse(leads_csv_stream(queryset), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="{filename_prefix}-{stamp}.csv"'
    return response


def write_duplicate_reviews_csv(out: TextIO) -> int:
    """Write the open review pairs (DUPLICATE_REVIEW_COLUMNS) to ``out``; returns the number of pairs."""
    writer = csv.writer(out)
    writer.writerow(DUPLICATE_REVIEW_COLUMNS)
    count = 0
    reviews = (DuplicateReview.objects.filter(status=ReviewStatus.OPEN).order_by("id")
               .values_list("lead_id", "other_lead_id", "similarity", "reason"))
    for lead_id, other_id, similarity, reason in reviews.iterator(chunk_size=EXPORT_CHUNK_SIZE):
        writer.writerow([lead_id, other_id, f"{similarity:.1f}", csv_safe(reason)])
        count += 1
    return count

