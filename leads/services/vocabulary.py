"""The industry vocabulary (IndustryTerm: synonym → canonical name), cached for a few seconds per process.

The normalizers are pure: ingest and the CSV import read the vocabulary here and pass it in.
"""

from __future__ import annotations

import time

from ..models import IndustryTerm

# The vocabulary a fresh install starts with (canonical → synonyms); migrate creates what is missing, marked default.
DEFAULT_INDUSTRY_VOCABULARY = {
    "Technology": ["software", "saas", "it services", "tech", "information technology", "cloud"],
    "Financial Services": ["banking", "fintech", "insurance", "finance"],
    "Healthcare": ["health care", "medical", "pharma", "biotech"],
    "Manufacturing": ["industrial", "automotive", "machinery"],
    "Retail": ["e-commerce", "ecommerce", "consumer goods"],
    "Education": ["edtech", "higher education", "schools"],
    "Media": ["publishing", "advertising", "entertainment"],
}

_vocabulary_cache: tuple[float, dict[str, str]] | None = None
VOCABULARY_TTL_SECONDS = 30.0


def industry_vocabulary() -> dict[str, str]:
    """The controlled industry vocabulary (synonym → canonical), cached for a few seconds per process."""
    global _vocabulary_cache
    now = time.monotonic()
    if _vocabulary_cache is None or now - _vocabulary_cache[0] > VOCABULARY_TTL_SECONDS:
        mapping = {}
        for synonym, canonical in IndustryTerm.objects.values_list("synonym", "canonical"):
            mapping[synonym.lower()] = canonical
            mapping.setdefault(canonical.lower(), canonical)
        _vocabulary_cache = (now, mapping)
    return _vocabulary_cache[1]


def industry_vocabulary_clear() -> None:
    """Forget the cached vocabulary (after an admin edit)."""
    global _vocabulary_cache
    _vocabulary_cache = None



def industry_vocabulary_defaults_ensure() -> int:
    """Create the default vocabulary's missing terms (marked default); an edited or deleted-and-recreated term is
    left as the admin has it. Returns how many terms were created."""
    existing = set(IndustryTerm.objects.values_list("synonym", flat=True))
    created = 0
    for canonical, synonyms in DEFAULT_INDUSTRY_VOCABULARY.items():
        for synonym in [canonical.lower(), *synonyms]:
            if synonym not in existing:
                term = IndustryTerm(synonym=synonym, canonical=canonical, is_default=True)
                term._change_reason = "default vocabulary (migrate)"
                term.full_clean()
                term.save()
                existing.add(synonym)
                created += 1
    if created:
        industry_vocabulary_clear()
    return created
