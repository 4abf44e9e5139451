"""Preview of a CSV import: the first rows of a file as the import would read them, nothing written."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from ..normalize import COMPANY_COLUMNS, INPUT_COLUMNS, FieldError, normalize_company_row, normalize_row
from ..services import industry_vocabulary, lead_ingest_predict
from .reader import UTF8_HINT, CsvColumn, CsvFileError, CsvReader

PREVIEW_ROWS = 20


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
        preview.warnings.append(f"{reader.invalid_utf8_rows} row(s) are not valid UTF-8; {UTF8_HINT}.")
    return preview
