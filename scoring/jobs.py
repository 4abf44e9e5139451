"""RQ jobs of the scoring layer: each takes a primary key (or nothing, when scheduled) and calls one service."""

from revops.base.choices import Workflow
from revops.base.jobs import batch_job, enqueue_after_commit, periodic_job, pipeline_job

from .services import lead_score, lead_score_failed


@pipeline_job(workflow=Workflow.SCORING, object_type="lead", on_failure=lead_score_failed)
def lead_score_job(lead_id: int, cause: str = "rescore") -> str:
    """Score one lead (kill switch: scoring)."""
    result = lead_score(lead_id=lead_id, cause=cause)
    return f"{result.score} {result.band} {result.stage}"


def _score_one_by_one(lead_ids: list[int], workflow: str, message: str) -> None:
    """The batch failed: each lead gets its own scoring job (own retries, own way to the review queue)."""
    for lead_id in lead_ids:
        enqueue_after_commit(lead_score_job, lead_id, "ingest")


@batch_job(workflow=Workflow.SCORING, object_type="lead", on_failure=_score_one_by_one)
def leads_score_batch_job(lead_ids: list[int], cause: str = "ingest") -> str:
    """Score a bulk import's leads set-based in one job, then route them as one batch (kill switch: scoring)."""
    from .services import leads_score_many

    return str(leads_score_many(lead_ids=lead_ids, cause=cause))


@pipeline_job(workflow=Workflow.SCORING, object_type="scoring_model")
def scoring_model_rescore_job(model_id: int) -> str:
    """Rescore, set-based, the leads of a model's segment after an activation or an experiment change."""
    from .models import ScoringModel
    from .services import leads_rescore_bulk

    model = ScoringModel.objects.get(pk=model_id)
    return str(leads_rescore_bulk(cause=f"model v{model.version} activated", segment=model.segment))


@pipeline_job(workflow=Workflow.PREDICTIVE, object_type="predictive_model")
def predictive_rescore_job(predictive_id: int) -> str:
    """Rescore (and re-predict) the leads a predictive model covers after it was activated or rolled back."""
    from .models import PredictiveModel
    from .services import leads_rescore_bulk

    row = PredictiveModel.objects.defer("artefact").get(pk=predictive_id)
    return str(leads_rescore_bulk(cause=f"predictive v{row.version} {row.status}", segment=row.segment or None))


@periodic_job(workflow=Workflow.DECAY)
def scores_decay_job() -> str:
    """Daily: rescore, set-based, every lead with engagement so aging points decay (kill switch: decay)."""
    from .services import leads_decay

    return str(leads_decay())


@periodic_job(workflow=Workflow.SCORING)
def scores_cold_check_job() -> str:
    """Daily: fire the cold trigger for leads that gained too few points for too long (kill switch: scoring)."""
    from .services import leads_cold_check

    return leads_cold_check()


@periodic_job(workflow=Workflow.PREDICTIVE)
def predictive_retrain_job() -> str:
    """Weekly: retrain every live predictive model on the latest closed leads (kill switch: predictive)."""
    from .services import predictive_retrain

    return predictive_retrain()
