"""Enrichment: providers that add firmographics to a lead, and the services that apply what they find.

A provider takes a lead and returns the fields it knows (never overwriting what the lead already has). Providers
are tried in order; a provider failure does not stop the others, and the lead goes on through the pipeline with
what we have, flagged for manual enrichment.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import signals
from ..choices import EnrichmentStatus
from ..models import CompanyProfile, EnrichmentProvider, EnrichmentRequest, Lead
from ..normalize import normalize_country, size_band_for
from ..quality import data_quality_score
from ..writes import lead_save_with_history, leads_save_with_history

ENRICHABLE_FIELDS = ("company", "industry", "employees", "annual_revenue", "country", "state", "city")
# What a provider reads of a lead to look it up (a batch reads only these before its locked read of whole leads).
LOOKUP_FIELDS = ("pk", "domain", "email", "company")


class EnrichmentError(Exception):
    """A provider could not answer (unreachable, refused, malformed answer)."""


@dataclass
class EnrichmentResult:
    provider: str
    found: dict[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    name: str

    def lookup(self, lead: Lead, period: str) -> EnrichmentResult:
        """Return what this provider knows about the lead's company (an empty ``found`` when nothing)."""


class CompanyDirectoryProvider:
    """Firmographics from the company directory (CompanyProfile rows, keyed by domain, importable from CSV)."""

    name = "company_directory"

    def lookup(self, lead: Lead, period: str = "initial") -> EnrichmentResult:
        if not lead.domain:
            return EnrichmentResult(self.name)
        return self._result(CompanyProfile.objects.filter(domain=lead.domain).first())

    def lookup_many(self, leads: list[Lead], period: str = "initial") -> dict[int, EnrichmentResult]:
        """What :meth:`lookup` finds for each lead (by primary key), the directory read in one query."""
        domains = {lead.domain for lead in leads if lead.domain}
        profiles = {profile.domain: profile for profile in CompanyProfile.objects.filter(domain__in=domains)}
        return {lead.pk: self._result(profiles.get(lead.domain) if lead.domain else None) for lead in leads}

    def _result(self, profile: CompanyProfile | None) -> EnrichmentResult:
        if profile is None:
            return EnrichmentResult(self.name)
        found = {
            "company": profile.name,
            "industry": profile.industry,
            "employees": profile.employees,
            "annual_revenue": profile.annual_revenue,
            "country": profile.country,
            "state": profile.state,
            "city": profile.city,
        }
        return EnrichmentResult(self.name, {k: v for k, v in found.items() if v not in (None, "")})


def _dotted(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def _coerce(name: str, value: Any) -> Any:
    """A provider's value in the lead field's type (None when it does not fit)."""
    if value in (None, ""):
        return None
    if name == "employees":
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return None
    if name == "annual_revenue":
        try:
            return Decimal(str(value))
        except (InvalidOperation, ValueError):
            return None
    if name == "country":
        return normalize_country(value)[0] or None
    return str(value)[:100]


# The HTTP provider speaks http and https only (urlopen's default opener also reads file://, ftp:// and data:).
ALLOWED_SCHEMES = ("http", "https")
_OPENER = urllib.request.OpenerDirector()
for _handler in (urllib.request.HTTPHandler, urllib.request.HTTPSHandler, urllib.request.HTTPRedirectHandler,
                 urllib.request.HTTPDefaultErrorHandler, urllib.request.HTTPErrorProcessor):
    _OPENER.add_handler(_handler())


def _enrichment_caps() -> tuple[float, int]:
    """The longest timeout (seconds) and the largest answer (bytes) an HTTP provider gets."""
    return (float(getattr(settings, "LEADFLOW_ENRICHMENT_MAX_TIMEOUT", 30)),
            int(getattr(settings, "LEADFLOW_ENRICHMENT_MAX_BYTES", 1024 * 1024)))


class HttpJsonProvider:
    """A generic HTTP JSON provider: GET a URL built from the lead, map fields from the JSON answer.

    Each look-up carries an idempotency key (provider, lead, period) in the ``Idempotency-Key`` header and is
    stored in EnrichmentRequest before its result is used, so a lead is never paid for twice in one period: a
    second run reads the stored answer. Timeouts, connection errors and 5xx answers are retried ``retries``
    times with a short back-off; a 404 is "not found" (stored, not retried); other failures raise
    EnrichmentError.
    """

    def __init__(self, config: EnrichmentProvider):
        self.config = config
        self.name = config.name

    def _url(self, lead: Lead) -> str:
        quote = urllib.parse.quote
        return self.config.url_template.format(domain=quote(lead.domain), email=quote(lead.email),
                                               company=quote(lead.company))

    def _fetch(self, url: str, key: str) -> tuple[int, dict]:
        headers = {"Accept": "application/json", "Idempotency-Key": key, "User-Agent": "Leadflow enrichment"}
        if self.config.auth_header:
            headers[self.config.auth_header] = self.config.auth_value
        if urllib.parse.urlsplit(url).scheme.lower() not in ALLOWED_SCHEMES:
            raise EnrichmentError("the provider URL must start with http:// or https://")
        max_timeout, max_bytes = _enrichment_caps()
        timeout = min(max(self.config.timeout_seconds or 0, 0.5), max_timeout)
        last_error = ""
        for attempt in range(self.config.retries + 1):
            if attempt:
                time.sleep(min(2.0, 0.2 * 2 ** attempt))
            request = urllib.request.Request(url, headers=headers)
            try:
                with _OPENER.open(request, timeout=timeout) as response:  # http(s) only, checked above  # nosec B310
                    body = response.read(max_bytes + 1)
                    if len(body) > max_bytes:
                        raise EnrichmentError(f"the answer is larger than {max_bytes} bytes")
                    return response.status, json.loads(body or b"{}")
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    return 404, {}
                last_error = f"HTTP {exc.code}"
                if exc.code < 500 and exc.code != 429:
                    break
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                last_error = f"unreachable: {getattr(exc, 'reason', exc)}"
            except json.JSONDecodeError as exc:
                last_error = f"answer is not JSON: {exc}"
                break
        raise EnrichmentError(last_error)

    def lookup(self, lead: Lead, period: str = "initial") -> EnrichmentResult:
        if "{domain}" in self.config.url_template and not lead.domain:
            return EnrichmentResult(self.name)
        key = f"{self.config.pk}:{lead.pk}:{period}"
        stored = EnrichmentRequest.objects.filter(idempotency_key=key).first()
        if stored is None or stored.error:
            try:
                status, answer = self._fetch(self._url(lead), key)
            except EnrichmentError as exc:
                EnrichmentRequest.objects.update_or_create(
                    idempotency_key=key, defaults={"provider": self.config, "lead": lead, "error": str(exc)})
                raise
            try:
                stored, _ = EnrichmentRequest.objects.update_or_create(
                    idempotency_key=key,
                    defaults={"provider": self.config, "lead": lead, "status_code": status, "response": answer,
                              "error": ""})
            except IntegrityError:
                stored = EnrichmentRequest.objects.get(idempotency_key=key)
        found = {}
        for name, path in (self.config.field_map or {}).items():
            if name in ENRICHABLE_FIELDS:
                value = _coerce(name, _dotted(stored.response, path))
                if value is not None:
                    found[name] = value
        return EnrichmentResult(self.name, found)


def enrichment_providers() -> list[Provider]:
    """The active providers in order; the company directory alone when none is configured."""
    providers: list[Provider] = []
    for config in EnrichmentProvider.objects.filter(active=True):
        providers.append(HttpJsonProvider(config) if config.kind == EnrichmentProvider.KIND_HTTP
                         else CompanyDirectoryProvider())
    if not EnrichmentProvider.objects.exists():
        providers.append(CompanyDirectoryProvider())
    return providers


def _lookup(providers: list[Provider], lead: Lead, period: str) -> tuple[dict[str, Any], list[str]]:
    """Ask each provider about the lead (a failing one is noted, the rest still run): what was found, what failed."""
    found: dict[str, Any] = {}
    failures: list[str] = []
    for provider in providers:
        try:
            result = provider.lookup(lead, period)
        except EnrichmentError as exc:
            failures.append(f"{provider.name}: {exc}")
            continue
        for name, value in result.found.items():
            found.setdefault(name, value)
    return found, failures


def _lookup_many(providers: list[Provider], leads: list[Lead], period: str
                 ) -> dict[int, tuple[dict[str, Any], list[str]]]:
    """:func:`_lookup` for each lead of a batch (by primary key): a provider that can answer for many at once
    (``lookup_many``, the company directory: one query) does, the others are asked lead by lead."""
    looked_up: dict[int, tuple[dict[str, Any], list[str]]] = {lead.pk: ({}, []) for lead in leads}
    for provider in providers:
        many = getattr(provider, "lookup_many", None)
        if many is None:
            for lead in leads:
                found, failures = _lookup([provider], lead, period)
                looked_up[lead.pk][1].extend(failures)
                for name, value in found.items():
                    looked_up[lead.pk][0].setdefault(name, value)
            continue
        for pk, result in many(leads, period).items():
            for name, value in result.found.items():
                looked_up[pk][0].setdefault(name, value)
    return looked_up


def _apply(lead: Lead, found: dict[str, Any], failures: list[str]) -> bool:
    """Fill the locked lead's empty fields with what was found, record the status, write the changed fields with
    the lead's history row (``leads.writes``: two statements, the row django-simple-history would write); returns
    whether anything was filled."""
    changed, reason, filled = _applied(lead, found, failures)
    lead_save_with_history(lead, changed, reason=reason)
    return filled


def _applied(lead: Lead, found: dict[str, Any], failures: list[str]) -> tuple[list[str], str, bool]:
    """What :func:`_apply` sets on the lead, in memory: the fields to write, the history reason, whether anything
    was filled."""
    filled = []
    for name, value in found.items():
        if name in ENRICHABLE_FIELDS and getattr(lead, name) in (None, ""):
            setattr(lead, name, value)
            filled.append(name)
    changed = [*filled, "enrichment_status", "enriched_at", "data_quality"]
    if "employees" in filled:
        lead.size_band = size_band_for(lead.employees)
        changed.append("size_band")
    if failures:
        lead.enrichment_status = EnrichmentStatus.PARTIAL if filled else EnrichmentStatus.FAILED
        lead.flags = sorted(set(lead.flags) | {"needs_manual_enrichment"})
        changed.append("flags")
    else:
        lead.enrichment_status = EnrichmentStatus.DONE if filled else EnrichmentStatus.NOT_FOUND
    lead.enriched_at = timezone.now()
    lead.data_quality = data_quality_score(lead)
    reason = "automation:enrichment " + (f"filled {', '.join(filled)}" if filled else "nothing new") + (
        f"; failed: {'; '.join(failures)}" if failures else "")
    return changed, reason, bool(filled)


def lead_enrich(*, lead_id: int, period: str = "initial", announce: bool = True) -> str:
    """Enrich one lead and let the pipeline go on.

    Steps: ask each provider (a failing one is noted, the rest still run); fill only empty fields; record the
    status (done, partial, not found, failed → flagged for manual enrichment); send ``lead_enriched`` after
    commit so scoring runs with whatever we have (``announce=False``: the caller announces it with its batch).
    """
    found, failures = _lookup(enrichment_providers(), Lead.objects.get(pk=lead_id), period)
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        enriched = _apply(lead, found, failures)
        if announce:
            signals.lead_enriched.send(sender=Lead, lead_id=lead_id, enriched=enriched,
                                       scored=lead.scored_at is not None)
    return lead.enrichment_status


def leads_enrich(*, lead_ids: list[int], period: str = "initial") -> dict[str, int]:
    """Enrich a drained micro-batch of leads: what ``lead_enrich`` does for each, with the providers read once,
    the leads read in one query and written in one transaction (the leads that changed the same fields by one update
    and one history insert: ``leads_save_with_history``); each lead is announced (``lead_enriched``) on its
    own, so it goes on through the pipeline as it would alone. The look-ups (remote providers) run before the
    transaction, as for one lead. Returns how many leads ended in each status."""
    providers = enrichment_providers()
    looked_up = _lookup_many(providers, list(Lead.objects.filter(pk__in=lead_ids).only(*LOOKUP_FIELDS)), period)
    statuses: dict[str, int] = {}
    with transaction.atomic():
        leads = list(Lead.objects.select_for_update().filter(pk__in=list(looked_up)).order_by("pk"))
        applied = [(lead, *_applied(lead, *looked_up[lead.pk])) for lead in leads]
        # The leads that changed the same fields are written together: one update and one history insert each set.
        by_fields: dict[tuple[str, ...], list[tuple[Lead, str]]] = {}
        for lead, changed, reason, _ in applied:
            by_fields.setdefault(tuple(changed), []).append((lead, reason))
        for fields, written in by_fields.items():
            leads_save_with_history([lead for lead, _ in written], list(fields),
                                    reasons=[reason for _, reason in written])
        for lead, _, _, enriched in applied:
            signals.lead_enriched.send(sender=Lead, lead_id=lead.pk, enriched=enriched,
                                       scored=lead.scored_at is not None)
            statuses[lead.enrichment_status] = statuses.get(lead.enrichment_status, 0) + 1
    return statuses


def lead_enrichment_skipped(lead_id: int) -> None:
    """Enrichment is switched off: note it on the lead and let scoring go on with what we have."""
    Lead.objects.filter(pk=lead_id, enrichment_status=EnrichmentStatus.PENDING).update(
        enrichment_status=EnrichmentStatus.SKIPPED, updated_at=timezone.now()
    )
    signals.lead_enriched.send(sender=Lead, lead_id=lead_id, enriched=False)


def lead_enrichment_failed(lead_id: int, workflow: str, message: str) -> None:
    """Enrichment crashed: flag the lead for manual enrichment and still let the pipeline go on."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().filter(pk=lead_id).first()
        if lead is None:
            return
        lead.enrichment_status = EnrichmentStatus.FAILED
        lead.flags = sorted(set(lead.flags) | {"needs_manual_enrichment"})
        lead._change_reason = f"automation:enrichment failed: {message}"[:100]
        lead.save(update_fields=["enrichment_status", "flags", "updated_at"])
        signals.lead_enriched.send(sender=Lead, lead_id=lead_id, enriched=False)
