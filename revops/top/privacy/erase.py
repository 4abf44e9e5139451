"""``person_erase``: anonymise one person, keep what the business counts.

Steps, in one transaction with the person's leads locked:
1. find the leads (``people.person_lead_ids``: by e-mail now or in history, plus every merged lead) and the personal
   values to look for in free text (``people.person_needles``);
2. the leads: identity fields (``PERSONAL_FIELDS``) and free-form columns emptied, the values replaced in every
   other text or JSON column, consent set to opted out (no outreach ever again); stage, score, band, outcome, deal
   value and dates stay; one history row says "erased on request" (written like the SQL fast paths write theirs);
3. their history rows: the same, row by row, including the change reasons;
4. every row of another table about them (found through the foreign keys to ``Lead``) and its history rows: the
   values replaced, free text of the person emptied (event properties, task notes, feedback comments, enrichment
   answers), merge snapshots' identity fields emptied; source ids deleted, so a stale sync cannot find the lead;
5. notifications about them or naming them, the automation log, admin log entries, stored API answers, import
   error samples and webhook bodies that name them: the values replaced; after commit, their rows are dropped from the
   uploaded import files and error files (``import_files.py``);
6. an ``ErasureRecord``: who, when, rows per table, the hash of the e-mail (never the e-mail).
After commit the history is swept once more: a hot path's ``INSERT … SELECT`` that read the lead before the commit
may have copied the old values (``leads/writes.py``).

A second request finds nothing personal left: it changes nothing and its record says ``repeat``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from leads.choices import Consent
from leads.models import Lead, LeadImport
from leads.writes import leads_history_record
from revops.base.models import ApiIdempotencyKey, AutomationLog, ErasureRecord, Notification, WebhookDelivery
from revops.base.privacy import email_hash, email_hashes, email_normalized
from revops.top.dashboard_facts import lead_facts_rebuild_leads

from .import_files import import_files_scrub
from .people import (
    FREE_FORM_FIELDS,
    PERSONAL_FIELDS,
    history_model,
    object_types,
    person_lead_ids,
    person_needles,
    person_rows,
)
from .scrub import Scrubber

ERASURE_REASON = "privacy: personal data erased on request"

# Free text written about the person in other tables: emptied, not searched (it may name them in any words).
EMPTIED = {
    "leads.LeadEvent": {"properties": {}},
    "leads.EnrichmentRequest": {"response": {}},
    "routing.Task": {"outcome_note": "", "reassign_reason": ""},
    "scoring.ScoreFeedback": {"comment": ""},
}
DELETED = {"leads.SourceRecord"}  # the source's id of the person: kept, it would match a stale sync again
HISTORY_EMPTIED = {**{name: "" for name in PERSONAL_FIELDS}, **{name: {} for name in FREE_FORM_FIELDS}}
LEAD_EMPTIED = {**HISTORY_EMPTIED, "consent": Consent.OPT_OUT}


@dataclass
class ErasureResult:
    """What one request did; ``repeat``: nothing personal was left (an earlier request erased it)."""

    record: ErasureRecord
    lead_ids: list[int]
    counts: dict[str, int]
    repeat: bool
    hashes: list[str]  # every hash an earlier erasure of the e-mail may carry (``email_hashes``)

    @property
    def message(self) -> str:
        if self.repeat and ErasureRecord.objects.filter(email_hash__in=self.hashes, pk__lt=self.record.pk).exists():
            return "already erased: nothing personal was left, nothing changed"
        if self.repeat:
            return "nothing stored about this e-mail, nothing changed"
        total = sum(self.counts.values())
        return f"erased: {len(self.lead_ids)} lead(s), {total} row(s) anonymised, purged or deleted"


def _text_columns(model: type[models.Model]) -> list[str]:
    """The columns that may hold personal text: strings and JSON (not choices, not keys)."""
    return [f.attname for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.JSONField) and not f.choices
            and not f.is_relation]


def _unique_replacement(value: str) -> str:
    """A unique column (an idempotency key) that named the person: a hash keeps it unique and says nothing."""
    return "erased:" + hashlib.sha256(value.encode()).hexdigest()[:48]


def _scrub_queryset(model: type[models.Model], queryset, scrubber: Scrubber,
                    emptied: dict[str, Any] | None = None) -> int:
    """Replace the person's values in every text column of these rows (``emptied`` columns are set outright);
    returns how many rows changed. Plain UPDATEs: no signal, no new history row (the history is purged too)."""
    columns = _text_columns(model)
    emptied = {name: value for name, value in (emptied or {}).items() if name in {f.attname for f in
                                                                                   model._meta.concrete_fields}}
    unique = {f.attname for f in model._meta.concrete_fields if f.unique}
    pk = model._meta.pk.attname
    changed = 0
    # Read first, then update: SQLite must not update a table a cursor still walks.
    for row in list(queryset.values(pk, *columns, *[n for n in emptied if n not in columns])):
        update = {}
        for name in columns:
            value = row[name]
            new = scrubber.value(value)
            if name in unique and new != value and isinstance(value, str):
                new = _unique_replacement(value)
            if new != value:
                update[name] = new
        update.update({name: value for name, value in emptied.items() if row[name] != value})
        if update:
            model._default_manager.filter(**{pk: row[pk]}).update(**update)
            changed += 1
    return changed


def _merge_log_emptied(queryset) -> int:
    """Merge logs keep both leads' snapshots and field decisions: their identity fields are emptied."""
    changed = 0
    for log in queryset:
        before = (log.survivor_before, log.merged_snapshot, log.decisions)
        log.survivor_before = {k: ("" if k in PERSONAL_FIELDS else v) for k, v in log.survivor_before.items()}
        log.merged_snapshot = {k: ("" if k in PERSONAL_FIELDS else v) for k, v in log.merged_snapshot.items()}
        log.decisions = [{**d, "survivor": "", "merged": ""} | ({"value": ""} if "value" in d else {})
                         if d.get("field") in PERSONAL_FIELDS else d for d in log.decisions]
        if (log.survivor_before, log.merged_snapshot, log.decisions) != before:
            type(log).objects.filter(pk=log.pk).update(survivor_before=log.survivor_before,
                                                        merged_snapshot=log.merged_snapshot, decisions=log.decisions)
            changed += 1
    return changed


def _history_purge(model: type[models.Model], pks: list[int], scrubber: Scrubber, emptied: dict | None) -> int:
    history = history_model(model)
    if history is None or not pks:
        return 0
    rows = history.objects.filter(**{f"{model._meta.pk.attname}__in": pks})
    return _scrub_queryset(history, rows, scrubber, emptied)


def _mentioning(queryset, column: str, needles: list[str]):
    """Rows whose JSON column names one of the distinctive needles (e-mail, phone, full name)."""
    distinctive = [n for n in needles if "@" in n or n.startswith("+") or " " in n]
    if not distinctive:
        return queryset.none()
    query = Q()
    for needle in distinctive:
        query |= Q(_as_text__icontains=needle)
    return queryset.annotate(_as_text=Cast(column, TextField())).filter(query)


def _add(counts: dict[str, int], label: str, n: int) -> None:
    if n:
        counts[label] = counts.get(label, 0) + n


def _erase_rows(lead_ids: list[int], needles: list[str], scrubber: Scrubber) -> dict[str, int]:
    counts: dict[str, int] = {}
    rows = person_rows(lead_ids, needles)
    leads = Lead.objects.filter(pk__in=lead_ids)
    _add(counts, "leads.Lead", _scrub_queryset(Lead, leads, scrubber, LEAD_EMPTIED))
    _add(counts, "leads.Lead history", _history_purge(Lead, lead_ids, scrubber, HISTORY_EMPTIED))
    for model, pks in rows.related.items():
        label = model._meta.label
        queryset = model._default_manager.filter(pk__in=pks)
        if label in DELETED:
            _add(counts, f"{label} deleted", queryset.delete()[0])
            continue
        if label == "leads.MergeLog":
            _add(counts, label, _merge_log_emptied(queryset))
        _add(counts, label, _scrub_queryset(model, queryset, scrubber, EMPTIED.get(label)))
        _add(counts, f"{label} history", _history_purge(model, pks, scrubber, EMPTIED.get(label)))
    notifications = Notification.objects.filter(pk__in=rows.notification_ids)
    _add(counts, "revops.Notification", _scrub_queryset(Notification, notifications, scrubber))
    _add(counts, "revops.Notification history", _history_purge(Notification, rows.notification_ids, scrubber, None))
    about = Q(object_type="lead", object_id__in=lead_ids)
    entries = Q(content_type=ContentType.objects.get_for_model(Lead), object_id__in=[str(i) for i in lead_ids])
    for model, pks in rows.related.items():
        about |= Q(object_type__in=object_types(model), object_id__in=pks)
        entries |= Q(content_type=ContentType.objects.get_for_model(model), object_id__in=[str(i) for i in pks])
    _add(counts, "revops.AutomationLog", _scrub_queryset(AutomationLog, AutomationLog.objects.filter(about),
                                                         scrubber))
    _add(counts, "admin.LogEntry", _scrub_queryset(LogEntry, LogEntry.objects.filter(entries), scrubber))
    # Stored API answers and import error samples are copies of the lead: its identity keys are emptied too.
    copies = Scrubber(scrubber.needles, blank_keys=PERSONAL_FIELDS)
    _add(counts, "revops.ApiIdempotencyKey", _scrub_queryset(
        ApiIdempotencyKey, _mentioning(ApiIdempotencyKey.objects.all(), "response", needles), copies))
    _add(counts, "leads.LeadImport", _scrub_queryset(
        LeadImport, _mentioning(LeadImport.objects.all(), "error_sample", needles), copies))
    # The dashboards' copy of the leads (a queue reason may name the person): rebuilt from the scrubbed leads now,
    # not at the next refresh. A derived copy: not counted (a repeated request still finds nothing to change).
    lead_facts_rebuild_leads(lead_ids)
    # Webhook bodies already sent (or waiting) copy the lead too; a waiting one then goes out without them.
    _add(counts, "revops.WebhookDelivery", _scrub_queryset(
        WebhookDelivery, _mentioning(WebhookDelivery.objects.all(), "body", needles), copies))
    return counts


def person_erase(*, email: str, user=None, via: str = "api") -> ErasureResult:
    """Erase the person with this e-mail (see the module docstring); idempotent. Raises ValueError without an
    e-mail."""
    address = email_normalized(email)
    if not address:
        raise ValueError("email is required")
    with transaction.atomic():
        lead_ids = person_lead_ids(address)
        list(Lead.objects.select_for_update().filter(pk__in=lead_ids).order_by("pk").values_list("pk", flat=True))
        needles = person_needles(lead_ids, address)
        scrubber = Scrubber(needles)
        counts = _erase_rows(lead_ids, needles, scrubber) if lead_ids else {}
        repeat = not counts
        if lead_ids and not repeat:
            leads_history_record([(pk, ERASURE_REASON) for pk in lead_ids], now=timezone.now(),
                                 user_id=getattr(user, "pk", None))
        record = ErasureRecord.objects.create(email_hash=email_hash(address), user=user if getattr(
            user, "pk", None) else None, via=via, lead_ids=lead_ids, counts=counts, repeat=repeat)
    if lead_ids:
        with transaction.atomic():
            Lead.objects.select_for_update().filter(pk__in=lead_ids).exists()
            _history_purge(Lead, lead_ids, scrubber, HISTORY_EMPTIED)
        # Files are not transactional: they change only once the erasure has committed.
        dropped = import_files_scrub(needles)
        if dropped:
            counts = {**counts, "leads.LeadImport file rows dropped": dropped}
            record.counts = counts
            record.save(update_fields=["counts"])
    return ErasureResult(record=record, lead_ids=lead_ids, counts=counts, repeat=repeat, hashes=email_hashes(address))
