"""``export_leads FILE [--updated-since ISO]``: the lead CSV (columns in docs/csv.md); ``-`` writes to standard
output. With ``--updated-since``: the incremental export for a warehouse (README, Syncing a warehouse)."""

from __future__ import annotations

from datetime import UTC, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from leads.csv import write_leads_csv
from leads.models import Lead
from revops.base.boundary import BoundaryError, datetime_utc


def _since(raw: str):
    try:
        at = parse_datetime(raw.strip())
    except ValueError:
        at = None
    if at is None:
        raise CommandError(f"--updated-since: '{raw}' is not an ISO 8601 time (e.g. 2026-01-31T08:00:00Z)")
    try:
        return datetime_utc(at if timezone.is_aware(at) else at.replace(tzinfo=UTC), field="--updated-since")
    except BoundaryError as exc:
        raise CommandError(f"--updated-since: '{raw}' {exc.reason}") from None


class Command(BaseCommand):
    help = ("Export every live lead as CSV (columns in docs/csv.md). FILE '-' writes to standard output. "
            "--updated-since ISO: only the leads changed at or after that time, merged ones included, by "
            "(updated_at, id), with merged_into and updated_at columns; prints the value for the next run.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="Where to write the CSV ('-' for standard output).")
        parser.add_argument("--updated-since", dest="updated_since", default=None,
                            help="ISO 8601 time (no offset: UTC): the incremental export of the leads changed since.")

    def handle(self, *args, file: str, updated_since: str | None = None, **options) -> None:
        leads, feed, upto = Lead.objects.all(), False, None
        if updated_since is not None:
            feed = True
            # Rows younger than the settle time wait for the next run: a transaction still open may yet commit a
            # row with an earlier time (revops/base/feed.py).
            upto = timezone.now() - timedelta(seconds=float(getattr(settings, "LEADFLOW_FEED_SETTLE_SECONDS", 10)))
            leads = leads.filter(updated_at__gte=_since(updated_since), updated_at__lte=upto)
        if file == "-":
            self.stdout.ending = ""  # the csv writer ends its own lines
            count = write_leads_csv(leads, self.stdout, feed=feed)
            self.stderr.write(f"Exported {count} leads.")
        else:
            with open(file, "w", encoding="utf-8", newline="") as out:
                count = write_leads_csv(leads, out, feed=feed)
            self.stdout.write(f"Exported {count} leads to {file}.")
        if feed:
            # The next run starts at the newest row written (inclusive: a row sharing that instant comes again and
            # is upserted by lead_id), or where this run looked up to when nothing had changed.
            last = leads.aggregate(last=Max("updated_at"))["last"] or upto
            note = f"Next run: --updated-since {last.isoformat()}"
            (self.stderr if file == "-" else self.stdout).write(note)
