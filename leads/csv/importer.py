"""CSV import of leads and of the company directory (docs/csv.md), read record by record so a file of millions
of rows runs in bounded memory.

``import_leads_csv`` and ``import_companies_csv`` read the file with ``CsvReader`` (see ``reader``), then:

1. lead rows go through ``leads_bulk_ingest`` ``BATCH_ROWS`` at a time; a batch that fails as a whole, and every
   company directory row, goes through ``lead_ingest`` (or the directory upsert) one row at a time in its own
   transaction, so a rejected or failing row writes nothing and the rest of the file goes on;
2. count the outcome, write every error to ``errors_out`` (CSV ``row,field,reason``) and keep the first
   ``MAX_ERRORS_KEPT`` in memory for the screen; call ``progress`` every ``PROGRESS_EVERY_ROWS`` rows.

The admin upload runs as the RQ job ``leads.jobs.lead_import_run_job``, which updates ``LeadImport`` as it goes.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import IO, TextIO

from django.core.exceptions import ValidationError
from django.db import transaction

from revops.base.jobs import jobs_inline, jobs_left_pending

from ..dedup.match import review_caps
from ..normalize import COMPANY_COLUMNS, INPUT_COLUMNS, FieldError, normalize_company_row
from ..services import (
    company_profile_upsert,
    field_errors_from,
    industry_vocabulary,
    lead_ingest,
    leads_bulk_ingest,
)
from .export import csv_safe
from .reader import UTF8_HINT, CsvColumn, CsvFileError, CsvReader, CsvRecord

logger = logging.getLogger(__name__)

MAX_ERRORS_KEPT = 200
PROGRESS_EVERY_ROWS = 200
# This many rows in a row failing in the database (not on their data) means the database is the problem: stop.
MAX_CONSECUTIVE_FAILURES = 100
# The source name that marks a LeadImport as a company directory import.
DIRECTORY_IMPORT_SOURCE = "company-directory"
DEFAULT_SOURCE = "csv"
ERROR_COLUMNS: tuple[str, ...] = ("row", "field", "reason")


@dataclass(frozen=True)
class RowError:
    """One problem of one row, as written to the errors CSV."""

    row: int
    field: str
    reason: str


@dataclass
class ImportReport:
    """What an import did: outcome counts, the first errors, and a file-level error when nothing was imported.

    ``rows`` counts the data rows read (blank lines are not rows); ``errors`` counts rows with at least one
    error; ``error_sample`` keeps the first ``MAX_ERRORS_KEPT`` error lines (every one goes to ``errors_out``).
    """

    kind: str = "leads"
    rows: int = 0
    created: int = 0
    updated: int = 0
    merged: int = 0
    review: int = 0
    unchanged: int = 0
    errors: int = 0
    error_lines: int = 0
    error_sample: list[RowError] = field(default_factory=list)
    file_error: str = ""
    warnings: list[str] = field(default_factory=list)
    columns: list[CsvColumn] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def custom_columns(self) -> list[str]:
        return [c.header for c in self.columns if c.kind == "custom"]

    @property
    def counts(self) -> dict[str, int]:
        """The outcome counts by name (what LeadImport.counts stores)."""
        names = ("created", "merged", "updated", "review") if self.kind == "leads" else (
            "created", "updated", "unchanged")
        return {**{name: getattr(self, name) for name in names}, "errors": self.errors}

    def summary(self) -> str:
        """"created N, merged N, updated N, review N, errors N" (the companies: created, updated, unchanged)."""
        return ", ".join(f"{name} {count}" for name, count in self.counts.items())

    def count(self, action: str) -> None:
        setattr(self, action, getattr(self, action) + 1)


class _ErrorWriter:
    """Writes error lines as CSV ``row,field,reason`` to ``out``; the header goes out with the first error."""

    def __init__(self, out: TextIO | None):
        self._out = out
        self._writer = None

    def write(self, errors: Iterable[RowError]) -> None:
        if self._out is None:
            return
        if self._writer is None:
            self._writer = csv.writer(self._out)
            self._writer.writerow(ERROR_COLUMNS)
        self._writer.writerows([e.row, csv_safe(e.field), csv_safe(e.reason)] for e in errors)


RowHandler = Callable[[dict[str, str]], tuple[str, list[FieldError]]]


BatchHandler = Callable[[list[tuple[int, dict[str, str]]], "ImportReport"], dict[int, tuple[str, list[FieldError]]]]
BATCH_ROWS = 1000


def _handle_one(record: CsvRecord, handle: RowHandler, report: ImportReport) -> tuple[str, list[FieldError], bool]:
    """One record through ``handle`` in its own transaction: (action, errors, failed in the database)."""
    try:
        with transaction.atomic():
            action, errors = handle(record.values)
        return action, errors, False
    except ValidationError as exc:
        return "", field_errors_from(exc), False
    except Exception as exc:  # noqa: BLE001 - one failing row must not stop the file
        logger.exception("CSV import: row %s could not be stored", record.number)
        return "", [FieldError("row", f"could not be stored ({type(exc).__name__}: {exc})")], True


def _chunks(reader: CsvReader, size: int) -> Iterator[list[CsvRecord]]:
    chunk: list[CsvRecord] = []
    for record in reader:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _run_import(reader: CsvReader, handle: RowHandler, report: ImportReport, *,
                progress: Callable[[ImportReport], None] | None, errors_out: TextIO | None,
                batch_handle: BatchHandler | None = None) -> None:
    """Feed the records to ``batch_handle`` a few hundred at a time (when given) or to ``handle`` one by one,
    and account for every outcome in ``report``.

    A batch that fails as a whole (a database error) is retried row by row with ``handle``, each row in its own
    transaction, so one bad row never costs the others and every row gets its own error.
    """
    writer = _ErrorWriter(errors_out)
    consecutive_failures = 0
    left_pending = jobs_left_pending()
    for chunk in _chunks(reader, BATCH_ROWS if batch_handle is not None else 1):
        results: dict[int, tuple[str, list[FieldError]]] | None = None
        readable = [(r.number, r.values) for r in chunk if not r.errors]
        if batch_handle is not None and readable:
            try:
                results = batch_handle(readable, report)
            except Exception:  # noqa: BLE001 - fall back to one row at a time
                logger.exception("CSV import: batch from row %s failed; retrying row by row", chunk[0].number)
                results = None
        for record in chunk:
            report.rows += 1
            errors = record.errors
            action = ""
            failed_in_database = False
            if not errors:
                if results is not None and record.number in results:
                    action, errors = results[record.number]
                else:
                    action, errors, failed_in_database = _handle_one(record, handle, report)
            consecutive_failures = consecutive_failures + 1 if failed_in_database else 0
            if errors:
                report.errors += 1
                lines = [RowError(record.number, e.field, e.reason) for e in errors]
                report.error_lines += len(lines)
                room = MAX_ERRORS_KEPT - len(report.error_sample)
                if room > 0:
                    report.error_sample.extend(lines[:room])
                writer.write(lines)
            else:
                report.count(action)
            if consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
                report.file_error = (f"Stopped at row {record.number}: the last {MAX_CONSECUTIVE_FAILURES} rows "
                                     f"could not be stored ({errors[0].reason}). Rows before were imported.")
                break
            if progress is not None and report.rows % PROGRESS_EVERY_ROWS == 0:
                progress(report)
        if report.file_error:
            break
    if left := jobs_left_pending() - left_pending:
        report.warnings.append(f"{left} pipeline job(s) of the stored rows could not be queued (Redis unreachable): "
                               "they wait in the pending-jobs table and run by themselves once the queue is back.")
    if reader.invalid_utf8_rows:
        report.warnings.append(f"{reader.invalid_utf8_rows} row(s) were not valid UTF-8; {UTF8_HINT}, then import "
                               "it again (rows already imported are updated or merged, not duplicated).")


def _import(fileobj: IO[bytes], *, kind: str, known_columns: Iterable[str], required_any: tuple[str, ...],
            keep_custom: bool, handle: RowHandler, progress: Callable[[ImportReport], None] | None,
            errors_out: TextIO | None, batch_handle: BatchHandler | None = None) -> ImportReport:
    started = time.monotonic()
    report = ImportReport(kind=kind)
    try:
        reader = CsvReader(fileobj, known_columns=known_columns, required_any=required_any, keep_custom=keep_custom)
    except CsvFileError as exc:
        report.file_error = str(exc)
        return report
    report.columns = reader.columns
    report.warnings.extend(reader.warnings)
    _run_import(reader, handle, report, progress=progress, errors_out=errors_out, batch_handle=batch_handle)
    report.seconds = time.monotonic() - started
    if progress is not None:
        progress(report)
    return report


def import_leads_csv(fileobj: IO[bytes], *, source: str = "", user=None, sync: bool = False,
                     progress: Callable[[ImportReport], None] | None = None,
                     errors_out: TextIO | None = None) -> ImportReport:
    """Import a lead CSV (opened in binary mode) ``BATCH_ROWS`` rows at a time through ``leads_bulk_ingest``; see
    the module docstring.

    ``source`` is the source of rows without a ``source`` cell. ``sync=True`` runs the whole pipeline (enrichment,
    scoring, routing, tasks) inline after each batch; otherwise its jobs go to the RQ queue. A file-level problem is
    returned as ``report.file_error`` with nothing imported.
    """
    def handle(values: dict[str, str]) -> tuple[str, list[FieldError]]:
        result = lead_ingest(data=values, source=source, user=user)
        if result.action == "rejected":
            return "", result.errors
        return result.action, []

    def batch_handle(rows: list[tuple[int, dict[str, str]]],
                     report: ImportReport) -> dict[int, tuple[str, list[FieldError]]]:
        outcomes, _ = leads_bulk_ingest(rows, source=source, user=user, reason=f"CSV import ({source or 'csv'})")
        skipped = sum(o.reviews_skipped for o in outcomes)
        if skipped:
            per_lead, per_batch = review_caps()
            report.warnings.append(f"{skipped} possible duplicate pair(s) of rows {outcomes[0].row}-"
                                   f"{outcomes[-1].row} were not opened for review (at most {per_lead} per lead and "
                                   f"{per_batch} per batch, strongest first).")
        return {o.row: (("", o.errors) if o.action == "rejected" else (o.action, [])) for o in outcomes}

    with jobs_inline() if sync else nullcontext():
        return _import(fileobj, kind="leads", known_columns=INPUT_COLUMNS, required_any=("email", "phone"),
                       keep_custom=True, handle=handle, progress=progress, errors_out=errors_out,
                       batch_handle=batch_handle)


def import_companies_csv(fileobj: IO[bytes], *, user=None, progress: Callable[[ImportReport], None] | None = None,
                         errors_out: TextIO | None = None) -> ImportReport:
    """Import the company directory (CompanyProfile, upserted by domain) from CSV, row by row like the leads."""
    vocabulary = industry_vocabulary()

    def handle(values: dict[str, str]) -> tuple[str, list[FieldError]]:
        normalized, errors = normalize_company_row(values, industry_vocabulary=vocabulary)
        if errors:
            return "", errors
        return company_profile_upsert(values=normalized, user=user), []

    return _import(fileobj, kind="companies", known_columns=COMPANY_COLUMNS, required_any=("domain",),
                   keep_custom=False, handle=handle, progress=progress, errors_out=errors_out)
