"""The uploaded import files (and their error files) keep every row an admin imported: an erasure drops the person's
rows from them, keeping the header and everyone else's rows, so the files of past imports say nothing of them."""

from __future__ import annotations

import csv
import io
import re

from django.core.files.base import ContentFile

from leads.models import LeadImport

_DIGITS = re.compile(r"\D")


def _is_theirs(row: list[str], needles: list[str], phones: list[str]) -> bool:
    """A row naming the person: a cell equal to (or containing) their e-mail or full name, or a phone number whose
    digits end with theirs (an import writes phones in any format)."""
    cells = [cell.strip().lower() for cell in row]
    if any(needle in cell for cell in cells for needle in needles):
        return True
    return any(digits and len(digits) >= 7 and any(digits.endswith(p) or p.endswith(digits) for p in phones)
               for digits in (_DIGITS.sub("", cell) for cell in cells))


def _scrub_file(field, needles: list[str], phones: list[str]) -> int:
    """Rewrite one stored CSV without the person's rows; returns how many rows were dropped."""
    if not field or not field.storage.exists(field.name):
        return 0
    with field.storage.open(field.name, "rb") as handle:
        raw = handle.read()
    text = raw.decode("utf-8-sig", errors="replace")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    if not rows:
        return 0
    kept = [rows[0]] + [row for row in rows[1:] if not _is_theirs(row, needles, phones)]
    dropped = len(rows) - len(kept)
    if dropped:
        out = io.StringIO()
        csv.writer(out, dialect).writerows(kept)
        name = field.name
        field.storage.delete(name)
        field.storage.save(name, ContentFile(out.getvalue().encode("utf-8")))
    return dropped


def import_files_scrub(needles: list[str]) -> int:
    """Drop the person's rows from every stored import file and error file; returns the rows dropped."""
    distinctive = [n.lower() for n in needles if "@" in n or " " in n.strip()]
    phones = [digits[-10:] for digits in (_DIGITS.sub("", n) for n in needles if n.startswith("+") or
                                          (n.isdigit() and len(n) >= 7)) if len(digits) >= 7]
    if not distinctive and not phones:
        return 0
    dropped = 0
    for lead_import in LeadImport.objects.exclude(file="").only("pk", "file", "errors_file").iterator():
        dropped += _scrub_file(lead_import.file, distinctive, phones)
        dropped += _scrub_file(lead_import.errors_file, distinctive, phones)
    return dropped
