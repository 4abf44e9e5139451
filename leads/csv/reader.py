"""Reading a CSV file for an import: encoding checks, the header, and the records one at a time.

1. sniff the first bytes: an empty file, UTF-16/UTF-32, an Excel workbook or another binary file is a
   file-level error (``CsvFileError``: nothing is imported);
2. decode UTF-8 (a BOM is skipped) with ``surrogateescape``, so a row holding bytes that are not UTF-8 (a
   Latin-1 "é" pasted into an otherwise UTF-8 file) becomes a row error instead of stopping the file;
3. read the header: names are trimmed and matched case-insensitively, spaces and hyphens count as
   underscores; a duplicate name, or none of the required columns, is a file-level error;
4. yield every non-blank record; a record with more cells than headers, a field over ``MAX_FIELD_CHARS``, a line
   over ``MAX_LINE_CHARS``, bytes that are not UTF-8 or an unbalanced quote (a value holding whole rows of the
   file: reported at the row where the quote opens) comes with its row error instead of its values.

Row numbers count every record of the file from the top, the header being row 1 and blank lines included,
so they are the row numbers a spreadsheet shows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, TextIO

from ..normalize import FieldError

# A field longer than this is a row error (the csv module's default limit is 128 KiB).
MAX_FIELD_CHARS = 1024 * 1024
# A physical line longer than this is a row error without being held in memory whole.
MAX_LINE_CHARS = 8 * MAX_FIELD_CHARS

csv.field_size_limit(MAX_FIELD_CHARS)

UTF8_HINT = "the file is probably Latin-1 or Windows-1252: save it as CSV UTF-8"


class CsvFileError(Exception):
    """A problem with the whole file (encoding, header, format): nothing is imported."""


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
                raise CsvFileError(f"The header row is not valid UTF-8 (byte {bad}): {UTF8_HINT}.")
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

    def _unbalanced_quote(self, cells: list[str]) -> str | None:
        """Why the record looks like an unbalanced quote swallowed the rows after it, or None.

        A quoted value may hold line breaks (an address, a note), but a line inside it that has as many commas as
        a whole record is a row of the file read into one value: a quote opened in this row was never closed.
        """
        if self._width < 2:
            return None
        for position, cell in enumerate(cells, start=1):
            if "\n" not in cell and "\r" not in cell:
                continue
            lines = cell.splitlines()
            swallowed = [line for line in lines[1:] if line.count(",") >= self._width - 1]
            if swallowed:
                return (f"unbalanced quote: a quote opened in column {position} of this row is not closed, so the "
                        f"next {len(lines) - 1} line(s) of the file were read as one value; close or remove the "
                        "quote and import those rows again")
        return None

    def _record(self, cells: list[str]) -> CsvRecord | None:
        number = self._number
        if len(cells) > self._width and any(cell.strip() for cell in cells[self._width:]):
            return CsvRecord(number, {}, [FieldError(
                "row", f"the row has {len(cells)} cells but the header names {self._width} columns "
                       "(a separator or quote inside a value?)")])
        swallowed = self._unbalanced_quote(cells)
        if swallowed:
            return CsvRecord(number, {}, [FieldError("row", swallowed)])
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
                    errors.append(FieldError(key, f"not valid UTF-8 (byte {bad}); {UTF8_HINT}"))
                    continue
            values[key] = cell
        if blank and not errors:
            return None
        if errors:
            self.invalid_utf8_rows += 1
            return CsvRecord(number, {}, errors)
        return CsvRecord(number, values)
