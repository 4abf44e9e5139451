"""Load the demo data into an empty database, through the real pipeline (jobs inline)."""

import time

from django.core.management.base import CommandError

from leads.models import Lead
from revops.base.commands import PipelineCommand
from revops.base.maintenance import database_statistics_refresh
from revops.top.demo import demo_load


class Command(PipelineCommand):
    help = "Load demo territories, teams, reps, rules and a few thousand leads (through the real pipeline)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--leads", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--if-empty", action="store_true", help="Do nothing (successfully) when data exists.")

    def handle(self, *args, leads: int, seed: int, if_empty: bool, **options) -> None:
        if if_empty and Lead.objects.exists():
            self.stdout.write("Demo data already loaded; skipping.")
            return
        started = time.monotonic()
        self.stdout.write(f"Loading the demo: {leads} leads through ingest → enrich → score → route → task...")
        try:
            counts = demo_load(leads=leads, seed=seed, stdout=self.stdout)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        database_statistics_refresh()  # the query planner's statistics for the data just loaded
        summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        self.stdout.write(self.style.SUCCESS(f"Demo loaded in {time.monotonic() - started:.0f} s: {summary}."))
