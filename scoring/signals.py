"""Signals the scoring layer sends, each inside the transaction of the write it announces, with primary keys only;
receivers only schedule (the job is enqueued after commit, its pending row commits with the write). Definitions
only: the receivers are ``scoring.receivers`` and those of the layers above."""

from django.dispatch import Signal

# kwargs: lead_id, changed (bool), old_stage, new_stage, old_score, new_score; from the per-lead scorer also
# placement: the lead's (owner_id, queue, merged_into_id) as scored, locked (routing needs no query to know whether it
# waits for routing)
lead_scored = Signal()
# A batch of leads was scored together (a bulk import's): kwargs lead_ids (list), stage_moves ({lead_id: (old
# stage, new stage)} for the leads whose stage changed). Sent instead of one lead_scored per lead.
leads_scored_many = Signal()

# A ScoreTrigger fired (once per lead, kind and period), sent after commit.
# kwargs: lead_id, kind (scoring.choices.TriggerKind: mql_up, mql_down, sql_up, sql_down, hot, cold, high_intent),
# trigger_id, period_key, detail (dict: score, stage, and what fired it)
lead_triggered = Signal()

# A segment's live scoring configuration changed (a model activated or rolled back, an experiment started or
# stopped), so its leads score differently. kwargs: model_id (the segment's active ScoringModel)
segment_config_changed = Signal()
# A predictive model was activated, or retired by a rollback, so the leads it covers predict differently.
# kwargs: predictive_id (the PredictiveModel activated or retired)
predictive_model_changed = Signal()
