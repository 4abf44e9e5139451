"""RQ jobs of the lead layer: each takes a primary key and calls one service."""

from revops.base.choices import Workflow
from revops.base.jobs import periodic_job, pipeline_job

from .enrichment import lead_enrich, lead_enrichment_failed, lead_enrichment_skipped


@pipeline_job(
    workflow=Workflow.ENRICHMENT,
    object_type="lead",
    on_failure=lead_enrichment_failed,
    on_skip=lead_enrichment_skipped,
)
def lead_enrich_job(lead_id: int) -> str:
    """Enrich a new lead, then let scoring go on (kill switch: enrichment)."""
    return lead_enrich(lead_id=lead_id)


@pipeline_job(workflow=Workflow.RE_ENRICHMENT, object_type="lead", on_failure=lead_enrichment_failed)
def lead_reenrich_job(lead_id: int, period: str) -> str:
    """Re-enrich a lead whose firmographics are still incomplete after 60 days (kill switch: re-enrichment)."""
    return lead_enrich(lead_id=lead_id, period=period)


@periodic_job(workflow=Workflow.RE_ENRICHMENT)
def leads_reenrich_job() -> str:
    """Daily: schedule re-enrichment of old leads with incomplete firmographics."""
    from .enrichment import leads_reenrich_schedule

    return f"scheduled {leads_reenrich_schedule()} re-enrichments"


@periodic_job(workflow=Workflow.DEDUP_SCAN)
def dedup_scan_job() -> str:
    """Weekly: the full-database duplicate scan; new probable pairs go to the review queue."""
    from .dedup_scan import dedup_scan_run

    report = dedup_scan_run()
    return f"{report.pairs_found} pairs found, {report.reviews_opened} new reviews, {report.seconds:.1f} s"
