"""Signals the scoring layer sends (defined apart from the receivers in signals.py, which import services)."""

from django.dispatch import Signal

# kwargs: lead_id, changed (bool), old_stage, new_stage, old_score, new_score
lead_scored = Signal()
