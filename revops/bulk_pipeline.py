"""The bulk pipeline: many leads at a time through ingest, enrichment, scoring and routing.

Used by `import_leads --sync`, the demo loader and the ingestion benchmark. Each stage runs set-based where the
layer offers a batch service, and through the same per-lead services as the real-time pipeline otherwise, so the
outcome (scores, owners, tasks, messages, history) is the one a lead would get arriving alone.

Steps per batch:
1. ``leads.bulk.leads_bulk_ingest``: normalize, dedup, insert the clean rows set-based (enriched from the company
   directory in memory); rows that may match stored leads go through ``lead_ingest`` one by one;
2. the leads created set-based are scored, routed, given their follow-up task and announced: their pipeline jobs
   run inline (``jobs_inline``) starting at scoring, with every kill switch read as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from leads.bulk import RowOutcome, directory_only, leads_bulk_ingest
from leads.jobs import lead_enrich_job
from revops.jobs import jobs_inline
from scoring.jobs import lead_score_job

BATCH_SIZE = 500


@dataclass
class BulkReport:
    counts: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    errors: list[RowOutcome] = field(default_factory=list)

    def add(self, outcome: RowOutcome) -> None:
        self.rows += 1
        self.counts[outcome.action] = self.counts.get(outcome.action, 0) + 1
        if outcome.action == "rejected":
            self.errors.append(outcome)


def _batches(rows: Iterable[tuple[int, Mapping[str, Any]]], size: int) -> Iterator[list]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def pipeline_after_bulk_ingest(lead_ids: list[int], *, enriched: bool) -> None:
    """Run the rest of the pipeline for leads created set-based, inline: enrichment when it could not be done
    in memory, else scoring (which goes on to routing, the task and the message)."""
    with jobs_inline():
        for lead_id in lead_ids:
            if enriched:
                lead_score_job(lead_id, "ingest")
            else:
                lead_enrich_job(lead_id)


def leads_import_bulk(
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    *,
    source: str = "",
    user=None,
    reason: str = "bulk import",
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[BulkReport], None] | None = None,
    keep_errors: int = 1000,
) -> BulkReport:
    """Import numbered rows through the whole pipeline, batch by batch; returns counts and the first errors."""
    report = BulkReport()
    for batch in _batches(rows, batch_size):
        enriched = directory_only()
        with jobs_inline():
            outcomes, created = leads_bulk_ingest(batch, source=source, user=user, reason=reason, enrich=enriched)
        pipeline_after_bulk_ingest([lead.pk for lead in created], enriched=enriched)
        for outcome in outcomes:
            report.add(outcome)
        del report.errors[keep_errors:]
        if on_batch is not None:
            on_batch(report)
    return report
