"""Enrichment: providers that add firmographics to a lead, and the service that applies what they find.

A provider takes a lead and returns the fields it knows (never overwriting what the lead already has). Providers
are tried in order; a provider failure does not stop the others, and the lead goes on through the pipeline with
what we have, flagged for manual enrichment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import transaction
from django.utils import timezone

from . import signals
from .choices import EnrichmentStatus
from .models import CompanyProfile, Lead
from .services import data_quality_score

ENRICHABLE_FIELDS = ("company", "industry", "employees", "annual_revenue", "country", "state", "city")


class EnrichmentError(Exception):
    """A provider could not answer (unreachable, refused, malformed answer)."""


@dataclass
class EnrichmentResult:
    provider: str
    found: dict[str, Any] = field(default_factory=dict)


class EnrichmentProvider(Protocol):
    name: str

    def lookup(self, lead: Lead) -> EnrichmentResult:
        """Return what this provider knows about the lead's company (an empty ``found`` when nothing)."""


class CompanyDirectoryProvider:
    """Firmographics from the company directory (CompanyProfile rows, keyed by domain, importable from CSV)."""

    name = "company_directory"

    def lookup(self, lead: Lead) -> EnrichmentResult:
        if not lead.domain:
            return EnrichmentResult(self.name)
        profile = CompanyProfile.objects.filter(domain=lead.domain).first()
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


def enrichment_providers() -> list[EnrichmentProvider]:
    """The providers to try, in order."""
    return [CompanyDirectoryProvider()]


def lead_enrich(*, lead_id: int) -> str:
    """Enrich one lead and let the pipeline go on.

    Steps: ask each provider (a failing one is noted, the rest still run); fill only empty fields; record the
    status (done, partial, not found, failed → flagged for manual enrichment); send ``lead_enriched`` after
    commit so scoring runs with whatever we have.
    """
    lead = Lead.objects.get(pk=lead_id)
    found: dict[str, Any] = {}
    failures: list[str] = []
    for provider in enrichment_providers():
        try:
            result = provider.lookup(lead)
        except EnrichmentError as exc:
            failures.append(f"{provider.name}: {exc}")
            continue
        for name, value in result.found.items():
            found.setdefault(name, value)
    from .services import size_band_for

    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        filled = []
        for name, value in found.items():
            if name in ENRICHABLE_FIELDS and getattr(lead, name) in (None, ""):
                setattr(lead, name, value)
                filled.append(name)
        if "employees" in filled:
            lead.size_band = size_band_for(lead.employees)
        if failures:
            lead.enrichment_status = EnrichmentStatus.FAILED
            lead.flags = sorted(set(lead.flags) | {"needs_manual_enrichment"})
        elif filled:
            lead.enrichment_status = EnrichmentStatus.DONE
        else:
            lead.enrichment_status = EnrichmentStatus.NOT_FOUND
        lead.enriched_at = timezone.now()
        lead.data_quality = data_quality_score(lead)
        lead._change_reason = "automation:enrichment " + (
            f"filled {', '.join(filled)}" if filled else "nothing new"
        ) + (f"; failed: {'; '.join(failures)}" if failures else "")
        lead.save()
        enriched = bool(filled)
        transaction.on_commit(lambda: signals.lead_enriched.send(sender=Lead, lead_id=lead_id, enriched=enriched))
    return lead.enrichment_status


def lead_enrichment_skipped(lead_id: int) -> None:
    """Enrichment is switched off: note it on the lead and let scoring go on with what we have."""
    Lead.objects.filter(pk=lead_id, enrichment_status=EnrichmentStatus.PENDING).update(
        enrichment_status=EnrichmentStatus.SKIPPED
    )
    transaction.on_commit(lambda: signals.lead_enriched.send(sender=Lead, lead_id=lead_id, enriched=False))


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
        transaction.on_commit(lambda: signals.lead_enriched.send(sender=Lead, lead_id=lead_id, enriched=False))
