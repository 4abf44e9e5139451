"""The industry vocabulary (IndustryTerm: synonym → canonical name), cached for a few seconds per process.

The normalizers are pure: ingest and the CSV import read the vocabulary here and pass it in.
"""

from __future__ import annotations

import time

from ..models import IndustryTerm

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

