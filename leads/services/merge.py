"""Merging two leads into one, and undoing it exactly.

Strategy:
- profile fields: **Most Complete Wins** — a gap in the survivor is filled from the merged lead; when both have a
  value, the value of the more complete record (higher data-quality score; the survivor on a tie) is kept;
- behavioural fields: **Last Touch Wins** — the newer last touch and last interaction are kept, the older first
  touch is kept (attribution survives the merge), consent takes the most restrictive answer (an opt-out is
  never undone by a merge), a closed outcome beats an open one;
- custom attributes and data flags are united (the survivor's value wins a conflict);
- events and source records move to the survivor; other layers move their own rows on ``lead_merged``.

The merged lead is kept, hidden (``merged_into``), and the MergeLog stores its full snapshot, the survivor's
fields before, every field decision and what moved, so ``lead_merge_undo`` restores both leads as they were.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from .. import signals
from ..choices import Consent, Outcome, ReviewStatus
from ..models import DuplicateReview, Lead, LeadEvent, MergeLog, SourceRecord
from ..quality import data_quality_score
from .lifecycle import lead_consent_withdrawn_apply

MERGE_PROFILE_FIELDS = (
    "first_name", "last_name", "email", "phone", "phone_raw", "company", "company_key", "website", "domain",
    "title", "seniority", "department", "country", "state", "city", "postal_code", "industry", "employees",
    "size_band", "annual_revenue", "account",
)
SNAPSHOT_EXCLUDE = {"id", "created_at", "updated_at"}


class MergeError(ValueError):
    """A merge or undo that cannot be done, with the reason."""


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def lead_snapshot(lead: Lead) -> dict[str, Any]:
    """Every stored field of a lead, JSON-ready (foreign keys by id)."""
    snapshot = {}
    for field in Lead._meta.concrete_fields:
        if field.name in SNAPSHOT_EXCLUDE:
            continue
        snapshot[field.attname] = _json_value(getattr(lead, field.attname))
    return snapshot


def lead_restore(lead: Lead, snapshot: dict[str, Any], only: Iterable[str] | None = None) -> None:
    """Set a lead's fields back from a snapshot (all, or ``only`` these attribute names)."""
    names = set(only) if only is not None else set(snapshot)
    for field in Lead._meta.concrete_fields:
        if field.attname in names and field.attname in snapshot:
            raw = snapshot[field.attname]
            setattr(lead, field.attname, None if raw is None else field.to_python(raw))


def _attname(name: str) -> str:
    return Lead._meta.get_field(name).attname


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _decide(survivor: Lead, merged: Lead) -> list[dict[str, Any]]:
    """Apply the merge strategy to ``survivor`` in memory; return every decision that changed or kept a value."""
    decisions: list[dict[str, Any]] = []
    merged_more_complete = merged.data_quality > survivor.data_quality

    def record(field: str, kept_from: str, why: str, s_value: Any, m_value: Any) -> None:
        decisions.append({"field": field, "survivor": _json_value(s_value), "merged": _json_value(m_value),
                          "kept": kept_from, "why": why})

    for name in MERGE_PROFILE_FIELDS:
        attname = _attname(name)
        s_value, m_value = getattr(survivor, attname), getattr(merged, attname)
        if _empty(m_value) or s_value == m_value:
            continue
        if _empty(s_value):
            setattr(survivor, attname, m_value)
            record(name, "merged", "filled a gap (most complete wins)", s_value, m_value)
        elif merged_more_complete:
            setattr(survivor, attname, m_value)
            record(name, "merged", "the merged record is more complete", s_value, m_value)
        else:
            record(name, "survivor", "the survivor is at least as complete", s_value, m_value)

    s_last, m_last = survivor.last_touch or {}, merged.last_touch or {}
    if m_last.get("at", "") > s_last.get("at", ""):
        survivor.last_touch = m_last
        record("last_touch", "merged", "newer touch (last touch wins)", s_last, m_last)
    s_first, m_first = survivor.first_touch or {}, merged.first_touch or {}
    if m_first and (not s_first or m_first.get("at", "") < s_first.get("at", "")):
        survivor.first_touch = m_first
        for name in ("source", "campaign", "utm_source", "utm_medium", "utm_campaign"):
            setattr(survivor, name, getattr(merged, name) or getattr(survivor, name))
        record("first_touch", "merged", "older first touch (attribution kept)", s_first, m_first)
    if merged.last_interaction_at and (
        survivor.last_interaction_at is None or merged.last_interaction_at > survivor.last_interaction_at
    ):
        record("last_interaction_at", "merged", "newer interaction", survivor.last_interaction_at,
               merged.last_interaction_at)
        survivor.last_interaction_at = merged.last_interaction_at
    consent_rank = {Consent.OPT_OUT: 2, Consent.OPT_IN: 1, Consent.UNKNOWN: 0}
    if consent_rank.get(merged.consent, 0) > consent_rank.get(survivor.consent, 0):
        record("consent", "merged", "the most restrictive / most explicit answer wins", survivor.consent,
               merged.consent)
        survivor.consent = merged.consent
        stage_before = survivor.stage
        if survivor.consent == Consent.OPT_OUT and lead_consent_withdrawn_apply(survivor):
            # Withdrawn consent suppresses the survivor as an unsubscribe would; its tasks then close with the merge
            # (routing: the tasks of a lead merged into a closed one). Undoing the merge restores the stage.
            record("stage", "merged", "consent withdrawn: suppressed", stage_before, survivor.stage)
    if survivor.outcome == Outcome.OPEN and merged.outcome != Outcome.OPEN:
        record("outcome", "merged", "a closed outcome beats an open one", survivor.outcome, merged.outcome)
        survivor.outcome, survivor.deal_value, survivor.closed_at = merged.outcome, merged.deal_value, merged.closed_at
    if survivor.owner_id is None and merged.owner_id is not None:
        record("owner", "merged", "the survivor had no owner", None, merged.owner_id)
        survivor.owner_id = merged.owner_id
    custom = {**(merged.custom or {}), **(survivor.custom or {})}
    if custom != (survivor.custom or {}):
        record("custom", "both", "custom attributes united (survivor wins conflicts)", survivor.custom, merged.custom)
        survivor.custom = custom
    flags = sorted(set(survivor.flags or []) | set(merged.flags or []))
    if flags != sorted(survivor.flags or []):
        survivor.flags = flags
    return decisions


def lead_merge(
    *, survivor_id: int, merged_id: int, rule: str, similarity: float | None = None, user=None, reason: str = ""
) -> MergeLog:
    """Merge ``merged_id`` into ``survivor_id`` (see the module docstring); returns the log row."""
    if survivor_id == merged_id:
        raise MergeError("a lead cannot be merged into itself")
    with transaction.atomic():
        locked = {lead.pk: lead for lead in Lead.objects.select_for_update().filter(
            pk__in=[survivor_id, merged_id]).order_by("pk")}
        survivor, merged = locked.get(survivor_id), locked.get(merged_id)
        if survivor is None or merged is None:
            raise MergeError("one of the two leads no longer exists")
        if survivor.merged_into_id or merged.merged_into_id:
            raise MergeError("one of the two leads was already merged into another lead")
        survivor_before = lead_snapshot(survivor)
        merged_snapshot = lead_snapshot(merged)
        decisions = _decide(survivor, merged)
        survivor.data_quality = data_quality_score(survivor)
        event_ids = list(LeadEvent.objects.filter(lead=merged).values_list("pk", flat=True))
        record_ids = list(SourceRecord.objects.filter(lead=merged).values_list("pk", flat=True))
        LeadEvent.objects.filter(pk__in=event_ids).update(lead=survivor)
        SourceRecord.objects.filter(pk__in=record_ids).update(lead=survivor)
        log = MergeLog.objects.create(
            survivor=survivor, merged=merged, rule=rule, similarity=similarity, survivor_before=survivor_before,
            merged_snapshot=merged_snapshot, decisions=decisions, moved_event_ids=event_ids,
            moved_source_record_ids=record_ids, user=user,
        )
        why = reason or f"merge #{log.pk}: {rule}" + (f" ({similarity:.0f}%)" if similarity is not None else "")
        survivor._history_user = user
        survivor._change_reason = f"{'' if user else 'automation:dedup '}{why}: absorbed lead #{merged.pk}"[:1000]
        survivor.save()
        merged.merged_into = survivor
        merged.queue = ""
        merged._history_user = user
        merged._change_reason = f"{'' if user else 'automation:dedup '}{why}: merged into lead #{survivor.pk}"[:1000]
        merged.save(update_fields=["merged_into", "queue", "updated_at"])
        DuplicateReview.objects.filter(
            lead_id=min(survivor_id, merged_id), other_lead_id=max(survivor_id, merged_id)
        ).exclude(status=ReviewStatus.MERGED).update(status=ReviewStatus.MERGED, decided_by=user,
                                                     decided_at=timezone.now())
        signals.lead_merged.send(sender=Lead, survivor_id=survivor_id, merged_id=merged_id)
    return log


def lead_merge_undo(*, merge_id: int, user=None) -> MergeLog:
    """Undo one merge: the merged lead comes back exactly as it was, with its events and source records.

    On the survivor, each field the merge changed goes back to its value before the merge unless it has been
    changed since (a later edit is kept). Raises MergeError when the merged lead was merged again since.
    """
    with transaction.atomic():
        log = MergeLog.objects.select_for_update().get(pk=merge_id)
        if log.undone_at:
            return log
        locked = {lead.pk: lead for lead in Lead.objects.select_for_update().filter(
            pk__in=[log.survivor_id, log.merged_id]).order_by("pk")}
        survivor, merged = locked[log.survivor_id], locked[log.merged_id]
        if merged.merged_into_id != survivor.pk:
            raise MergeError(f"lead #{merged.pk} is no longer merged into #{survivor.pk}")
        if survivor.merged_into_id:
            raise MergeError(f"lead #{survivor.pk} was itself merged since; undo that merge first")
        after = lead_snapshot(survivor)
        restored = []
        for decision in log.decisions:
            if decision["kept"] == "survivor":
                continue
            name = decision["field"]
            attname = _attname(name) if name in {f.name for f in Lead._meta.concrete_fields} else name
            if attname not in log.survivor_before:
                continue
            changed_since = after.get(attname) != _json_value(_merged_value(log, attname))
            if name in {"custom", "last_touch", "first_touch", "last_interaction_at", "consent", "outcome", "stage"}:
                changed_since = False
            if not changed_since:
                restored.append(attname)
        if any(d["field"] == "first_touch" and d["kept"] == "merged" for d in log.decisions):
            restored += ["source", "campaign", "utm_source", "utm_medium", "utm_campaign"]
        if any(d["field"] == "outcome" and d["kept"] == "merged" for d in log.decisions):
            restored += ["deal_value", "closed_at"]
        restored += ["flags", "data_quality"]
        lead_restore(survivor, log.survivor_before, only=restored)
        survivor._history_user = user
        survivor._change_reason = f"undo merge #{log.pk}: lead #{merged.pk} split off again"
        survivor.save()
        LeadEvent.objects.filter(pk__in=log.moved_event_ids).update(lead=merged)
        SourceRecord.objects.filter(pk__in=log.moved_source_record_ids).update(lead=merged)
        lead_restore(merged, log.merged_snapshot)
        merged._history_user = user
        merged._change_reason = f"undo merge #{log.pk}: restored as it was"
        merged.save()
        log.undone_at = timezone.now()
        log.undone_by = user
        log.save(update_fields=["undone_at", "undone_by"])
        # An undone merge is a person saying "these are different people": remembered like a dismissed review.
        DuplicateReview.objects.update_or_create(
            lead_id=min(survivor.pk, merged.pk), other_lead_id=max(survivor.pk, merged.pk),
            defaults={"status": ReviewStatus.NOT_DUPLICATE, "decided_by": user, "decided_at": timezone.now()},
            create_defaults={"status": ReviewStatus.NOT_DUPLICATE, "decided_by": user, "decided_at": timezone.now(),
                             "similarity": log.similarity or 0, "reason": log.rule, "found_by": "undo"},
        )
        survivor_id, merged_id = survivor.pk, merged.pk
        signals.lead_unmerged.send(sender=Lead, survivor_id=survivor_id, merged_id=merged_id)
    return log


def _merged_value(log: MergeLog, attname: str) -> Any:
    """The value the merge wrote into the survivor's field (the merged lead's value)."""
    return log.merged_snapshot.get(attname)


def merges_undo(*, merge_ids: list[int], user=None) -> tuple[int, list[str]]:
    """Undo many merges, newest first (so chains unwind in order); returns (undone, errors)."""
    undone, errors = 0, []
    for log in MergeLog.objects.filter(pk__in=merge_ids, undone_at__isnull=True).order_by("-created_at", "-id"):
        try:
            lead_merge_undo(merge_id=log.pk, user=user)
            undone += 1
        except MergeError as exc:
            errors.append(f"merge #{log.pk}: {exc}")
    return undone, errors
