"""RQ jobs of the scoring layer: each takes a primary key and calls one service."""

from revops.choices import Workflow
from revops.jobs import periodic_job, pipeline_job

from .services import lead_score, lead_score_failed


@pipeline_job(workflow=Workflow.SCORING, object_type="lead", on_failure=lead_score_failed)
def lead_score_job(lead_id: int, cause: str = "rescore") -> str:
    """Score one lead (kill switch: scoring)."""
    result = lead_score(lead_id=lead_id, cause=cause)
    return f"{result.score} {result.band} {result.stage}"


@periodic_job(workflow=Workflow.DECAY)
def scores_decay_job() -> str:
    """Daily: re-score every lead with engagement so aging points decay (kill switch: decay)."""
    from .services import leads_decay

    return leads_decay()
