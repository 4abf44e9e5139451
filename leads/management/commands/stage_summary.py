"""The dashboards' funnel summary, on demand (it also refreshes every minute and before a dashboard reads it)."""

from django.core.management.base import BaseCommand

from leads.services import stage_summary_rebuild, stage_summary_refresh


class Command(BaseCommand):
    help = "Bring the funnel summary up to date with the lead history (--rebuild: start over from the whole history)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="Empty the summary and read the whole history.")

    def handle(self, *args, rebuild: bool, **options) -> None:
        report = stage_summary_rebuild() if rebuild else stage_summary_refresh()
        self.stdout.write(f"Funnel summary: {report.keys} leads summarised; history read up to row "
                          f"{report.settled_id}.")
