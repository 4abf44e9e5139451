"""Bulk ingest: many rows at a time, set-based, with exactly the same outcome as ``lead_ingest`` row by row.

Rows that match nothing stored and nothing earlier in the batch (the vast majority of a fresh import) are
created with a handful of queries per batch: one look-up per matching key (e-mails, phones, source ids, company
domains and names), one bulk insert of leads with their history rows, one of source records, one of accounts,
and the company-directory enrichment in memory. Every other row — anything that could be a merge, an update or a
review pair — goes through ``lead_ingest`` one by one, so the dedup rules live in one place.

The created leads continue through the pipeline as one batch: enriched in memory, the batch announces
``leads_enriched_many`` once stored, and scoring, routing and the follow-up tasks run set-based over the whole
batch (one job each, inline under ``jobs_inline`` or on the workers; see docs/ingestion.md, "Bulk pipeline").
Leads that need a remote enrichment provider get their enrichment job each and go on one by one from there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from revops.base.automation import automation_log_many
from revops.base.choices import AutomationOutcome, Workflow
from revops.base.db.instances import instance_clean_fields
from revops.base.db.memory import batch_gc
from revops.base.db.sql import bulk_insert, history_copy_all
from revops.base.privacy import ERASED_REFUSAL, erased_emails
from revops.base.switches import workflow_enabled

from .. import signals
from ..choices import EnrichmentStatus
from ..dedup.batch import BatchReview, BatchRow, batch_duplicates
from ..dedup.keys import company_key
from ..models import Account, CompanyProfile, DuplicateReview, EnrichmentProvider, Lead, SourceRecord
from ..normalize import FieldError, normalize_row, size_band_for
from ..quality import data_quality_score
from ..writes import history_user_id, leads_history_record_all
from .enrichment import ENRICHABLE_FIELDS, lead_enrich, lead_enrichment_failed
from .ingest import field_errors_from, lead_build, lead_ingest
from .vocabulary import industry_vocabulary

# Fields lead_build sets from more than one input value (or from none, when the row lacks them).
_BUILT_FIELDS = frozenset({"source", "external_id", "consent", "custom", "flags", "company_key", "first_touch",
                           "last_touch", "closed_at"})


@dataclass
class RowOutcome:
    """What one row became: the same actions as ``IngestResult`` (created, updated, merged, review, rejected)."""

    row: int
    action: str
    lead_id: int | None = None
    errors: list[FieldError] = field(default_factory=list)
    fast: bool = False  # created by the set-based path
    reviews_skipped: int = 0  # review pairs left out by the caps (leads.dedup.batch.reviews_cap)


@dataclass
class _Prepared(BatchRow):
    """A row ready to store: what the duplicate check reads, plus its custom attributes and data flags."""

    custom: dict[str, str]
    flags: list[str]


def _open_reviews(reviews: dict[int, BatchReview], lead_of_row: dict[int, int], *, reason: str, now) -> set[int]:
    """Open the review pairs of the batch's new leads in one insert; returns the rows that got one.

    The new leads have no pair yet, so none can be a pair already decided ("not a duplicate" is remembered by pair).
    """
    rows: dict[tuple[int, int], DuplicateReview] = {}
    opened: set[int] = set()
    for row, review in reviews.items():
        lead_id = lead_of_row.get(row)
        if lead_id is None:
            continue
        for (kind, ref, *_), similarity, rule in review.pairs:
            other_id = ref if kind == "lead" else lead_of_row.get(ref)
            if other_id is None or other_id == lead_id:
                continue
            low, high = sorted((lead_id, other_id))
            if (low, high) not in rows:
                rows[(low, high)] = DuplicateReview(lead_id=low, other_lead_id=high, similarity=round(similarity, 1),
                                                    reason=rule, found_by="ingest")
            opened.add(row)
    if rows:
        created = bulk_insert(list(rows.values()))
        history_copy_all(DuplicateReview, [r.pk for r in created], reason=reason, now=now, history_type="+")
    return opened


def _accounts(leads: list[Lead]) -> None:
    """Attach accounts by domain, creating the missing ones in one insert."""
    domains = {lead.domain: lead.company for lead in leads if lead.domain}
    if not domains:
        return
    existing = dict(Account.objects.filter(domain__in=domains).values_list("domain", "pk"))
    missing = [Account(domain=d, name=c or d) for d, c in domains.items() if d not in existing]
    if missing:
        Account.objects.bulk_create(missing, ignore_conflicts=True)
        existing = dict(Account.objects.filter(domain__in=domains).values_list("domain", "pk"))
    for lead in leads:
        if lead.domain:
            lead.account_id = existing.get(lead.domain)


def _enrichment_mode() -> str:
    """How a batch's new leads are enriched: ``skip`` (the enrichment switch is off), ``memory`` (the company
    directory is the only provider: in memory, in batch) or ``jobs`` (a remote provider: one job per lead)."""
    if not workflow_enabled(Workflow.ENRICHMENT):
        return "skip"
    return "memory" if directory_only() else "jobs"


def _log_enrichment_skipped(lead_ids: list[int]) -> None:
    """What the enrichment job writes for each lead it skips, written here for a batch's leads: each lead's
    automation log says enrichment was skipped because its kill switch was off."""
    automation_log_many(workflow=Workflow.ENRICHMENT, action="lead_enrich", outcome=AutomationOutcome.SKIPPED,
                        object_type="lead", object_ids=lead_ids,
                        detail=f"the {Workflow.ENRICHMENT} kill switch is off (bulk import)")


def directory_only() -> bool:
    """True when the company directory is the only enrichment (so it can run in memory, in batch)."""
    return not EnrichmentProvider.objects.filter(active=True).exclude(kind=EnrichmentProvider.KIND_DIRECTORY).exists()


def _enrich_from_directory(leads: list[Lead]) -> None:
    now = timezone.now()
    profiles = {p.domain: p for p in CompanyProfile.objects.filter(domain__in={x.domain for x in leads if x.domain})}
    for lead in leads:
        profile = profiles.get(lead.domain)
        filled = []
        if profile is not None:
            for name in ENRICHABLE_FIELDS:
                value = getattr(profile, "name" if name == "company" else name)
                if value not in (None, "") and getattr(lead, name) in (None, ""):
                    setattr(lead, name, value)
                    filled.append(name)
        if "employees" in filled:
            lead.size_band = size_band_for(lead.employees)
        lead.enrichment_status = EnrichmentStatus.DONE if filled else EnrichmentStatus.NOT_FOUND
        lead.enriched_at = now


def _continue_pipeline(lead_id: int) -> None:
    """Once stored, a lead that still needs a remote provider goes the per-lead path: ``lead_created``, whose
    receiver schedules its enrichment job.

    Called after the batch's transaction: the enrichment job's pending row is written then (a queue that is down
    leaves it pending for the sweeper).
    """
    signals.lead_created.send(sender=Lead, lead_id=lead_id)


def _ingest_row_by_row(rows: list[tuple[int, dict]], outcomes: list[RowOutcome], *, source: str, user, reason: str,
                       mode: str) -> list[RowOutcome]:
    """The numbered rows that may update or merge, through ``lead_ingest`` one by one (each in its own
    transaction). Returns the outcomes of the new leads among them that join the batch's pipeline (enriched here,
    unless a remote provider enriches them with their own jobs).
    """
    joined = []
    for number, data in rows:
        try:
            with transaction.atomic():
                result = lead_ingest(data=data, source=source, user=user, reason=reason, pipeline=mode == "jobs")
        except ValidationError as exc:
            outcomes.append(RowOutcome(number, "rejected", errors=field_errors_from(exc)))
            continue
        outcome = RowOutcome(number, result.action, result.lead.pk if result.lead else None,
                             errors=list(result.errors))
        outcomes.append(outcome)
        if mode != "jobs" and result.action in ("created", "review"):
            joined.append(outcome)
    if joined:
        going_on = set(_enrich_joined([o.lead_id for o in joined], mode))
        joined = [o for o in joined if o.lead_id in going_on]
    return joined


def _enrich_joined(lead_ids: list[int], mode: str) -> list[int]:
    """Enrich the new leads the row-by-row path stored, as their own enrichment job would, without announcing
    each; returns those that go on with the batch (one whose enrichment fails is flagged and goes on alone)."""
    if mode == "skip":
        skipped = list(Lead.objects.filter(pk__in=lead_ids, enrichment_status=EnrichmentStatus.PENDING)
                       .values_list("pk", flat=True))
        Lead.objects.filter(pk__in=skipped).update(enrichment_status=EnrichmentStatus.SKIPPED,
                                                     updated_at=timezone.now())
        _log_enrichment_skipped(skipped)
        return lead_ids
    joined = []
    for lead_id in lead_ids:
        try:
            lead_enrich(lead_id=lead_id, announce=False)
        except Exception as exc:  # noqa: BLE001 - the same degradation as the enrichment job's failure hook
            lead_enrichment_failed(lead_id, Workflow.ENRICHMENT, f"{type(exc).__name__}: {exc}")
            continue
        joined.append(lead_id)
    return joined


def _announce_enriched(lead_ids: list[int]) -> None:
    """Tell the higher layers that these leads are stored and enriched: they score and route them as a batch."""
    if lead_ids:
        signals.leads_enriched_many.send(sender=Lead, lead_ids=lead_ids)


def leads_bulk_ingest(
    rows: Iterable[tuple[int, Mapping[str, Any]]], *, source: str = "", user=None, reason: str = "bulk import",
) -> tuple[list[RowOutcome], list[Lead]]:
    """Ingest numbered rows; returns an outcome per row and the leads the set-based path created.

    Steps: normalize every row (rejected rows get their errors and write nothing); split the rows by what the
    duplicate check would do (``leads.dedup.batch.batch_duplicates``); build and validate the rows to create; in
    one transaction attach accounts, enrich them (see ``_enrichment_mode``), insert them with their history rows
    and source records and open their review pairs; then send the rows that may update or merge through
    ``lead_ingest`` one by one
    (each in its own transaction); finally announce every new lead enriched here as one batch
    (``leads_enriched_many``) for the batch pipeline.
    """
    with batch_gc():
        return _bulk_ingest(rows, source=source, user=user, reason=reason)


def _erased_refused(prepared: list[_Prepared], outcomes: list[RowOutcome]) -> list[_Prepared]:
    """Refuse the stale rows of people erased on request (``revops.base.privacy``), unless they came back."""
    erased = erased_emails([p.values for p in prepared])
    if erased:
        erased -= set(Lead.objects.live().filter(email__in=erased).values_list("email", flat=True))
    kept = []
    for p in prepared:
        if p.values.get("email") in erased:
            outcomes.append(RowOutcome(p.row, "rejected", errors=[FieldError("email", ERASED_REFUSAL)]))
        else:
            kept.append(p)
    return kept


def _bulk_ingest(rows, *, source: str, user, reason: str) -> tuple[list[RowOutcome], list[Lead]]:
    vocabulary = industry_vocabulary()
    outcomes: list[RowOutcome] = []
    prepared: list[_Prepared] = []
    raw_by_row: dict[int, dict] = {}
    for number, data in rows:
        row = dict(data)
        if source and not row.get("source"):
            row["source"] = source
        normalized = normalize_row(row, industry_vocabulary=vocabulary)
        if normalized.errors:
            outcomes.append(RowOutcome(number, "rejected", errors=list(normalized.errors)))
            continue
        values = dict(normalized.values)
        values["company_key"] = company_key(values.get("company") or "")
        raw_by_row[number] = row
        prepared.append(_Prepared(row=number, values=values, source=values.get("source") or source,
                                   custom=normalized.custom, flags=normalized.flags))
    prepared = _erased_refused(prepared, outcomes)
    slow, reviews = batch_duplicates(prepared)
    fast = [p for p in prepared if p.row not in slow]
    now = timezone.now()
    leads, kept = [], []
    for p in fast:
        lead = lead_build(p.values, p.custom, p.flags, p.source, now=now)
        try:
            # The model's own limits (lengths, ranges) hold here exactly as in lead_ingest's full_clean(); only the
            # fields the row set are checked (the others hold their defaults).
            instance_clean_fields(lead, _BUILT_FIELDS.union(p.values))
        except ValidationError as exc:
            outcomes.append(RowOutcome(p.row, "rejected", errors=field_errors_from(exc)))
            continue
        leads.append(lead)
        kept.append(p)
    fast = kept
    mode = _enrichment_mode()
    # Reading and computing before the transaction: it holds SQLite's one write lock, which the workers scoring and
    # routing the previous batch wait for.
    if mode == "memory":
        _enrich_from_directory(leads)
    elif mode == "skip":
        for lead in leads:
            lead.enrichment_status = EnrichmentStatus.SKIPPED
    for lead in leads:
        lead.data_quality = data_quality_score(lead)
    with transaction.atomic():
        _accounts(leads)
        created = bulk_insert(leads)
        leads_history_record_all([lead.pk for lead in created], reason=reason, now=now, created=True,
                                 user_id=history_user_id(user))
        SourceRecord.objects.bulk_create(
            [SourceRecord(source=lead.source, external_id=lead.external_id, lead=lead) for lead in created
             if lead.source and lead.external_id], ignore_conflicts=True)
        in_review = _open_reviews(reviews, {p.row: lead.pk for p, lead in zip(fast, created, strict=True)},
                                  reason=reason, now=now)
        if mode == "skip":
            _log_enrichment_skipped([lead.pk for lead in created])
    enriched = []
    for p, lead in zip(fast, created, strict=True):
        outcome = RowOutcome(p.row, "review" if p.row in in_review else "created", lead.pk, fast=True,
                             reviews_skipped=reviews[p.row].skipped if p.row in reviews else 0)
        if lead.enrichment_status != EnrichmentStatus.PENDING:
            enriched.append(outcome)
        else:
            _continue_pipeline(lead.pk)
        outcomes.append(outcome)
    joined = _ingest_row_by_row([(p.row, raw_by_row[p.row]) for p in prepared if p.row in slow], outcomes,
                                source=source, user=user, reason=reason, mode=mode)
    _announce_enriched([o.lead_id for o in enriched + joined])
    outcomes.sort(key=lambda o: o.row)
    return outcomes, list(created)


@dataclass
class BulkReport:
    """Counts per action and the first rejected rows of a bulk import."""

    counts: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    errors: list[RowOutcome] = field(default_factory=list)
    reviews_skipped: int = 0  # review pairs left out by the caps (LEADFLOW_DEDUP_MAX_PAIRS_PER_LEAD / _BATCH)


def leads_import_bulk(
    rows: Iterable[tuple[int, Mapping[str, Any]]], *, source: str = "", user=None, reason: str = "bulk import",
    batch_size: int = 1000, on_batch=None, keep_errors: int = 1000,
) -> BulkReport:
    """Ingest numbered rows batch by batch with ``leads_bulk_ingest``; returns counts and the first errors.

    Under ``revops.base.jobs.jobs_inline`` each batch's leads go through the whole pipeline before the next batch.
    """
    report = BulkReport()
    iterator = iter(rows)
    while batch := list(islice(iterator, batch_size)):
        outcomes, _ = leads_bulk_ingest(batch, source=source, user=user, reason=reason)
        for outcome in outcomes:
            report.rows += 1
            report.reviews_skipped += outcome.reviews_skipped
            report.counts[outcome.action] = report.counts.get(outcome.action, 0) + 1
            if outcome.action == "rejected" and len(report.errors) < keep_errors:
                report.errors.append(outcome)
        if on_batch is not None:
            on_batch(report)
    return report
