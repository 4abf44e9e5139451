"""RQ jobs of the lead layer: each takes a primary key and calls one service."""

from revops.choices import Workflow
from revops.jobs import pipeline_job

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
