"""RQ jobs of the lead layer and the ``*_schedule`` helpers that enqueue them.

Each job takes a primary key and calls services: enrichment (the first step of a new lead's pipeline),
re-enrichment, the weekly duplicate scan and the admin CSV import. Services never enqueue: they send
``leads.signals`` and ``leads.receivers`` calls the schedules here.
"""

import io
import logging
import tempfile
from pathlib import Path

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from revops.base.choices import Workflow
from revops.base.jobs import durable_job, enqueue_after_commit, periodic_job, pipeline_job
from revops.base.models import PendingJob
from revops.base.step_rows import step_row

from .choices import ImportStatus
from .csv import DEFAULT_SOURCE, DIRECTORY_IMPORT_SOURCE, ImportReport, import_companies_csv, import_leads_csv
from .dedup.scan import dedup_scan_run
from .models import LeadImport
from .selectors import leads_due_for_reenrichment
from .services import lead_enrich, lead_enrichment_failed, lead_enrichment_skipped, leads_enrich

logger = logging.getLogger(__name__)

# A million rows take far longer than the queue's default timeout.
IMPORT_JOB_TIMEOUT_SECONDS = 12 * 3600


# --------------------------------------------------------------------------------------------------------------
# Enrichment
# --------------------------------------------------------------------------------------------------------------


def leads_enrich_drained(steps: list[tuple]) -> None:
    """A drain's new leads enriched together (``leads_enrich``), each announced on its own."""
    leads_enrich(lead_ids=[lead_id for lead_id, *_ in steps])


@pipeline_job(
    workflow=Workflow.ENRICHMENT,
    object_type="lead",
    on_failure=lead_enrichment_failed,
    on_skip=lead_enrichment_skipped,
    batch=leads_enrich_drained,
    batch_atomic=False,  # the providers are asked before leads_enrich's one write transaction
)
def lead_enrich_job(lead_id: int) -> str:
    """Enrich a new lead, then let scoring go on (kill switch: enrichment)."""
    return lead_enrich(lead_id=lead_id)


def lead_enrich_schedule(lead_id: int) -> None:
    """Enrich a new lead once the current transaction commits (at once outside one)."""
    enqueue_after_commit(lead_enrich_job, lead_id)


def lead_enrich_step_row() -> PendingJob | None:
    """The pending row of :func:`lead_enrich_schedule` for a lead about to be inserted, for its insert's statement
    (``revops.base.step_rows.step_row``: the database fills in the new lead's id)."""
    return step_row(lead_enrich_job)


@pipeline_job(workflow=Workflow.RE_ENRICHMENT, object_type="lead", on_failure=lead_enrichment_failed)
def lead_reenrich_job(lead_id: int, period: str) -> str:
    """Re-enrich a lead whose firmographics are still incomplete after 60 days (kill switch: re-enrichment)."""
    return lead_enrich(lead_id=lead_id, period=period)


def leads_reenrich_schedule(*, now=None) -> int:
    """Schedule re-enrichment of the leads due for it (see ``leads_due_for_reenrichment``)."""
    ids = leads_due_for_reenrichment(now=now)
    period = f"re-{(now or timezone.now()):%Y-%m-%d}"
    with transaction.atomic():
        for pk in ids:
            enqueue_after_commit(lead_reenrich_job, pk, period)
    return len(ids)


@periodic_job(workflow=Workflow.RE_ENRICHMENT)
def leads_reenrich_job() -> str:
    """Daily: schedule re-enrichment of old leads with incomplete firmographics."""
    return f"scheduled {leads_reenrich_schedule()} re-enrichments"


# --------------------------------------------------------------------------------------------------------------
# Duplicate scan
# --------------------------------------------------------------------------------------------------------------


@periodic_job(workflow=Workflow.DEDUP_SCAN)
def dedup_scan_job() -> str:
    """Weekly: the full-database duplicate scan; new probable pairs go to the review queue."""
    report = dedup_scan_run()
    return f"{report.pairs_found} pairs found, {report.reviews_opened} new reviews, {report.seconds:.1f} s"




# --------------------------------------------------------------------------------------------------------------
# The admin CSV import
# --------------------------------------------------------------------------------------------------------------


def lead_import_schedule(import_id: int) -> None:
    """Run a confirmed import in a worker after commit (or here and now, inline mode), with a long timeout.

    The pending row is written in the confirming transaction: with Redis down the import stays queued and the sweeper
    starts it once Redis is back. No retries: a re-run would start the file from the top; a second run of a started
    import finds it no longer queued and does nothing. A failed import says so on its page.
    """
    enqueue_after_commit(lead_import_run_job, import_id, queue="default")


@durable_job(timeout_seconds=IMPORT_JOB_TIMEOUT_SECONDS)
def lead_import_run_job(import_id: int) -> str:
    """RQ job: run a confirmed admin import (leads or the company directory) and record its progress.

    Steps: claim it (queued → running; if nothing was updated another run got there first); read the stored
    file; update ``processed_rows`` and ``counts`` every ``PROGRESS_EVERY_ROWS`` rows; store the per-row errors
    as ``errors_file``; finish as done (or failed, with the reason in ``message``).
    """
    claimed = LeadImport.objects.filter(pk=import_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, processed_rows=0, counts={})
    if not claimed:
        return "not queued"
    lead_import = LeadImport.objects.select_related("user").get(pk=import_id)

    def progress(report: ImportReport) -> None:
        LeadImport.objects.filter(pk=import_id).update(processed_rows=report.rows, counts=report.counts)

    errors_binary = tempfile.TemporaryFile()
    errors_text = io.TextIOWrapper(errors_binary, encoding="utf-8", newline="")
    try:
        with lead_import.file.open("rb") as fileobj:
            if lead_import.source == DIRECTORY_IMPORT_SOURCE:
                report = import_companies_csv(fileobj, user=lead_import.user, progress=progress,
                                              errors_out=errors_text)
            else:
                report = import_leads_csv(fileobj, source=lead_import.source or DEFAULT_SOURCE,
                                          user=lead_import.user, progress=progress, errors_out=errors_text)
        errors_text.flush()
        lead_import.processed_rows = report.rows
        lead_import.counts = report.counts
        lead_import.error_sample = [[e.row, e.field, e.reason] for e in report.error_sample]
        lead_import.message = "\n".join(filter(None, [report.file_error, *report.warnings]))
        lead_import.status = ImportStatus.FAILED if report.file_error else ImportStatus.DONE
        if report.error_lines:
            errors_binary.seek(0)
            lead_import.errors_file.save(f"{Path(lead_import.original_name).stem}-errors.csv", File(errors_binary),
                                         save=False)
    except Exception as exc:  # noqa: BLE001 - the import page must say what happened, not spin forever
        logger.exception("CSV import #%s failed", import_id)
        lead_import.status = ImportStatus.FAILED
        lead_import.message = f"{type(exc).__name__}: {exc}"
        report = None
    finally:
        errors_text.close()
    lead_import.finished_at = timezone.now()
    lead_import.save(update_fields=["processed_rows", "counts", "error_sample", "message", "status", "errors_file",
                                    "finished_at"])
    return report.summary() if report is not None else "failed"
