"""Business logic of the scoring layer that writes, by topic; every public service is importable from here.

- ``lead_scoring``: score one lead (the pipeline step), the failure hook;
- ``bulk``: set-based rescoring and the daily decay;
- ``triggers``: threshold crossings, hot, cold and high-intent triggers;
- ``governance``: model versions (new version, activate, rollback) and A/B experiments;
- ``closed_loop``: predictive training, activation, rollback, retraining; ``predictions``: batch prediction;
- ``feedback``: "score is wrong" flags; ``defaults``: the model a fresh install starts with.

The live configuration they read is ``scoring.selectors``. A service never enqueues a job: it announces its commit
with a ``scoring.signals`` signal and ``scoring.receivers`` schedules what runs next.
"""

from .bulk import BulkSummary, leads_decay, leads_rescore_bulk, leads_rescore_needed, leads_score_many
from .closed_loop import (
    PredictiveError,
    predictive_activate,
    predictive_retrain,
    predictive_rollback,
    predictive_train,
    training_set,
)
from .defaults import scoring_model_default_ensure
from .feedback import score_feedback_create
from .governance import (
    experiment_start,
    experiment_stop,
    scoring_model_activate,
    scoring_model_new_version,
    scoring_model_rollback,
)
from .lead_scoring import (
    change_reason,
    lead_events_for_scoring,
    lead_score,
    lead_score_failed,
    lead_values,
    leads_score_each,
)
from .predictions import predictions_for
from .triggers import crossings, lead_triggers_earned, leads_cold_check, trigger_fire

__all__ = [
    "BulkSummary", "PredictiveError", "change_reason", "scoring_model_default_ensure", "crossings",
    "experiment_start", "experiment_stop",
    "lead_events_for_scoring", "lead_score", "lead_score_failed", "lead_triggers_earned", "lead_values",
    "leads_cold_check", "leads_decay", "leads_rescore_bulk", "leads_rescore_needed", "leads_score_each",
    "leads_score_many",
    "predictions_for", "predictive_activate", "predictive_retrain", "predictive_rollback", "predictive_train",
    "score_feedback_create", "scoring_model_activate", "scoring_model_new_version", "scoring_model_rollback",
    "training_set", "trigger_fire",
]
