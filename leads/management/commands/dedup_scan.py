"""The full-database duplicate scan, on demand."""


from leads.dedup.scan import dedup_scan_run
from leads.jobs import dedup_scan_job
from revops.base.commands import PipelineCommand
from revops.base.jobs import enqueue_after_commit


class Command(PipelineCommand):
    help = "Scan every live lead for probable duplicates; new pairs go to the review queue."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--sync", action="store_true", help="Run here and now instead of on a worker.")

    def handle(self, *args, sync: bool, **options) -> None:
        if not sync:
            enqueue_after_commit(dedup_scan_job)
            self.stdout.write("Duplicate scan queued; a worker runs it (see the automation log for the result).")
            return
        report = dedup_scan_run()
        self.stdout.write(
            f"Scanned {report.leads} leads in {report.seconds:.1f} s: {report.pairs_found} probable duplicate pairs, "
            f"{report.reviews_opened} new in the review queue."
        )
