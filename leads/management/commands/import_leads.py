"""``import_leads FILE [--source NAME] [--sync]``: the CSV import from a shell (docs/csv.md).

Exit codes: 0 when the file was read to the end, even with row errors (they are in FILE.errors.csv);
1 for a file-level error (nothing imported) or a file that cannot be opened; 2 for wrong arguments.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import CommandError

from leads.csv import DEFAULT_SOURCE, CsvFileError, CsvReader, ImportReport, import_leads_csv
from leads.normalize import INPUT_COLUMNS
from revops.base.commands import PipelineCommand


class _LazyTextFile:
    """A text file opened on the first write, so no errors file appears for a clean import."""

    def __init__(self, path: Path):
        self.path = path
        self._file = None

    def write(self, text: str) -> int:
        if self._file is None:
            self._file = self.path.open("w", encoding="utf-8", newline="")
        return self._file.write(text)

    @property
    def opened(self) -> bool:
        return self._file is not None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class ProgressBar:
    """Rows done, percentage, rate and time left on stderr: redrawn in place on a terminal, a line every 10 s
    otherwise (a log file should not fill with carriage returns)."""

    def __init__(self, stream, total: int | None):
        self.stream = stream
        self.total = total
        self.started = time.monotonic()
        self.last_line = 0.0
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def __call__(self, report: ImportReport, *, final: bool = False) -> None:
        now = time.monotonic()
        if not (final or self.tty or now - self.last_line >= 10):
            return
        self.last_line = now
        elapsed = max(now - self.started, 1e-6)
        rate = report.rows / elapsed
        if self.total:
            share = min(report.rows / self.total, 1.0)
            filled = int(share * 30)
            left = (self.total - report.rows) / rate if rate else 0
            text = (f"[{'#' * filled}{'.' * (30 - filled)}] {share:4.0%} {report.rows:,}/{self.total:,} rows, "
                    f"{rate:,.0f} rows/s, {left:,.0f} s left, {report.errors:,} errors")
        else:
            text = f"{report.rows:,} rows, {rate:,.0f} rows/s, {report.errors:,} errors"
        if self.tty:
            self.stream.write("\r" + text.ljust(100) + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def count_rows(path: Path) -> int | None:
    """Data rows in the file (a quick first pass for the progress bar); None when the file cannot be read."""
    try:
        with path.open("rb") as fileobj:
            return sum(1 for _ in CsvReader(fileobj, known_columns=INPUT_COLUMNS, required_any=("email", "phone")))
    except (CsvFileError, OSError):
        return None


class Command(PipelineCommand):
    help = ("Import leads from a CSV file (columns in docs/csv.md). Prints progress on stderr and the counts; "
            "per-row errors go to FILE.errors.csv. Exit code 0 even with row errors, 1 on a file-level error.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="The CSV file (UTF-8, comma-separated, header row first).")
        parser.add_argument("--source", default=DEFAULT_SOURCE,
                            help=f"Source of rows without a source cell (default: {DEFAULT_SOURCE}).")
        parser.add_argument("--sync", action="store_true",
                            help="Run the whole pipeline (enrichment, scoring, routing) here, with no worker.")
        parser.add_argument("--no-progress", action="store_true", help="Do not print the progress bar.")

    def handle(self, *args, file: Path, source: str, sync: bool, no_progress: bool, **options) -> None:
        if not file.is_file():
            raise CommandError(f"{file}: no such file.")
        errors_path = file.with_name(file.name + ".errors.csv")
        errors_out = _LazyTextFile(errors_path)
        progress = None if no_progress else ProgressBar(self.stderr, count_rows(file))
        try:
            with file.open("rb") as fileobj:
                report = import_leads_csv(fileobj, source=source, sync=sync, progress=progress,
                                          errors_out=errors_out)
        finally:
            errors_out.close()
        if progress is not None and not report.file_error:
            progress(report, final=True)
        if report.file_error and not report.rows:
            raise CommandError(f"{file}: {report.file_error} Nothing was imported.")
        for warning in report.warnings:
            self.stderr.write(f"Warning: {warning}")
        self.stdout.write(f"{report.summary()} ({report.rows} rows in {report.seconds:.1f} s)")
        if errors_out.opened:
            self.stdout.write(f"Errors of {report.errors} rows written to {errors_path} (columns row,field,reason; "
                              "the header is row 1).")
        elif errors_path.exists():
            errors_path.unlink()
            self.stdout.write(f"No errors; removed {errors_path} left by an earlier run.")
        if report.file_error:
            raise CommandError(report.file_error)
        if not sync:
            self.stdout.write("Enrichment, scoring and routing run on the workers (or use --sync).")
