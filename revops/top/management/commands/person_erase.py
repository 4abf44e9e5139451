"""Erase one person (found by e-mail): anonymise their leads, purge their history and notifications, keep outcomes."""

from django.core.management.base import BaseCommand, CommandError

from revops.base.privacy import email_normalized
from revops.top.privacy import person_erase


class Command(BaseCommand):
    help = ("Erase a person: their leads (and the ones merged into them) are anonymised, personal values are purged "
            "from history rows, notifications and logs; stage, score, band, outcome, deal value and dates stay. "
            "An erasure record keeps who, when and how many rows (a hash of the e-mail, never the e-mail). "
            "Running it again is harmless and says so.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("email", help="the person's e-mail")

    def handle(self, *args, email: str, **options) -> None:
        if not email_normalized(email):
            raise CommandError("give the person's e-mail")
        result = person_erase(email=email, user=None, via="command")
        self.stdout.write(self.style.SUCCESS(f"Erasure #{result.record.pk}: {result.message}."))
        for label, n in sorted(result.counts.items()):
            self.stdout.write(f"  {label}: {n}")
