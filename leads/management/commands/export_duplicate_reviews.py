"""``export_duplicate_reviews FILE``: the open review pairs as CSV; ``-`` writes to standard output."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from leads.csv import write_duplicate_reviews_csv


class Command(BaseCommand):
    help = "Export the open duplicate review pairs as CSV: lead_id, other_lead_id, similarity, reason."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="Where to write the CSV ('-' for standard output).")

    def handle(self, *args, file: str, **options) -> None:
        if file == "-":
            self.stdout.ending = ""  # the csv writer ends its own lines
            count = write_duplicate_reviews_csv(self.stdout)
            self.stderr.write(f"Exported {count} open review pairs.")
            return
        with open(file, "w", encoding="utf-8", newline="") as out:
            count = write_duplicate_reviews_csv(out)
        self.stdout.write(f"Exported {count} open review pairs to {file}.")
