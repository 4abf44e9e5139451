"""Matching keys stored on leads (kept apart from dedup.py, which imports the models)."""

from .dedup_engine import _normalize_company


def company_key(company: str) -> str:
    """Lower-case company name without punctuation and legal suffixes ("ACME, Inc." → "acme")."""
    return _normalize_company(company or "")[:255]
