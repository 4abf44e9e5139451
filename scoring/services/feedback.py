"""'Score is wrong' flags: a person says a lead's score is off; the next predictive training reads the flags."""

from __future__ import annotations

from leads.models import Lead

from ..models import ScoreFeedback


def score_feedback_create(*, lead_id: int, user=None, reason: str, comment: str = "") -> ScoreFeedback:
    """Record that the lead's score looks wrong to ``user``, with the score, band, stage and probability it saw."""
    lead = Lead.objects.get(pk=lead_id)
    feedback = ScoreFeedback(lead=lead, user=user, reason=reason, comment=comment.strip(), score=lead.score,
                             band=lead.band, stage=lead.stage, predicted_probability=lead.predicted_probability)
    feedback.full_clean()
    feedback.save()
    return feedback
