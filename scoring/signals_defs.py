"""Signals the scoring layer sends (defined apart from the receivers in signals.py, which import services)."""

from django.dispatch import Signal

# kwargs: lead_id, changed (bool), old_stage, new_stage, old_score, new_score
lead_scored = Signal()
# A batch of leads was scored together (a bulk import's): kwargs lead_ids (list), stage_moves ({lead_id: (old
# stage, new stage)} for the leads whose stage changed). Sent instead of one lead_scored per lead.
leads_scored_many = Signal()

# A ScoreTrigger fired (once per lead, kind and period), sent after commit.
# kwargs: lead_id, kind (scoring.choices.TriggerKind: mql_up, mql_down, sql_up, sql_down, hot, cold, high_intent),
# trigger_id, period_key, detail (dict: score, stage, and what fired it)
lead_triggered = Signal()
