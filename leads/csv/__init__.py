"""CSV in and out of the lead layer; the public contract is docs/csv.md.

- ``reader``: encoding checks, the header and the records of a file (``CsvReader``, ``CsvFileError``);
- ``importer``: the import loop for leads and for the company directory (``import_leads_csv``,
  ``import_companies_csv``, ``ImportReport``);
- ``preview``: the first rows of a file as the import would read them, nothing written (``preview_csv``);
- ``export``: the lead CSV and the open duplicate reviews (``write_leads_csv``, ``leads_csv_response``,
  ``write_duplicate_reviews_csv``) and formula-safe cells (``csv_safe``).
"""

from .export import (
    DUPLICATE_REVIEW_COLUMNS,
    EXPORT_COLUMNS,
    csv_safe,
    lead_export_rows,
    leads_csv_response,
    leads_csv_stream,
    write_duplicate_reviews_csv,
    write_leads_csv,
)
from .importer import (
    DEFAULT_SOURCE,
    DIRECTORY_IMPORT_SOURCE,
    MAX_ERRORS_KEPT,
    PROGRESS_EVERY_ROWS,
    ImportReport,
    RowError,
    import_companies_csv,
    import_leads_csv,
)
from .preview import PREVIEW_ROWS, ImportPreview, PreviewField, PreviewRow, preview_csv
from .reader import MAX_FIELD_CHARS, MAX_LINE_CHARS, CsvColumn, CsvFileError, CsvReader, CsvRecord, header_key

__all__ = [
    "DEFAULT_SOURCE", "DIRECTORY_IMPORT_SOURCE", "DUPLICATE_REVIEW_COLUMNS", "EXPORT_COLUMNS", "MAX_ERRORS_KEPT",
    "MAX_FIELD_CHARS", "MAX_LINE_CHARS", "PREVIEW_ROWS", "PROGRESS_EVERY_ROWS", "CsvColumn", "CsvFileError",
    "CsvReader", "CsvRecord", "ImportPreview", "ImportReport", "PreviewField", "PreviewRow", "RowError", "csv_safe",
    "header_key", "import_companies_csv", "import_leads_csv", "lead_export_rows", "leads_csv_response",
    "leads_csv_stream", "preview_csv", "write_duplicate_reviews_csv", "write_leads_csv",
]
