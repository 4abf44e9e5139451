"""What scoring queues after a commit: services announce with scoring signals, the receivers schedule the jobs.

Each test checks the job (by its dotted name), its arguments, and that nothing is queued before the commit.
"""

from django.urls import reverse

from leads.models import Lead
from revops.base.choices import Workflow
from revops.base.switches import workflow_switch_set
from scoring.choices import ModelStatus, PredictiveStatus
from scoring.models import PredictiveModel, ScoringExperiment
from scoring.services import (
    experiment_start,
    experiment_stop,
    predictive_rollback,
    scoring_model_activate,
    scoring_model_new_version,
)
from tests.queues import queued


def test_activating_a_model_queues_the_rescoring_of_its_segment_after_commit(
    scoring_model, django_capture_on_commit_callbacks
):
    draft = scoring_model_new_version(model_id=scoring_model.pk)

    with django_capture_on_commit_callbacks(execute=True):
        scoring_model_activate(model_id=draft.pk)
        assert queued() == []

    assert queued() == [("scoring.jobs.scoring_model_rescore_job", (draft.pk,))]


def test_starting_and_stopping_an_experiment_queue_the_rescoring_of_the_active_model(
    scoring_model, django_capture_on_commit_callbacks
):
    experiment = ScoringExperiment.objects.create(segment="default", name="MQL at 30", b_mql_threshold=30,
                                                  split_percent=50)

    with django_capture_on_commit_callbacks(execute=True):
        experiment_start(experiment_id=experiment.pk)
    with django_capture_on_commit_callbacks(execute=True):
        experiment_stop(experiment_id=experiment.pk)

    assert queued() == [("scoring.jobs.scoring_model_rescore_job", (scoring_model.pk,))] * 2


def test_rolling_back_the_only_predictive_model_queues_the_rescoring_of_its_leads_after_commit(
    scoring_model, django_capture_on_commit_callbacks
):
    live = PredictiveModel.objects.create(segment="", version=1, status=PredictiveStatus.ACTIVE)

    with django_capture_on_commit_callbacks(execute=True):
        assert predictive_rollback(segment=None) is None
        assert queued() == []

    assert queued() == [("scoring.jobs.predictive_rescore_job", (live.pk,))]


def test_switching_scoring_back_on_queues_one_job_per_unscored_live_lead(
    scoring_model, django_capture_on_commit_callbacks
):
    unscored = Lead.objects.create(email="unscored@x.example")
    Lead.objects.create(email="scored@x.example", score=10, scored_at="2026-01-01T00:00:00Z")
    workflow_switch_set(workflow=Workflow.SCORING, enabled=False)

    with django_capture_on_commit_callbacks(execute=True):
        workflow_switch_set(workflow=Workflow.SCORING, enabled=True)

    assert queued() == [("scoring.jobs.lead_score_job", (unscored.pk, "scoring resumed"))]


def test_the_admin_rescore_action_queues_the_rescoring_of_active_models_only(admin_client, scoring_model,
                                                                             django_capture_on_commit_callbacks):
    draft = scoring_model_new_version(model_id=scoring_model.pk)
    assert draft.status == ModelStatus.DRAFT

    with django_capture_on_commit_callbacks(execute=True):  # the request's commit (the test holds a transaction)
        admin_client.post(reverse("admin:scoring_scoringmodel_changelist"),
                          {"action": "rescore_segment", "_selected_action": [scoring_model.pk, draft.pk]})

    assert queued() == [("scoring.jobs.scoring_model_rescore_job", (scoring_model.pk,))]
