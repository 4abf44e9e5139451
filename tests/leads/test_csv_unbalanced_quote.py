"""An unbalanced quote in a CSV file is reported as such, at the row where it opens (not as a too-long name)."""

from __future__ import annotations

import pytest

from leads.csv import import_leads_csv
from leads.models import Lead

pytestmark = pytest.mark.django_db


def _import(tmp_path, content: str):
    path = tmp_path / "leads.csv"
    path.write_bytes(content.encode("utf-8"))
    with path.open("rb") as fileobj:
        return import_leads_csv(fileobj)


def test_an_unbalanced_quote_is_reported_at_the_row_where_it_starts(tmp_path):
    rows = [f"r{i}@x.example,Name{i},Last{i}" for i in range(600)]
    rows[2] = 'r2@x.example,"Name2,Last2'  # the quote opens in row 4 (header is row 1) and never closes
    report = _import(tmp_path, "email,first_name,last_name\n" + "\n".join(rows) + "\n")
    errors = [(e.row, e.reason) for e in report.error_sample]
    assert len(errors) == 1
    row, reason = errors[0]
    assert row == 4 and reason.startswith("unbalanced quote") and "longer than" not in reason
    assert Lead.objects.count() == 2  # the two rows before it; the swallowed rows are named by the error


def test_a_quoted_value_with_line_breaks_is_still_a_value(tmp_path):
    report = _import(tmp_path, 'email,first_name,note\nn@x.example,Ann,"line one\nline two"\n')
    assert report.errors == 0 and Lead.objects.get().custom["note"] == "line one line two"
