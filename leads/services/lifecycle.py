"""The lead lifecycle that sales moves: won, lost, converted to an opportunity, disqualified, suppressed, reopened.

One service owns these transitions, whatever the path (the admin's outcome field, an import row with ``outcome``,
a task's disposition in the workspace or the API, the demo): ``lead_transition`` locks the lead, sets its outcome,
stage and dates (``lead_transition_apply``), saves it with a history reason, and announces a close with
``leads.signals.lead_closed`` inside the transaction, so routing closes the lead's open tasks with the same reason
before the commit. A closed lead never keeps an open task.

| transition    | outcome | stage                        | also                                  |
|---------------|---------|------------------------------|---------------------------------------|
| won           | won     | customer                     | closed_at, deal value                 |
| lost          | lost    | unchanged                    | closed_at                             |
| opportunity   | open    | opportunity                  | deal value (expected); tasks stay     |
| disqualified  | unchanged | disqualified               | the reason in the history             |
| suppressed    | unchanged | suppressed                 | consent opt-out (scoring keeps it so) |
| reopened      | open    | customer → opportunity       | closed_at cleared                     |
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import signals
from ..choices import Consent, Outcome, Stage, Transition
from ..models import Lead

CLOSING_TRANSITIONS = frozenset({Transition.WON, Transition.LOST, Transition.DISQUALIFIED, Transition.SUPPRESSED})


def lead_is_closed(lead: Lead) -> bool:
    """Whether no one should work on the lead any more: won or lost, disqualified, suppressed or merged away."""
    return (lead.outcome in (Outcome.WON, Outcome.LOST) or lead.merged_into_id is not None
            or lead.stage in (Stage.CUSTOMER, Stage.DISQUALIFIED, Stage.SUPPRESSED))


def transition_for_outcome(outcome: str) -> str:
    """The transition an outcome field set by hand or by an import stands for."""
    return {Outcome.WON: Transition.WON, Outcome.LOST: Transition.LOST}.get(outcome, Transition.REOPENED)


def lead_transition_apply(lead: Lead, *, to: str, deal_value: Decimal | None = None,
                          at: datetime | None = None) -> set[str]:
    """Set the fields a transition changes on an unsaved lead; returns the names of the fields changed."""
    at = at or timezone.now()
    before = {name: getattr(lead, name) for name in ("outcome", "stage", "closed_at", "deal_value", "consent")}
    if to == Transition.WON:
        lead.outcome, lead.stage = Outcome.WON, Stage.CUSTOMER
        lead.closed_at = lead.closed_at if before["outcome"] == Outcome.WON and lead.closed_at else at
    elif to == Transition.LOST:
        lead.outcome = Outcome.LOST
        lead.closed_at = lead.closed_at if before["outcome"] == Outcome.LOST and lead.closed_at else at
        if lead.stage == Stage.CUSTOMER:
            lead.stage = Stage.OPPORTUNITY
    elif to == Transition.OPPORTUNITY:
        lead.outcome, lead.stage, lead.closed_at = Outcome.OPEN, Stage.OPPORTUNITY, None
    elif to == Transition.DISQUALIFIED:
        lead.stage = Stage.DISQUALIFIED
    elif to == Transition.SUPPRESSED:
        lead.stage, lead.consent = Stage.SUPPRESSED, Consent.OPT_OUT
    elif to == Transition.REOPENED:
        lead.outcome, lead.closed_at = Outcome.OPEN, None
        if lead.stage == Stage.CUSTOMER:
            lead.stage = Stage.OPPORTUNITY
    else:
        raise ValidationError({"transition": f"unknown transition {to!r}"})
    if deal_value is not None:
        if deal_value < 0:
            raise ValidationError({"deal_value": "must not be negative"})
        lead.deal_value = deal_value
    return {name for name, value in before.items() if getattr(lead, name) != value}


def lead_consent_withdrawn_apply(lead: Lead) -> bool:
    """Consent withdrawn (an unsubscribe, a record or an edit saying opt-out) on an unsaved lead: consent opt-out, and
    the stage suppressed unless sales own it (an opportunity or a customer keeps its stage and its tasks). Returns
    whether the lead was suppressed now: then announce the close (``lead_transition_announce``, transition
    suppressed), so its open tasks are cancelled and its nurture stops in the same transaction."""
    lead.consent = Consent.OPT_OUT
    if lead.stage in (Stage.CUSTOMER, Stage.OPPORTUNITY, Stage.SUPPRESSED):
        return False
    lead.stage = Stage.SUPPRESSED
    return True


def lead_touch_apply(lead: Lead, *, at: datetime) -> list[str]:
    """A person's contact with the lead (a disposition, a logged call, e-mail or note): the last interaction, and
    the first touch when there was none (time to first touch = ``first_touched_at - assigned_at``)."""
    lead.last_interaction_at = at
    if lead.first_touched_at is None:
        lead.first_touched_at = at
        return ["last_interaction_at", "first_touched_at"]
    return ["last_interaction_at"]


def lead_transition_announce(lead: Lead, *, to: str, reason: str, user=None) -> None:
    """Inside the write's transaction: a close tells routing to close the lead's open tasks (same reason)."""
    if to in CLOSING_TRANSITIONS:
        signals.lead_closed.send(sender=Lead, lead_id=lead.pk, transition=to, reason=reason,
                                 user_id=getattr(user, "pk", None))


def lead_transition(*, lead_id: int, to: str, reason: str, user=None, deal_value: Decimal | None = None,
                    at: datetime | None = None, interaction: bool = False) -> Lead:
    """Move a lead through its lifecycle (see the table at the top), in the history with the reason.

    Steps: lock the lead; refuse a merged-away lead (its survivor is the one to close); apply the transition; record
    ``last_interaction_at`` when a person's contact caused it; save with ``_change_reason``; announce the close
    (routing closes the open tasks) and the changed fields (scoring re-reads its inputs).
    """
    if to not in Transition.values:
        raise ValidationError({"transition": f"unknown transition {to!r}"})
    at = at or timezone.now()
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        if lead.merged_into_id:
            raise ValidationError(f"lead #{lead.pk} was merged into #{lead.merged_into_id}: close that lead")
        changed = lead_transition_apply(lead, to=to, deal_value=deal_value, at=at)
        if interaction:
            lead_touch_apply(lead, at=at)
        lead._history_user = user
        label = Transition(to).label
        lead._change_reason = (f"{label}: {reason}" if reason else label)[:1000]
        lead.full_clean(exclude=["account", "owner", "merged_into"])
        lead.save()
        lead_transition_announce(lead, to=to, reason=reason or label, user=user)
        if changed:
            signals.lead_changed.send(sender=Lead, lead_id=lead.pk, fields=changed)
    return lead
