"""RQ jobs of the scoring layer and the ``*_schedule`` helpers that enqueue them after commit.

Each job takes a primary key (or nothing, when scheduled by cron) and calls one service. The receivers
(``scoring.receivers``) call the ``*_schedule`` helpers; services never import this module.
"""

from django.db import transaction

from leads.models import Lead
from revops.base.choices import Workflow
from revops.base.jobs import batch_job, enqueue_after_commit, periodic_job, pipeline_job
from revops.base.models import PendingJob
from revops.base.step_rows import step_row

from .models import PredictiveModel, ScoringModel
from .services import (
    lead_score,
    lead_score_failed,
    leads_cold_check,
    leads_decay,
    leads_rescore_bulk,
    leads_score_each,
    leads_score_many,
    predictive_retrain,
)


def leads_score_drained(steps: list[tuple]) -> None:
    """A drain's rescoring steps (one per lead, coalesced) in the drain's one transaction: what the per-lead scorer
    does for each (history row of every change, hot and high-intent triggers, ``lead_scored`` for each lead, so a
    lead waiting for routing is routed), with the leads read, written and logged together (``leads_score_each``).
    In ascending lead id: each lead is locked until the transaction ends, and every batch that locks several leads
    takes them in that order, so two workers never wait on each other (PostgreSQL's deadlock)."""
    leads_score_each(steps=[(lead_id, rest[0] if rest else "rescore") for lead_id, *rest in steps])


@pipeline_job(workflow=Workflow.SCORING, object_type="lead", on_failure=lead_score_failed, coalesce=True,
              batch=leads_score_drained, one_transaction=True)
def lead_score_job(lead_id: int, cause: str = "rescore") -> str:
    """Score one lead (kill switch: scoring). Rescores of one lead waiting together run once (coalesced)."""
    result = lead_score(lead_id=lead_id, cause=cause)
    return f"{result.score} {result.band} {result.stage}"


def _score_one_by_one(lead_ids: list[int], workflow: str, message: str) -> None:
    """The batch failed: each lead gets its own scoring job (own retries, own way to the review queue)."""
    for lead_id in lead_ids:
        enqueue_after_commit(lead_score_job, lead_id, "ingest")


@batch_job(workflow=Workflow.SCORING, object_type="lead", on_failure=_score_one_by_one)
def leads_score_batch_job(lead_ids: list[int], cause: str = "ingest") -> str:
    """Score a bulk import's leads set-based in one job, then route them as one batch (kill switch: scoring)."""
    return str(leads_score_many(lead_ids=lead_ids, cause=cause))


@pipeline_job(workflow=Workflow.SCORING, object_type="scoring_model")
def scoring_model_rescore_job(model_id: int) -> str:
    """Rescore, set-based, the leads of a model's segment after an activation or an experiment change."""
    model = ScoringModel.objects.get(pk=model_id)
    return str(leads_rescore_bulk(cause=f"model v{model.version} activated", segment=model.segment))


@pipeline_job(workflow=Workflow.PREDICTIVE, object_type="predictive_model")
def predictive_rescore_job(predictive_id: int) -> str:
    """Rescore (and re-predict) the leads a predictive model covers after it was activated or rolled back."""
    row = PredictiveModel.objects.defer("artefact").get(pk=predictive_id)
    return str(leads_rescore_bulk(cause=f"predictive v{row.version} {row.status}", segment=row.segment or None))


@periodic_job(workflow=Workflow.DECAY)
def scores_decay_job() -> str:
    """Daily: rescore, set-based, every lead with engagement so aging points decay (kill switch: decay)."""
    return str(leads_decay())


@periodic_job(workflow=Workflow.SCORING)
def scores_cold_check_job() -> str:
    """Daily: fire the cold trigger for leads that gained too few points for too long (kill switch: scoring)."""
    return leads_cold_check()


@periodic_job(workflow=Workflow.PREDICTIVE)
def predictive_retrain_job() -> str:
    """Weekly: retrain every live predictive model on the latest closed leads (kill switch: predictive)."""
    return predictive_retrain()


def lead_score_schedule(lead_id: int, cause: str, *, queue: str | None = None) -> None:
    """Score the lead after the current transaction commits (on ``queue``: see ``enqueue_after_commit``)."""
    enqueue_after_commit(lead_score_job, lead_id, cause, queue=queue)


def lead_score_step_row(lead_id: int, cause: str, *, queue: str | None = None) -> PendingJob | None:
    """The pending row of :func:`lead_score_schedule`, for the write it follows to insert (``step_row``)."""
    return step_row(lead_score_job, lead_id, cause, queue=queue)


def leads_score_many_schedule(lead_ids: list[int], cause: str) -> None:
    """Score a batch of leads in one job after the current transaction commits."""
    enqueue_after_commit(leads_score_batch_job, list(lead_ids), cause)


def scoring_model_rescore_schedule(model_id: int) -> None:
    """Rescore the leads of the model's segment, set-based, after the current transaction commits."""
    enqueue_after_commit(scoring_model_rescore_job, model_id)


def predictive_rescore_schedule(predictive_id: int) -> None:
    """Rescore the leads the predictive model covers, set-based, after the current transaction commits."""
    enqueue_after_commit(predictive_rescore_job, predictive_id)


def leads_score_unscored_schedule() -> int:
    """Score every live lead that has no score yet (after the scoring switch comes back on)."""
    ids = list(Lead.objects.live().filter(score__isnull=True, scored_at__isnull=True).values_list("pk", flat=True))
    with transaction.atomic():
        for pk in ids:
            lead_score_schedule(pk, "scoring resumed")
    return len(ids)
