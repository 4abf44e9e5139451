"""The review queues: a lead the pipeline could not handle, and pairs of leads that may be one person.

A review pair is opened once per pair of leads (open, merged or dismissed, it is never opened again); a person
decides it by merging (``review_merge``) or by saying the two are different people (``review_dismiss``).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..choices import Queue, ReviewStatus
from ..models import DuplicateReview, Lead, MergeLog
from .merge import MergeError, lead_merge


def lead_send_to_review(lead_id: int, workflow: str, message: str) -> None:
    """Put a lead the pipeline could not handle in the review queue, saying which step failed and why."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().filter(pk=lead_id).first()
        if lead is None:
            return
        lead.queue = Queue.REVIEW
        lead.queue_reason = f"{workflow} failed: {message}"[:500]
        lead._change_reason = f"automation:{workflow} failed, sent to review: {message}"[:100]
        lead.save(update_fields=["queue", "queue_reason", "updated_at"])


def review_pair_open(*, lead_id: int, other_id: int, similarity: float, reason: str, found_by: str) -> bool:
    """Open a review pair unless the pair is already known (open, merged or dismissed); True when opened."""
    low, high = sorted((lead_id, other_id))
    if low == high:
        return False
    _, created = DuplicateReview.objects.get_or_create(
        lead_id=low, other_lead_id=high,
        defaults={"similarity": round(similarity, 1), "reason": reason, "found_by": found_by},
    )
    return created


def review_merge(*, review_id: int, survivor_id: int, user) -> MergeLog:
    """A person decided the pair is one lead: merge into the chosen survivor."""
    review = DuplicateReview.objects.get(pk=review_id)
    if survivor_id not in (review.lead_id, review.other_lead_id):
        raise MergeError("the survivor must be one of the pair")
    merged_id = review.other_lead_id if survivor_id == review.lead_id else review.lead_id
    return lead_merge(survivor_id=survivor_id, merged_id=merged_id, rule=review.reason, similarity=review.similarity,
                      user=user, reason=f"review #{review.pk} merged by {user}")


def review_dismiss(*, review_id: int, user) -> DuplicateReview:
    """A person decided the pair are different people: remembered, so the pair never comes back."""
    with transaction.atomic():
        review = DuplicateReview.objects.select_for_update().get(pk=review_id)
        review.status = ReviewStatus.NOT_DUPLICATE
        review.decided_by = user
        review.decided_at = timezone.now()
        review._history_user = user
        review._change_reason = "not a duplicate"
        review.save()
    return review
