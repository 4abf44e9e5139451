"""Business logic of the scoring layer that writes, by topic; every public service is importable from here.

- ``lead_scoring``: score one lead (the pipeline step), schedule scoring, the failure hook;
- ``bulk``: set-based rescoring and the daily decay;
- ``triggers``: threshold crossings, hot, cold and high-intent triggers;
- ``governance``: model versions (new version, activate, rollback) and A/B experiments;
- ``closed_loop``: predictive training, activation, rollback, retraining; ``predictions``: batch prediction;
- ``feedback``: "score is wrong" flags;
- ``config``: the cached live configuration.
"""

from .bulk import (
    BulkSummary,
    leads_decay,
    leads_rescore_bulk,
    leads_rescore_needed,
    leads_score_many,
    leads_score_many_schedule,
)
from .closed_loop import (
    PredictiveError,
    predictive_activate,
    predictive_retrain,
    predictive_rollback,
    predictive_train,
    training_set,
)
from .config import ScoringError, config_for, scoring_config, scoring_config_clear
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
    lead_score_schedule,
    lead_values,
    leads_rescore_schedule,
    leads_score_unscored_schedule,
)
from .predictions import predictions_for
from .triggers import crossings, lead_triggers_after_score, leads_cold_check, trigger_fire

__all__ = [
    "BulkSummary", "PredictiveError", "ScoringError", "change_reason", "config_for", "crossings", "experiment_start",
    "experiment_stop", "lead_events_for_scoring", "lead_score", "lead_score_failed", "lead_score_schedule",
    "lead_triggers_after_score", "lead_values", "leads_cold_check", "leads_decay", "leads_rescore_bulk",
    "leads_score_many", "leads_score_many_schedule", "leads_rescore_needed", "leads_rescore_schedule",
    "leads_score_unscored_schedule", "predictions_for",
    "predictive_activate", "predictive_retrain", "predictive_rollback", "predictive_train", "score_feedback_create",
    "scoring_config", "scoring_config_clear", "scoring_model_activate", "scoring_model_new_version",
    "scoring_model_rollback", "training_set", "trigger_fire",
]
