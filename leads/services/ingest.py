"""Ingest: one inbound record normalized and stored as a new lead, an update, a merge, or a new lead with review
pairs; and a lead edited by a person.

Every write goes through ``full_clean()`` and leaves a history row whose reason names the automation or user.
Higher layers hear about writes through the signals in ``leads.signals``, sent in the write's transaction; a new lead's
``lead_created`` also starts its own pipeline (the receiver schedules its enrichment).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from revops.base.db.instances import instance_new
from revops.base.db.sql import row_get_or_insert_with_history
from revops.base.privacy import ERASED_REFUSAL, erased_emails, erasure_hashes_to_check
from revops.base.step_rows import step_row_offered, steps_written

from .. import signals
from ..choices import Consent, MatchRule, Outcome, Transition
from ..dedup.keys import company_key
from ..dedup.match import dedup_match, dedup_match_checking_erasure, erasure_check_with_dedup, review_caps
from ..models import Account, Lead, SourceRecord
from ..normalize import FieldError, normalize_row
from ..quality import data_quality_score
from ..writes import history_user_id, lead_insert_with_history
from .lifecycle import (
    lead_consent_withdrawn_apply,
    lead_transition_announce,
    lead_transition_apply,
    transition_for_outcome,
)
from .merge import lead_merge
from .review import review_pair_open
from .vocabulary import industry_vocabulary

# Fields an ingest may write on a lead (normalized values outside this set are derived or diagnostic).
PROFILE_FIELDS = (
    "first_name", "last_name", "email", "phone", "phone_raw", "company", "website", "domain", "title", "seniority",
    "department", "country", "state", "city", "postal_code", "industry", "employees", "size_band", "annual_revenue",
)
TOUCH_FIELDS = ("source", "campaign", "utm_source", "utm_medium", "utm_campaign")
OUTCOME_FIELDS = ("outcome", "deal_value")
# Lead fields whose change means the score must be recomputed.
SCORING_INPUT_FIELDS = frozenset(PROFILE_FIELDS) | {"source", "campaign", "custom", "consent", "outcome"}


def field_errors_from(exc) -> list[FieldError]:
    """A model validation error (``full_clean`` / ``clean_fields``) as field errors for a row or an API answer."""
    if hasattr(exc, "error_dict"):
        return [FieldError(name if name != "__all__" else "row", message)
                for name, messages in exc.message_dict.items() for message in messages]
    return [FieldError("row", message) for message in exc.messages]


@dataclass
class IngestResult:
    """What one ingested record became.

    ``created``; ``updated`` (same source id: new data on that lead); ``merged`` (same person: folded into the
    existing lead, ``lead`` is the survivor); ``review`` (created, and review pairs opened); ``rejected``.
    """

    action: str
    lead: Lead | None = None
    errors: list[FieldError] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    rule: str = ""
    reviews_skipped: int = 0  # uncertain candidates left out by LEADFLOW_DEDUP_MAX_PAIRS_PER_LEAD (weakest first)
    reviews_opened: int = 0
    # A lead this call created: its source ids ("source:external id"), known without reading them back.
    external_ids: list[str] | None = None


def _touch(values: Mapping[str, Any], at: datetime) -> dict[str, str]:
    touch = {name: values.get(name, "") for name in TOUCH_FIELDS if values.get(name)}
    if touch:
        touch["at"] = at.isoformat()
    return touch


def _account_for(domain: str, company: str, user=None) -> Account | None:
    """The domain's account, created (with its history row) for the first lead of a new domain. What
    ``Account.objects.get_or_create`` does, with the read compiled once and the insert prepared once: every lead
    taken one at a time asks."""
    if not domain:
        return None
    account, _ = row_get_or_insert_with_history(Account, "domain", domain,
                                                lambda: Account(domain=domain, name=company or domain),
                                                reason="created for a new lead", user_id=history_user_id(user))
    return account


def _find_by_source_id(values: Mapping[str, Any], source: str) -> Lead | None:
    """Dedup rule 1: the lead that already holds this source's external id (followed through merges)."""
    external_id = values.get("external_id") or ""
    if not (source and external_id):
        return None
    record = SourceRecord.objects.select_related("lead").filter(source=source, external_id=external_id).first()
    if record is None:
        return None
    lead = record.lead
    while lead.merged_into_id:
        lead = lead.merged_into
    return lead


def lead_ingest(*, data: Mapping[str, Any], source: str = "", user=None, reason: str = "",
                pipeline: bool = True, review_limit: int | None = None) -> IngestResult:
    """Normalize one inbound record and store it: a new lead, an update, a merge, or a new lead plus review pairs.

    Steps: normalize (a rejected record writes nothing); refuse the e-mail of a person erased on request unless
    the record opts in or a live lead holds it (on PostgreSQL in the duplicate check's statement, see below); dedup
    rule 1 (same source and external id) updates that
    lead; otherwise the record is stored as a lead and ``leads.dedup.match.dedup_match`` decides: a certain match (same
    e-mail, or same phone with a similar name) merges it into the existing lead at once, through the logged,
    undoable ``lead_merge``; uncertain candidates open review pairs and the new lead goes on through the pipeline
    (enrichment is scheduled after commit; ``pipeline=False``: the caller, a bulk import, takes a new lead through
    the pipeline with its batch). Everything happens in one transaction. At most ``LEADFLOW_DEDUP_MAX_PAIRS_PER_LEAD``
    review pairs are opened (``review_limit``, when given, lowers it), strongest first; the rest are counted in
    ``reviews_skipped``.
    """
    row = dict(data)
    if source and not row.get("source"):
        row["source"] = source
    normalized = normalize_row(row, industry_vocabulary=industry_vocabulary())
    if normalized.errors:
        return IngestResult(action="rejected", errors=list(normalized.errors), flags=list(normalized.flags))
    values = normalized.values
    effective_source = values.get("source") or source
    # A stale record of a person erased on request (an old file, a sync) is refused: they come back only by opting
    # in. On PostgreSQL the duplicate check's statement answers it (inside the transaction, before anything is
    # written) for a record without a source id; elsewhere, and for a record that may update a lead by its source id
    # (which needs no duplicate check), it is asked first.
    erasure_hashes = erasure_hashes_to_check(values)
    by_source_id = bool(effective_source and values.get("external_id"))
    with_dedup = bool(erasure_hashes) and erasure_check_with_dedup() and not by_source_id
    if erasure_hashes and not with_dedup and erased_emails([values]) and not (
            Lead.objects.live().filter(email=values["email"]).exists()):
        return _erased_refusal(normalized)
    # The new lead is built and checked before the transaction: on SQLite its BEGIN takes the one write lock, which
    # then covers only the reads that decide (same source id, duplicates) and the writes.
    draft = _lead_draft(values, normalized.custom, normalized.flags, effective_source)
    with transaction.atomic():
        if with_dedup:
            match, uncertain, refused = dedup_match_checking_erasure(values, erasure_hashes)
            if refused:
                return _erased_refusal(normalized)
        existing = _find_by_source_id(values, effective_source)
        if existing is not None:
            lead = _lead_update_from_record(existing, values, normalized.custom, normalized.flags, effective_source,
                                            user, reason or "ingest: same source and external id")
            return IngestResult(action="updated", lead=lead, flags=list(normalized.flags), rule="same_source_id")
        if not with_dedup:
            match, uncertain = dedup_match(values)
        lead, external_ids = _lead_create(draft, effective_source, user, reason,
                                          run_pipeline=match is None and pipeline)
        if match is not None:
            lead_merge(survivor_id=match.lead.pk, merged_id=lead.pk, rule=match.rule, similarity=match.similarity,
                       user=user)
            survivor = Lead.objects.get(pk=match.lead.pk)
            return IngestResult(action="merged", lead=survivor, flags=list(normalized.flags), rule=match.rule)
        per_lead, _ = review_caps()
        if review_limit is not None:  # what is left of a bulk request's batch cap
            per_lead = max(min(per_lead, review_limit), 0)
        uncertain = sorted(uncertain, key=lambda m: -m.similarity)
        skipped = max(len(uncertain) - per_lead, 0)
        opened = [
            m for m in uncertain[:per_lead]
            if review_pair_open(lead_id=lead.pk, other_id=m.lead.pk, similarity=m.similarity, reason=m.rule,
                                found_by="ingest")
        ]
        if opened:
            return IngestResult(action="review", lead=lead, flags=list(normalized.flags), rule=opened[0].rule,
                                reviews_skipped=skipped, reviews_opened=len(opened), external_ids=external_ids)
        return IngestResult(action="created", lead=lead, flags=list(normalized.flags), reviews_skipped=skipped,
                            external_ids=external_ids)


def _erased_refusal(normalized) -> IngestResult:
    return IngestResult(action="rejected", errors=[FieldError("email", ERASED_REFUSAL)], flags=list(normalized.flags))


def lead_ingest_predict(*, values: Mapping[str, Any], source: str = "") -> str:
    """What ``lead_ingest`` would do with normalized values, read-only (the CSV preview shows it per row).

    The same rules in the same order: same source and external id → update; a certain match → merge; uncertain
    candidates → created with review pairs; else created. Rows earlier in the same file are not taken into account.
    """
    effective_source = values.get("source") or source
    existing = _find_by_source_id(values, effective_source)
    if existing is not None:
        return f"would update lead #{existing.pk} (same source and external id)"
    match, uncertain = dedup_match(dict(values))
    if match is not None:
        return (f"would merge into lead #{match.lead.pk} ({MatchRule(match.rule).label.lower()}, "
                f"{match.similarity:.0f}%)")
    if uncertain:
        first = uncertain[0]
        others = f" and {len(uncertain) - 1} more" if len(uncertain) > 1 else ""
        return (f"would be created, with a duplicate review against lead #{first.lead.pk}{others} "
                f"({MatchRule(first.rule).label.lower()}, {first.similarity:.0f}%)")
    return "would be created"


def lead_build(values: Mapping[str, Any], custom: Mapping[str, str], flags, source: str, *, now=None) -> Lead:
    """An unsaved lead from normalized values (shared by single and bulk ingest); the account is left to the caller."""
    now = now or timezone.now()
    lead = instance_new(Lead, {name: values[name] for name in PROFILE_FIELDS + TOUCH_FIELDS + OUTCOME_FIELDS
                               if name in values})
    lead.source = source
    lead.external_id = values.get("external_id", "")
    lead.consent = values.get("consent") or Consent.UNKNOWN
    lead.custom = dict(custom)
    lead.flags = sorted(set(flags))
    lead.company_key = company_key(lead.company)
    lead.first_touch = lead.last_touch = _touch({**values, "source": source}, now)
    if lead.outcome in (Outcome.WON, Outcome.LOST):
        lead_transition_apply(lead, to=transition_for_outcome(lead.outcome), at=now)
    return lead


@dataclass
class _Draft:
    """A new lead built from a record, not saved; ``invalid``: what its ``full_clean`` raised, raised again only if
    the record does become a new lead (a record that updates a lead by its source id never needed it)."""
    lead: Lead
    invalid: Exception | None = None


def _lead_draft(values, custom, flags, source) -> _Draft:
    lead = lead_build(values, custom, flags, source)
    lead.data_quality = data_quality_score(lead)
    try:
        lead.full_clean(exclude=["account", "owner", "merged_into"])
    except ValidationError as exc:
        return _Draft(lead, exc)
    return _Draft(lead)


def _lead_create(draft: _Draft, source, user, reason, *, run_pipeline: bool = True) -> tuple[Lead, list[str]]:
    """Store the drafted lead; returns it and its source ids (the one just recorded, if it is the lead's)."""
    if draft.invalid is not None:
        raise draft.invalid
    lead = draft.lead
    lead.account = _account_for(lead.domain, lead.company, user)
    # The first pipeline step's pending row, written with the lead where the database can (leads.receivers).
    step = step_row_offered(signals.lead_creating, sender=Lead) if run_pipeline else None
    lead_insert_with_history(lead, reason=reason or f"ingest from {source or 'api'}", user=user, step=step)
    external_ids = []
    if source and lead.external_id:
        record, _ = SourceRecord.objects.get_or_create(source=source, external_id=lead.external_id,
                                                       defaults={"lead": lead})
        if record.lead_id == lead.pk:  # another lead's record (a concurrent request) is not this lead's
            external_ids.append(f"{source}:{lead.external_id}")
    if run_pipeline:
        # The receiver of lead_created schedules the enrichment job, the first step of the lead's pipeline (its row
        # written already when step is set).
        with steps_written([step]):
            signals.lead_created.send(sender=Lead, lead_id=lead.pk)
    return lead, external_ids


def _lead_update_from_record(lead: Lead, values, custom, flags, source, user, reason) -> Lead:
    """Fold a new record of the same person into the lead: profile fields fill gaps, the last touch is updated."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    changed: set[str] = set()
    for name in PROFILE_FIELDS + OUTCOME_FIELDS:
        new = values.get(name)
        if new in (None, "") or getattr(lead, name) == new:
            continue
        if getattr(lead, name) in (None, "") or name in OUTCOME_FIELDS:
            setattr(lead, name, new)
            changed.add(name)
    suppressed = False
    if values.get("consent") and values["consent"] != Consent.UNKNOWN and lead.consent != Consent.OPT_OUT:
        if values["consent"] == Consent.OPT_OUT:  # withdrawn: suppressed now, its tasks and nurture closed below
            suppressed = lead_consent_withdrawn_apply(lead)
            changed |= {"consent", "stage"} if suppressed else {"consent"}
        elif lead.consent != values["consent"]:
            lead.consent = values["consent"]
            changed.add("consent")
    if custom:
        merged_custom = {**custom, **lead.custom}
        if merged_custom != lead.custom:
            lead.custom = merged_custom
            changed.add("custom")
    if "outcome" in changed:  # through the lifecycle: won → customer; a close closes the open tasks below
        changed |= lead_transition_apply(lead, to=transition_for_outcome(lead.outcome))
    touch = _touch({**values, "source": source}, timezone.now())
    if touch:
        lead.last_touch = touch
        changed.add("last_touch")
    lead.flags = sorted(set(lead.flags) | set(flags))
    if lead.account_id is None and lead.domain:
        lead.account = _account_for(lead.domain, lead.company, user)
    lead.company_key = company_key(lead.company)
    lead.data_quality = data_quality_score(lead)
    lead.full_clean(exclude=["account", "owner", "merged_into"])
    lead._history_user = user
    lead._change_reason = reason
    lead.save()
    if "outcome" in changed:
        lead_transition_announce(lead, to=transition_for_outcome(lead.outcome), reason=reason, user=user)
    if suppressed:
        lead_transition_announce(lead, to=Transition.SUPPRESSED, reason="consent withdrawn (opt-out)", user=user)
    external_id = values.get("external_id") or ""
    if source and external_id:
        SourceRecord.objects.get_or_create(source=source, external_id=external_id, defaults={"lead": lead})
    if changed:
        signals.lead_changed.send(sender=Lead, lead_id=lead.pk, fields=changed)
    return lead


def lead_update(*, lead: Lead, changed: Iterable[str], user=None, reason: str = "") -> Lead:
    """Save a lead edited by a person (admin) and tell the layers above which fields changed."""
    changed = set(changed)
    if changed & {"company"}:
        lead.company_key = company_key(lead.company)
    lead.data_quality = data_quality_score(lead)
    lead._history_user = user
    if reason:
        lead._change_reason = reason
    with transaction.atomic():
        transition = transition_for_outcome(lead.outcome) if "outcome" in changed else None
        if transition:  # the outcome set by hand goes through the lifecycle (stage, dates, open tasks)
            changed |= lead_transition_apply(lead, to=transition)
        # Consent set to opt-out by hand: suppressed like an unsubscribe (open tasks cancelled, nurture stopped).
        suppressed = "consent" in changed and lead.consent == Consent.OPT_OUT and lead_consent_withdrawn_apply(lead)
        if suppressed:
            changed.add("stage")
        lead.save()
        if transition:
            lead_transition_announce(lead, to=transition, reason=reason or "outcome set by hand", user=user)
        if suppressed:
            lead_transition_announce(lead, to=Transition.SUPPRESSED, reason=reason or "consent withdrawn (opt-out)",
                                     user=user)
        lead_id = lead.pk
        if changed:
            signals.lead_changed.send(sender=Lead, lead_id=lead_id, fields=changed)
    return lead
