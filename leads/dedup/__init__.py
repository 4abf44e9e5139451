"""Deduplication of leads: the ingest match rules, the weekly full-database scan, and the engine behind both.

- ``names``: how people and companies are compared (``name_similarity``, ``normalize_company``, free-mail domains);
- ``keys``: matching keys stored on leads (``company_key``);
- ``match``: the ingest match rules (``dedup_match``, ``name_threshold``), read with indexed look-ups;
- ``batch``: the same check for a whole batch of rows at once (the bulk import);
- ``columns``, ``blocks``, ``engine``: the pure scan engine (``find_duplicate_pairs`` over ``DedupRecord`` rows);
- ``scan``: the scheduled scan that streams every live lead through the engine and opens review pairs.

``names``, ``keys`` and the engine modules import no Django models, so they run and benchmark alone; this package
re-exports them only. ``match``, ``batch`` and ``scan`` read the database: import them by their module path.
"""

from .columns import DedupRecord
from .engine import REASONS, CandidatePair, find_duplicate_pairs
from .keys import company_key
from .names import FREE_EMAIL_DOMAINS, name_similarity

__all__ = [
    "FREE_EMAIL_DOMAINS",
    "REASONS",
    "CandidatePair",
    "DedupRecord",
    "company_key",
    "find_duplicate_pairs",
    "name_similarity",
]
