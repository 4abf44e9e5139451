"""Matching keys stored on leads, so the ingest match rules find candidates with indexed equality look-ups (pure)."""

from .names import normalize_company


def company_key(company: str) -> str:
    """Lower-case company name without punctuation and legal suffixes ("ACME, Inc." → "acme")."""
    return normalize_company(company or "")[:255]
