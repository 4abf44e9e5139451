"""``export_leads FILE``: the lead CSV (columns in docs/csv.md); ``-`` writes to standard output."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from leads.csv import write_leads_csv
from leads.models import Lead


class Command(BaseCommand):
    help = "Export every live lead as CSV (columns in docs/csv.md). FILE '-' writes to standard output."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="Where to write the CSV ('-' for standard output).")

    def handle(self, *args, file: str, **options) -> None:
        if file == "-":
            self.stdout.ending = ""  # the csv writer ends its own lines
            count = write_leads_csv(Lead.objects.all(), self.stdout)
            self.stderr.write(f"Exported {count} leads.")
            return
        with open(file, "w", encoding="utf-8", newline="") as out:
            count = write_leads_csv(Lead.objects.all(), out)
        self.stdout.write(f"Exported {count} leads to {file}.")
