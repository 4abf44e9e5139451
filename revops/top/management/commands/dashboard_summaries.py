"""The dashboards' summaries on demand: the funnel summary, the first assignments and the lead facts (each also
refreshes every minute and before a page reads it)."""

from django.core.management.base import BaseCommand

from revops.top.dashboard_facts import lead_facts_rebuild, lead_facts_refresh


class Command(BaseCommand):
    help = ("Bring the dashboards' summaries (funnel, first assignments, lead facts) up to date with the history "
            "(--rebuild: start over from the whole history).")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="Empty the summaries and read the whole history.")

    def handle(self, *args, rebuild: bool, **options) -> None:
        report = lead_facts_rebuild() if rebuild else lead_facts_refresh()
        self.stdout.write(f"Dashboard summaries: {report.keys} leads' facts rebuilt; history read up to row "
                          f"{report.settled_id}.")
