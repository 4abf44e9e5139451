"""Engagement events: recorded once per idempotency key; a new event updates the lead's last interaction, and an
unsubscribe opts the lead out in the same transaction (and, when it suppresses the lead, closes its open tasks and
nurture as the lifecycle's suppression does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from revops.base.boundary import BoundaryError, datetime_utc
from revops.base.db.sql import rows_compiled_once
from revops.base.step_rows import step_row_offered, steps_written

from .. import signals
from ..choices import Consent, EventType, Transition
from ..models import Lead, LeadEvent
from ..normalize import FieldError
from ..selectors import lead_locked
from ..writes import event_insert_with_history, event_insert_with_lead_update, lead_save_with_history
from .lifecycle import lead_consent_withdrawn_apply, lead_transition_announce


class LeadInputError(ValueError):
    """Input that cannot be stored, with the field errors that say why."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in errors))


def _parse_occurred_at(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif value in (None, ""):
        return timezone.now()
    else:
        moment = parse_datetime(str(value))
        if moment is None:
            raise LeadInputError([FieldError("occurred_at", f"{value!r} is not an ISO 8601 date-time")])
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    try:
        moment = datetime_utc(moment, field="occurred_at")
    except BoundaryError as exc:
        raise LeadInputError([FieldError(exc.field, exc.reason)]) from None
    if moment > timezone.now() + timedelta(minutes=5):
        raise LeadInputError([FieldError("occurred_at", "is in the future")])
    max_age = int(getattr(settings, "LEADFLOW_EVENT_MAX_AGE_DAYS", 3650))
    if moment < timezone.now() - timedelta(days=max_age):
        raise LeadInputError([FieldError("occurred_at", f"is more than {max_age} days in the past")])
    return moment


def event_record(
    *,
    lead_id: int | None = None,
    email: str = "",
    type: str,
    occurred_at: Any = None,
    properties: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
    source: str = "",
) -> tuple[LeadEvent, bool]:
    """Record one engagement event; the same ``idempotency_key`` again returns the first event and changes nothing.

    Returns (event, created). Raises LeadInputError for an unknown lead or malformed fields.
    """
    events, created = events_record(
        lead_id=lead_id,
        email=email,
        items=[{"type": type, "occurred_at": occurred_at, "properties": properties, "idempotency_key": idempotency_key,
                "source": source}],
    )
    return events[0], bool(created)


MERGED_RETRIES = 3  # times the events follow a lead merged while they were recorded


class _Merged(Exception):
    """The lead locked for the events was merged: the transaction rolls back (its lock released) and the events go
    to the survivor instead."""

    def __init__(self, merged_into_id: int) -> None:
        super().__init__(merged_into_id)
        self.merged_into_id = merged_into_id


def _lead_locked_live(lead_id: int | None, email: str) -> Lead:
    """The lead the events belong to, locked until the transaction ends; raises ``_Merged`` for a merged lead.

    By id (every event the API takes) one statement, compiled once, reads the row locked and says whether the lead
    exists and whether it was merged. A merged lead is not kept locked while its survivor is locked after it (a merge's
    undo locks both in ascending id): the caller's transaction rolls back and runs again for the survivor."""
    if not lead_id:
        normalized = " ".join(str(email).split()).lower()
        lead_id = (Lead.objects.filter(email=normalized, merged_into__isnull=True).order_by("id")
                   .values_list("id", flat=True).first())
        if lead_id is None:
            raise LeadInputError([FieldError("email", f"no lead with e-mail {normalized}")])
    try:
        lead = lead_locked(lead_id=lead_id)
    except Lead.DoesNotExist:
        raise LeadInputError([FieldError("lead", f"no lead with id {lead_id}")]) from None
    if lead.merged_into_id is not None:
        raise _Merged(lead.merged_into_id)
    return lead


def _survivor_id(lead_id: int) -> int:
    """The lead a merged lead's chain of merges ends at (read without a lock)."""
    row = _id_and_merged_into(lead_id)
    while row is not None and row[1]:
        row = _id_and_merged_into(row[1])
    if row is None:
        raise LeadInputError([FieldError("lead", f"no lead with id {lead_id}")])
    return row[0]


def _id_and_merged_into(lead_id: int) -> tuple[int, int | None] | None:
    rows = rows_compiled_once("lead id and merged_into",
                              lambda: Lead.objects.filter(pk=0).values_list("id", "merged_into_id"), [lead_id])
    return tuple(rows[0]) if rows else None


def events_record(
    *, lead_id: int | None = None, email: str = "", items: Iterable[Mapping[str, Any]]
) -> tuple[list[LeadEvent], list[LeadEvent]]:
    """Record several events of one lead in one transaction; returns (all events, the newly created ones).

    Redelivered events (known idempotency key) are returned as they are. New events update the lead's last
    interaction; an unsubscribe opts the lead out at once. ``events_recorded`` is sent once, in the transaction.
    The lead is locked first (its events and its row are written under that lock); the items are checked before.
    """
    if not (lead_id or email):
        raise LeadInputError([FieldError("lead", "give the lead id or its e-mail")])
    prepared = []
    for item in items:
        event_type = " ".join(str(item.get("type") or "").split()).lower()
        if not event_type:
            raise LeadInputError([FieldError("type", "is required")])
        if len(event_type) > 50:
            raise LeadInputError([FieldError("type", "longer than 50 characters")])
        properties = item.get("properties") or {}
        if not isinstance(properties, Mapping):
            raise LeadInputError([FieldError("properties", "must be an object")])
        key = (item.get("idempotency_key") or None) and str(item["idempotency_key"])[:200]
        prepared.append((event_type, _parse_occurred_at(item.get("occurred_at")), dict(properties), key,
                         str(item.get("source") or "")[:100]))
    retries = MERGED_RETRIES
    while True:
        try:
            return _events_write(lead_id, email, prepared)
        except _Merged as merged:  # rolled back, nothing written: the events go to the survivor
            if retries == 0:  # merged again each time it was read: a clear error, not a 500
                raise LeadInputError([FieldError("lead", "was merged while its events were recorded; post them "
                                                         "again")]) from None
            retries -= 1
            lead_id, email = _survivor_id(merged.merged_into_id), ""


def _events_write(lead_id: int | None, email: str, prepared: list[tuple]) -> tuple[list[LeadEvent], list[LeadEvent]]:
    result, created = [], []
    with transaction.atomic():
        lead = _lead_locked_live(lead_id, email)
        for event_type, occurred_at, properties, key, source in prepared:
            if key:
                existing = LeadEvent.objects.filter(idempotency_key=key).first()
                if existing is not None:
                    result.append(existing)
                    continue
            event = LeadEvent(lead_id=lead.pk, type=event_type, occurred_at=occurred_at, properties=properties,
                              idempotency_key=key, source=source)
            if len(prepared) > 1 or event_type == EventType.UNSUBSCRIBE:
                event_insert_with_history(event, reason=_event_reason(event))
            # else: the request's one event is written with its lead's update (_lead_after_events)
            result.append(event)
            created.append(event)
        if created:
            _lead_after_events(lead, created)
    return result, created


def _event_reason(event: LeadEvent) -> str:
    return f"event from {event.source or 'api'}"


def _lead_after_events(lead: Lead, created: list[LeadEvent]) -> None:
    # The latest activity known before these events (a lower bound of what re-engagement compares): a lead active
    # recently needs no re-engagement lookup (routing.jobs.lead_reengage_schedule).
    active_before = max((m for m in (lead.last_interaction_at, lead.assigned_at, lead.created_at) if m), default=None)
    update = ["updated_at"]
    newest = max(e.occurred_at for e in created)
    if lead.last_interaction_at is None or newest > lead.last_interaction_at:
        lead.last_interaction_at = newest
        update.append("last_interaction_at")
    reasons = [f"{len(created)} new event(s)"]
    suppressed = False
    if any(e.type == EventType.UNSUBSCRIBE for e in created) and lead.consent != Consent.OPT_OUT:
        # Suppressed at once, in the same transaction as the event: no outreach may start in between.
        suppressed = lead_consent_withdrawn_apply(lead)
        update += ["consent", "stage"] if suppressed else ["consent"]
        reasons.append("unsubscribed: consent withdrawn, suppressed")
    fields, reason = [name for name in update if name != "updated_at"], "automation:events " + "; ".join(reasons)
    unsaved = [event for event in created if event.pk is None]
    event_types = sorted({e.type for e in created})
    step = None
    if unsaved:  # one new event (not an unsubscribe): it and the lead's row, with their history rows, in one statement
        [event] = unsaved
        # with the pending row of the step that follows, where the database can (scoring's receiver)
        step = step_row_offered(signals.events_recording, sender=LeadEvent, lead_id=lead.pk, event_types=event_types)
        event_insert_with_lead_update(event, reason=_event_reason(event), lead=lead, fields=fields, lead_reason=reason,
                                      step=step)
    else:
        lead_save_with_history(lead, fields, reason=reason)
    if suppressed:
        # A suppression closes the lead as the lifecycle's does: its open tasks are cancelled and its nurture stops,
        # in this transaction, so no rep calls a person who has just withdrawn consent.
        lead_transition_announce(lead, to=Transition.SUPPRESSED, reason="unsubscribed: consent withdrawn")
    lead_id, event_ids = lead.pk, [e.pk for e in created]
    with steps_written([step]):
        signals.events_recorded.send(sender=LeadEvent, lead_id=lead_id, event_ids=event_ids, event_types=event_types,
                                     active_before=active_before, stage=lead.stage)

