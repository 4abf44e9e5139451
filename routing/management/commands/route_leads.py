"""Route the leads waiting for routing now, or preview how the current rules would route the last N leads."""

import time
from collections import Counter

from django.core.management.base import CommandError

from revops.base.choices import Workflow
from revops.base.commands import PipelineCommand
from revops.base.jobs import jobs_inline
from revops.base.switches import workflow_enabled
from routing.jobs import lead_route_job
from routing.selectors import leads_waiting_for_routing
from routing.services import PREVIEW_MAX_LEADS, routing_preview


class Command(PipelineCommand):
    help = (
        "Route unassigned leads (no owner, not in review) in this process — their follow-up tasks and messages too, "
        "no worker needed — or with --dry-run preview routing of "
        "the last N leads under the current rules (with --include-drafts: the draft rules too) and print how many "
        "would be assigned differently and to whom. A dry run writes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Preview only: nothing is written.")
        parser.add_argument("--last", type=int, default=None,
                            help="Only the N most recent leads (dry run: default 200).")
        parser.add_argument("--include-drafts", action="store_true",
                            help="Dry run: try the draft rules in place of the rules they replace.")
        parser.add_argument("--show-leads", action="store_true", help="Dry run: list every lead that would move.")

    def handle(self, *args, dry_run: bool, last: int | None, include_drafts: bool, show_leads: bool,
               **options) -> None:
        if last is not None and not 1 <= last <= PREVIEW_MAX_LEADS:
            raise CommandError(f"--last must be between 1 and {PREVIEW_MAX_LEADS}")
        if dry_run:
            preview = routing_preview(last=last or 200, include_drafts=include_drafts)
            self.stdout.write(preview.as_text())
            if show_leads and preview.changed:
                self.stdout.write("")
                for row in preview.changed:
                    self.stdout.write(f"#{row.lead_id} {row.lead}: {row.current} → {row.proposed}"
                                      + (f" (rule '{row.rule}')" if row.rule else "") + f"; {row.summary}")
            return
        if include_drafts or show_leads:
            raise CommandError("--include-drafts and --show-leads go with --dry-run")
        if not workflow_enabled(Workflow.ROUTING):
            raise CommandError("The routing kill switch is off; switch it on in the admin first.")
        started = time.monotonic()
        ids = leads_waiting_for_routing(last=last)
        results: Counter[str] = Counter()
        with jobs_inline():  # the follow-up tasks and messages run here too, as import_leads --sync does
            for lead_id in ids:
                summary = lead_route_job(lead_id, "route_leads command")
                results[_kind(summary)] += 1
        detail = ", ".join(f"{n} {kind}" for kind, n in sorted(results.items())) or "nothing to do"
        self.stdout.write(self.style.SUCCESS(
            f"Routed {len(ids)} waiting leads in {time.monotonic() - started:.1f} s: {detail}."
        ))


def _kind(summary: str) -> str:
    """A job's return value → assigned / holding / review / nurture / unchanged / failed / skipped."""
    if summary.startswith("assigned"):
        return "assigned"
    if summary in ("noop", "failed", "skipped"):
        return {"noop": "unchanged"}.get(summary, summary)
    return summary.split(":", 1)[0].split(" ", 1)[0] or "queued"
