"""CSV import and export of leads and of the company directory. The public contract is docs/csv.md.

Import (``import_leads_csv``, ``import_companies_csv``), one row at a time so a file of millions of rows runs in
bounded memory:

1. sniff the first bytes: an empty file, UTF-16/UTF-32, an Excel workbook or another binary file is a
   file-level error (nothing is imported);
2. decode UTF-8 (a BOM is skipped) with ``surrogateescape``, so a row holding bytes that are not UTF-8 (a
   Latin-1 "é" pasted into an otherwise UTF-8 file) becomes a row error instead of stopping the file;
3. read the header: names are trimmed and matched case-insensitively, spaces and hyphens count as
   underscores; a duplicate name, or no email and no phone column, is a file-level error;
4. for every record: skip blank ones; a record with more cells than headers, a field over
   ``MAX_FIELD_CHARS``, or bytes that are not UTF-8 is a row error; otherwise the row goes through
   ``lead_ingest`` (or the directory upsert) in its own transaction, so a rejected or failing row writes
   nothing and the rest of the file goes on;
5. count the outcome, write every error to ``errors_out`` (CSV ``row,field,reason``) and keep the first
   ``MAX_ERRORS_KEPT`` in memory for the screen; call ``progress`` every ``PROGRESS_EVERY_ROWS`` rows.

Row numbers count every record of the file from the top, the header being row 1 and blank lines included,
so they are the row numbers a spreadsheet shows.

Export (``write_leads_csv``, ``leads_csv_stream``): live leads in id order, read with ``iterator(chunk_size=2000)``
and their source records prefetched per chunk. Every cell that a spreadsheet would run as a formula is prefixed
with a single quote (``csv_safe``).

The admin upload runs as the RQ job ``lead_import_run_job``, which updates ``LeadImport`` as it goes.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, TextIO

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import DatabaseError, transaction
from django.db.models import Prefetch, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from revops.base.jobs import jobs_inline, jobs_run_inline

from .choices import ImportStatus, ReviewStatus
from .models import CompanyProfile, DuplicateReview, Lead, LeadImport, SourceRecord
from .normalize import (
    INPUT_COLUMNS,
    FieldError,
    clean_text,
    employees_to_size_band,
    normalize_country,
    normalize_industry,
    normalize_row,
    normalize_website,
    parse_decimal,
)
from .services import field_errors_from

logger = logging.getLogger(__name__)

# A field longer than this is a row error (the csv module's default limit is 128 KiB).
MAX_FIELD_CHARS = 1024 * 1024
# A physical line longer than this is a row error without being held in memory whole.
MAX_LINE_CHARS = 8 * MAX_FIELD_CHARS
MAX_ERRORS_KEPT = 200
PROGRESS_EVERY_ROWS = 200
PREVIEW_ROWS = 20
# This many rows in a row failing in the database (not on their data) means the database is the problem: stop.
MAX_CONSECUTIVE_FAILURES = 100
# The source name that marks a LeadImport as a company directory import.
DIRECTORY_IMPORT_SOURCE = "company-directory"
DEFAULT_SOURCE = "csv"

COMPANY_COLUMNS: tuple[str, ...] = (
    "domain", "name", "industry", "employees", "annual_revenue", "country", "state", "city",
)
EXPORT_COLUMNS: tuple[str, ...] = (
    "lead_id", "external_ids", "first_name", "last_name", "email", "phone", "country", "company", "industry",
    "fit_score", "engagement_score", "score", "band", "stage", "owner", "queue", "predicted_probability",
    "title", "domain", "source", "outcome", "created_at",
)
DUPLICATE_REVIEW_COLUMNS: tuple[str, ...] = ("lead_id", "other_lead_id", "similarity", "reason")
ERROR_COLUMNS: tuple[str, ...] = ("row", "field", "reason")

csv.field_size_limit(MAX_FIELD_CHARS)

_UTF8_HINT = "the file is probably Latin-1 or Windows-1252: save it as CSV UTF-8"


# --------------------------------------------------------------------------------------------------------------
# Cells and formula injection
# --------------------------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------------------------
# Reading: encoding, header, records
# --------------------------------------------------------------------------------------------------------------


class CsvFileError(Exception):
    """A problem with the whole file (encoding, header, format): nothing is imported."""


@dataclass(frozen=True)
class RowError:
    """One problem of one row, as written to the errors CSV."""

    row: int
    field: str
    reason: str


@dataclass(frozen=True)
class CsvColumn:
    """One header cell: where it is, what the file calls it, and what the import makes of it."""

    position: int  # 1-based, as a spreadsheet counts columns
    header: str  # as in the file, trimmed
    key: str  # the contract column, the custom attribute name, or "" when ignored
    kind: str  # "contract", "custom" or "ignored"


@dataclass
class CsvRecord:
    """One non-blank data row: its number, its cells by column key, and the problems found while reading it."""

    number: int
    values: dict[str, str]
    errors: list[FieldError] = field(default_factory=list)


def header_key(name: str) -> str:
    """How a header name is matched: trimmed, case-insensitive, runs of spaces and hyphens read as "_"."""
    return re.sub(r"[\s\-]+", "_", name.lstrip("\ufeff").strip()).casefold()


class _PrefixedRaw(io.RawIOBase):
    """A binary stream that first returns ``head`` (already read, to sniff the encoding), then the rest."""

    def __init__(self, head: bytes, rest: IO[bytes]):
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(buffer))
        if not data:
            return 0
        buffer[: len(data)] = data
        return len(data)


class _LineTooLong(Exception):
    """A physical line over ``MAX_LINE_CHARS``; it was skipped without being held in memory."""


class _Lines:
    """Lines of a text stream, each at most ``limit`` characters: a longer line is skipped and reported.

    An iterator class rather than a generator so it can raise ``_LineTooLong`` and still go on afterwards
    (the csv reader resets and asks for the next line).
    """

    def __init__(self, text: TextIO, limit: int):
        self._text = text
        self._limit = limit

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._text.readline(self._limit)
        if not line:
            raise StopIteration
        if len(line) >= self._limit and not line.endswith(("\n", "\r")):
            while True:
                rest = self._text.readline(self._limit)
                if not rest or len(rest) < self._limit or rest.endswith(("\n", "\r")):
                    break
            raise _LineTooLong
        return line


def _sniff(head: bytes) -> None:
    """Raise CsvFileError for a file that is not UTF-8 text at all: empty, UTF-16/32, a workbook, binary."""
    if not head.strip(b"\xef\xbb\xbf \t\r\n"):
        raise CsvFileError("The file is empty: expected a header row (e.g. email,first_name,last_name) and rows.")
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise CsvFileError("The file is UTF-32, not UTF-8: save it as CSV UTF-8 and upload it again.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CsvFileError(
            "The file is UTF-16 (Excel's \"Unicode text\"), not UTF-8: save it as CSV UTF-8 and upload it again."
        )
    if head.startswith(b"PK\x03\x04"):
        raise CsvFileError("The file is an Excel workbook (.xlsx) or a ZIP archive, not CSV: save it as CSV UTF-8.")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise CsvFileError("The file is an old Excel workbook (.xls), not CSV: save it as CSV UTF-8.")
    nul = head.count(b"\x00")
    if nul * 4 >= len(head):
        raise CsvFileError(
            "The file looks like UTF-16 without a byte order mark (every other byte is zero), not UTF-8: "
            "save it as CSV UTF-8 and upload it again."
        )
    if nul:
        raise CsvFileError("The file holds NUL bytes: it is a binary file, not CSV text.")


def _bad_utf8(text: str) -> str | None:
    """The first byte of ``text`` that was not UTF-8 (kept as a lone surrogate by surrogateescape), as 0xNN."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"0x{ord(text[exc.start]) - 0xDC00:02X}"
    return None


def _csv_error_reason(exc: Exception) -> str:
    if isinstance(exc, _LineTooLong):
        return f"the line is longer than {MAX_LINE_CHARS:,} characters"
    if "field larger than field limit" in str(exc):
        return f"a field is longer than {MAX_FIELD_CHARS:,} characters"
    return f"unreadable CSV: {exc}"


class CsvReader:
    """The records of a CSV file, read lazily: ``columns`` once the header is read, then iterate for the rows.

    ``known_columns`` are the contract's column names; other named columns are custom (kept when
    ``keep_custom``, else ignored with a warning). ``required_any``: at least one of these must be a column.
    Raises CsvFileError for a problem with the whole file.
    """

    def __init__(self, fileobj: IO[bytes], *, known_columns: Iterable[str], required_any: tuple[str, ...],
                 keep_custom: bool = True):
        head = fileobj.read(4096)
        if isinstance(head, str):
            raise TypeError("open the CSV file in binary mode ('rb')")
        _sniff(head)
        stream = io.BufferedReader(_PrefixedRaw(head, fileobj), buffer_size=65536)
        self._text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
        self._reader = csv.reader(_Lines(self._text, MAX_LINE_CHARS))
        self.warnings: list[str] = []
        self.invalid_utf8_rows = 0
        self._number = 0
        self.columns = self._read_header(set(known_columns), required_any, keep_custom)
        self._keyed = [(c.position - 1, c.key) for c in self.columns if c.key]
        self._width = len(self.columns)

    def _next_cells(self) -> list[str] | None:
        """The next record's cells (None at the end); raises csv.Error or _LineTooLong for an unreadable one."""
        self._number += 1
        try:
            return next(self._reader)
        except StopIteration:
            return None

    def _read_header(self, known: set[str], required_any: tuple[str, ...], keep_custom: bool) -> list[CsvColumn]:
        while True:
            try:
                cells = self._next_cells()
            except (csv.Error, _LineTooLong) as exc:
                raise CsvFileError(f"The header row cannot be read: {_csv_error_reason(exc)}.") from exc
            if cells is None:
                raise CsvFileError("The file is empty: expected a header row (e.g. email,first_name,last_name).")
            if any(cell.strip() for cell in cells):
                break
        for cell in cells:
            bad = _bad_utf8(cell)
            if bad:
                raise CsvFileError(f"The header row is not valid UTF-8 (byte {bad}): {_UTF8_HINT}.")
        columns: list[CsvColumn] = []
        seen: dict[str, CsvColumn] = {}
        duplicates: list[str] = []
        ignored: list[str] = []
        for position, cell in enumerate(cells, start=1):
            header = cell.lstrip("\ufeff").strip()
            key = header_key(header)
            if not header:
                columns.append(CsvColumn(position, "", "", "ignored"))
                continue
            if key in seen:
                duplicates.append(f'"{seen[key].header}" (column {seen[key].position}) and "{header}" '
                                  f"(column {position})")
            if key in known:
                column = CsvColumn(position, header, key, "contract")
            elif keep_custom:
                column = CsvColumn(position, header, header, "custom")
            else:
                column = CsvColumn(position, header, "", "ignored")
                ignored.append(header)
            seen.setdefault(key, column)
            columns.append(column)
        if duplicates:
            raise CsvFileError("Duplicate column names (names are matched ignoring case): " + "; ".join(duplicates)
                               + ". Rename or remove one of each.")
        if not any(c.kind == "contract" and c.key in required_any for c in columns):
            found = ", ".join(c.header for c in columns if c.header) or "none"
            hint = ""
            if len(columns) == 1 and (";" in cells[0] or "\t" in cells[0]):
                hint = " The file seems to use ';' or tabs between columns: save it comma-separated."
            raise CsvFileError(f"No {' and no '.join(required_any)} column: at least one is required. "
                               f"Columns found: {found}.{hint}")
        unnamed = [str(c.position) for c in columns if not c.header]
        if unnamed:
            self.warnings.append(f"Column(s) {', '.join(unnamed)} have no header name: their cells are ignored.")
        if ignored:
            self.warnings.append(f"Column(s) {', '.join(ignored)} are not part of this import and are ignored.")
        return columns

    def __iter__(self) -> Iterator[CsvRecord]:
        """Non-blank records in file order; a record that cannot be read comes with its error and no values."""
        while True:
            try:
                cells = self._next_cells()
            except (csv.Error, _LineTooLong) as exc:
                yield CsvRecord(self._number, {}, [FieldError("row", _csv_error_reason(exc))])
                continue
            if cells is None:
                return
            if not any(cells):
                continue
            record = self._record(cells)
            if record is not None:
                yield record

    def _record(self, cells: list[str]) -> CsvRecord | None:
        number = self._number
        if len(cells) > self._width and any(cell.strip() for cell in cells[self._width:]):
            return CsvRecord(number, {}, [FieldError(
                "row", f"the row has {len(cells)} cells but the header names {self._width} columns "
                       "(a separator or quote inside a value?)")])
        values: dict[str, str] = {}
        errors: list[FieldError] = []
        blank = True
        for index, key in self._keyed:
            if index >= len(cells):
                break
            cell = cells[index]
            if cell:
                if blank and cell.strip():
                    blank = False
                bad = _bad_utf8(cell)
                if bad:
                    errors.append(FieldError(key, f"not valid UTF-8 (byte {bad}); {_UTF8_HINT}"))
                    continue
            values[key] = cell
        if blank and not errors:
            return None
        if errors:
            self.invalid_utf8_rows += 1
            return CsvRecord(number, {}, errors)
        return CsvRecord(number, values)


# --------------------------------------------------------------------------------------------------------------
# Import driver
# --------------------------------------------------------------------------------------------------------------


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
    unqueued: int = 0
    unqueued_reason: str = ""
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
    handled = False
    try:
        with transaction.atomic():
            action, errors = handle(record.values)
            handled = True
        return action, errors, False
    except ValidationError as exc:
        return "", field_errors_from(exc), False
    except Exception as exc:  # noqa: BLE001 - one failing row must not stop the file
        if handled and not isinstance(exc, DatabaseError):
            # Committed; what failed is a commit hook (queueing the row's pipeline jobs, e.g. Redis down).
            report.unqueued += 1
            report.unqueued_reason = f"{type(exc).__name__}: {exc}"
            return "", [], False
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
    if report.unqueued:
        report.warnings.append(f"{report.unqueued} row(s) were stored but their pipeline jobs could not be queued "
                               f"({report.unqueued_reason}): once the queue is back, run rescore_leads and "
                               "route_leads for them.")
    if reader.invalid_utf8_rows:
        report.warnings.append(f"{reader.invalid_utf8_rows} row(s) were not valid UTF-8; {_UTF8_HINT}, then import "
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
    from .bulk import leads_bulk_ingest
    from .services import lead_ingest

    def handle(values: dict[str, str]) -> tuple[str, list[FieldError]]:
        result = lead_ingest(data=values, source=source, user=user)
        if result.action == "rejected":
            return "", result.errors
        return result.action, []

    def batch_handle(rows: list[tuple[int, dict[str, str]]],
                     report: ImportReport) -> dict[int, tuple[str, list[FieldError]]]:
        outcomes, _ = leads_bulk_ingest(rows, source=source, user=user, reason=f"CSV import ({source or 'csv'})")
        for outcome in outcomes:
            if outcome.unqueued:
                report.unqueued += 1
                report.unqueued_reason = outcome.unqueued
        return {o.row: (("", o.errors) if o.action == "rejected" else (o.action, [])) for o in outcomes}

    with jobs_inline() if sync else nullcontext():
        return _import(fileobj, kind="leads", known_columns=INPUT_COLUMNS, required_any=("email", "phone"),
                       keep_custom=True, handle=handle, progress=progress, errors_out=errors_out,
                       batch_handle=batch_handle)


# --------------------------------------------------------------------------------------------------------------
# The company directory
# --------------------------------------------------------------------------------------------------------------

_COMPANY_LIMITS = {"name": 255, "industry": 100, "state": 100, "city": 100}


def normalize_company_row(row: Mapping[str, str], *, industry_vocabulary: Mapping[str, str] | None = None
                          ) -> tuple[dict[str, Any], list[FieldError]]:
    """Normalize one company directory row: ``(values, errors)``; empty cells are left out of ``values``.

    domain: any URL or host, reduced to the bare domain (required); industry: mapped through the vocabulary,
    kept as given when unknown; employees, annual_revenue, country: parsed as for leads, but an unreadable value
    is an error here (the directory has no flags).
    """
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    texts = {key: clean_text(row.get(key, "")) for key in COMPANY_COLUMNS}
    domain_text = texts["domain"]
    if not domain_text:
        errors.append(FieldError("domain", "is required"))
    else:
        domain = normalize_website(domain_text)[1]
        if domain:
            values["domain"] = domain
        else:
            errors.append(FieldError("domain", f'"{domain_text[:60]}" is not a valid domain'))
    for key, limit in _COMPANY_LIMITS.items():
        if len(texts[key]) > limit:
            errors.append(FieldError(key, f"longer than {limit} characters"))
    if texts["name"]:
        values["name"] = texts["name"]
    if texts["industry"]:
        values["industry"] = normalize_industry(texts["industry"], industry_vocabulary or {})[0]
    if texts["employees"]:
        employees, _, error = employees_to_size_band(texts["employees"])
        if error:
            errors.append(FieldError("employees", error))
        else:
            values["employees"] = employees
    if texts["annual_revenue"]:
        amount, error = parse_decimal(texts["annual_revenue"], "annual_revenue")
        if error:
            errors.append(FieldError("annual_revenue", error))
        else:
            values["annual_revenue"] = amount
    if texts["country"]:
        country, error = normalize_country(texts["country"])
        if error:
            errors.append(FieldError("country", error))
        elif country:
            values["country"] = country
    if texts["state"]:
        state = texts["state"]
        values["state"] = state.upper() if len(state) == 2 and state.isalpha() else state
    if texts["city"]:
        values["city"] = texts["city"]
    return values, errors


def company_profile_upsert(*, values: Mapping[str, Any], user=None) -> str:
    """Create or update the directory entry of ``values["domain"]``: "created", "updated" or "unchanged".

    Only the given fields are written, so a column missing from a file (or an empty cell) keeps what is stored.
    """
    domain = values["domain"]
    profile = CompanyProfile.objects.select_for_update().filter(domain=domain).first()
    action = "updated"
    if profile is None:
        profile, action = CompanyProfile(domain=domain), "created"
    changed = False
    for name, value in values.items():
        if getattr(profile, name) != value:
            setattr(profile, name, value)
            changed = True
    if not changed:
        return "unchanged"
    profile.full_clean()
    profile._history_user = user
    profile._change_reason = "company directory CSV import"
    profile.save()
    return action


def import_companies_csv(fileobj: IO[bytes], *, user=None, progress: Callable[[ImportReport], None] | None = None,
                         errors_out: TextIO | None = None) -> ImportReport:
    """Import the company directory (CompanyProfile, upserted by domain) from CSV, row by row like the leads."""
    from .services import industry_vocabulary

    vocabulary = industry_vocabulary()

    def handle(values: dict[str, str]) -> tuple[str, list[FieldError]]:
        normalized, errors = normalize_company_row(values, industry_vocabulary=vocabulary)
        if errors:
            return "", errors
        return company_profile_upsert(values=normalized, user=user), []

    return _import(fileobj, kind="companies", known_columns=COMPANY_COLUMNS, required_any=("domain",),
                   keep_custom=False, handle=handle, progress=progress, errors_out=errors_out)


# --------------------------------------------------------------------------------------------------------------
# Preview
# --------------------------------------------------------------------------------------------------------------


@dataclass
class PreviewField:
    """One column of one previewed row: the raw cell beside what would be stored."""

    column: str
    raw: str
    normalized: str
    changed: bool


@dataclass
class PreviewRow:
    number: int
    fields: list[PreviewField]
    derived: list[PreviewField]
    errors: list[FieldError]
    flags: list[str]
    outcome: str = ""  # what the import would do with the row (update, merge, review, create)

    @property
    def lines(self) -> int:
        """Table lines the row takes on the preview: its verdict, its columns, the derived values."""
        return 1 + len(self.fields) + len(self.derived)


@dataclass
class ImportPreview:
    """The first rows of a file as the import would read them, with the total row count."""

    kind: str
    columns: list[CsvColumn] = field(default_factory=list)
    rows: list[PreviewRow] = field(default_factory=list)
    total_rows: int = 0
    rows_with_errors: int = 0
    file_error: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def custom_columns(self) -> list[str]:
        return [c.header for c in self.columns if c.kind == "custom"]


# Values normalize_row derives from the columns (shown under the row, not as columns of the file).
_DERIVED_FIELDS = ("domain", "seniority", "department", "size_band")


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def preview_csv(fileobj: IO[bytes], *, kind: str = "leads", limit: int = PREVIEW_ROWS,
                source: str = "") -> ImportPreview:
    """Read a whole file without writing: the first ``limit`` rows normalized (raw beside normalized, errors,
    flags, and what the import would do with each: update, merge, review or create), the custom columns, and the
    count of data rows. A file-level problem is ``file_error``."""
    from .services import industry_vocabulary, lead_ingest_predict

    vocabulary = industry_vocabulary()
    preview = ImportPreview(kind=kind)
    leads = kind == "leads"
    try:
        reader = CsvReader(fileobj, known_columns=INPUT_COLUMNS if leads else COMPANY_COLUMNS,
                           required_any=("email", "phone") if leads else ("domain",), keep_custom=leads)
    except CsvFileError as exc:
        preview.file_error = str(exc)
        return preview
    preview.columns = reader.columns
    preview.warnings.extend(reader.warnings)
    for record in reader:
        preview.total_rows += 1
        if len(preview.rows) >= limit:
            continue
        fields: list[PreviewField] = []
        derived: list[PreviewField] = []
        errors, flags, outcome = list(record.errors), [], ""
        if not errors:
            if leads:
                row = dict(record.values)
                if source and not row.get("source"):
                    row["source"] = source
                normalized = normalize_row(row, industry_vocabulary=vocabulary)
                values = {**normalized.values, **normalized.custom}
                errors, flags = list(normalized.errors), list(normalized.flags)
                if not errors:
                    outcome = lead_ingest_predict(values=normalized.values, source=source)
                derived = [PreviewField(name, "", _shown(normalized.values[name]), True)
                           for name in _DERIVED_FIELDS if normalized.values.get(name)]
            else:
                values, errors = normalize_company_row(record.values, industry_vocabulary=vocabulary)
            for column in reader.columns:
                if not column.key:
                    continue
                raw = record.values.get(column.key, "")
                shown = _shown(values.get(column.key, ""))
                fields.append(PreviewField(column.header, raw, shown, shown != raw))
        preview.rows.append(PreviewRow(record.number, fields, derived, errors, flags, outcome))
    preview.rows_with_errors = sum(1 for row in preview.rows if row.errors)
    if reader.invalid_utf8_rows:
        preview.warnings.append(f"{reader.invalid_utf8_rows} row(s) are not valid UTF-8; {_UTF8_HINT}.")
    return preview


# --------------------------------------------------------------------------------------------------------------
# The admin import job
# --------------------------------------------------------------------------------------------------------------

IMPORT_JOB_TIMEOUT_SECONDS = 12 * 3600


def lead_import_enqueue(*, import_id: int) -> bool:
    """Queue an uploaded (previewed) import once: status uploaded → queued, the job enqueued after commit.

    Returns False when the import was not waiting for confirmation (confirmed twice, or already run).
    The job gets a long timeout: a million rows take far longer than the queue's default.
    """
    with transaction.atomic():
        claimed = LeadImport.objects.filter(pk=import_id, status=ImportStatus.UPLOADED).update(
            status=ImportStatus.QUEUED, message="")
        if claimed:
            transaction.on_commit(lambda: _enqueue_import_job(import_id))
    return bool(claimed)


def _enqueue_import_job(import_id: int) -> None:
    if jobs_run_inline():
        lead_import_run_job(import_id)
        return
    import django_rq
    from django.conf import settings

    timeout = getattr(settings, "LEADFLOW_IMPORT_JOB_TIMEOUT", IMPORT_JOB_TIMEOUT_SECONDS)
    # No retries: a re-run would start the file from the top. A failed import says so on its page.
    django_rq.get_queue("default").enqueue(lead_import_run_job, import_id, job_timeout=timeout)


def lead_import_run_job(import_id: int) -> str:
    """RQ job: run a confirmed admin import (leads or the company directory) and record its progress.

    Steps: claim it (queued → running; if nothing was updated another run got there first); read the stored
    file; update ``processed_rows`` and ``counts`` every ``PROGRESS_EVERY_ROWS`` rows; store the per-row errors
    as ``errors_file``; finish as done (or failed, with the reason in ``message``).
    """
    claimed = LeadImport.objects.filter(pk=import_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, processed_rows=0, counts={})
    if not claimed:
        return "not queued"
    lead_import = LeadImport.objects.select_related("user").get(pk=import_id)

    def progress(report: ImportReport) -> None:
        LeadImport.objects.filter(pk=import_id).update(processed_rows=report.rows, counts=report.counts)

    errors_binary = tempfile.TemporaryFile()
    errors_text = io.TextIOWrapper(errors_binary, encoding="utf-8", newline="")
    try:
        with lead_import.file.open("rb") as fileobj:
            if lead_import.source == DIRECTORY_IMPORT_SOURCE:
                report = import_companies_csv(fileobj, user=lead_import.user, progress=progress,
                                              errors_out=errors_text)
            else:
                report = import_leads_csv(fileobj, source=lead_import.source or DEFAULT_SOURCE,
                                          user=lead_import.user, progress=progress, errors_out=errors_text)
        errors_text.flush()
        lead_import.processed_rows = report.rows
        lead_import.counts = report.counts
        lead_import.error_sample = [[e.row, e.field, e.reason] for e in report.error_sample]
        lead_import.message = "\n".join(filter(None, [report.file_error, *report.warnings]))
        lead_import.status = ImportStatus.FAILED if report.file_error else ImportStatus.DONE
        if report.error_lines:
            errors_binary.seek(0)
            lead_import.errors_file.save(f"{Path(lead_import.original_name).stem}-errors.csv", File(errors_binary),
                                         save=False)
    except Exception as exc:  # noqa: BLE001 - the import page must say what happened, not spin forever
        logger.exception("CSV import #%s failed", import_id)
        lead_import.status = ImportStatus.FAILED
        lead_import.message = f"{type(exc).__name__}: {exc}"
        report = None
    finally:
        errors_text.close()
    lead_import.finished_at = timezone.now()
    lead_import.save(update_fields=["processed_rows", "counts", "error_sample", "message", "status", "errors_file",
                                    "finished_at"])
    return report.summary() if report is not None else "failed"


# --------------------------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------------------------

EXPORT_CHUNK_SIZE = 2000


def _number(value: Any) -> str:
    return "" if value is None else str(value)


def lead_export_rows(queryset: QuerySet[Lead]) -> Iterator[list[str]]:
    """The export rows (EXPORT_COLUMNS) of the live leads of ``queryset``, in id order, streamed in chunks.

    Source records are prefetched per chunk of ``EXPORT_CHUNK_SIZE`` leads and owners joined, so the number of
    queries grows with the chunks, not the leads. Text cells pass through ``csv_safe``.
    """
    leads = (
        queryset.filter(merged_into__isnull=True)
        .select_related("owner")
        .prefetch_related(Prefetch("source_records", queryset=SourceRecord.objects.order_by("id")))
        .order_by("id")
    )
    for lead in leads.iterator(chunk_size=EXPORT_CHUNK_SIZE):
        external_ids = ";".join(f"{r.source}:{r.external_id}" for r in lead.source_records.all())
        probability = "" if lead.predicted_probability is None else f"{lead.predicted_probability:.4f}"
        yield [
            str(lead.pk), csv_safe(external_ids), csv_safe(lead.first_name), csv_safe(lead.last_name),
            csv_safe(lead.email), csv_safe(lead.phone), csv_safe(lead.country), csv_safe(lead.company),
            csv_safe(lead.industry), _number(lead.fit_score), _number(lead.engagement_score), _number(lead.score),
            csv_safe(lead.band), csv_safe(lead.stage), csv_safe(lead.owner.email if lead.owner else ""),
            csv_safe(lead.queue), probability, csv_safe(lead.title), csv_safe(lead.domain), csv_safe(lead.source),
            csv_safe(lead.outcome), lead.created_at.isoformat() if lead.created_at else "",
        ]


def write_leads_csv(queryset: QuerySet[Lead], out: TextIO) -> int:
    """Write the lead CSV (header and rows) to ``out`` (opened with ``newline=""``); returns the number of leads."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for row in lead_export_rows(queryset):
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

