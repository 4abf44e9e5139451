"""Data quality of a lead: how complete and valid its data is, 0–100 (pure: reads a lead's attributes only)."""

from __future__ import annotations

from typing import Any

from .normalize import FLAG_COUNTRY_UNKNOWN, FLAG_INDUSTRY_UNKNOWN, FLAG_PHONE_INVALID

# Flags that say a stored value is unusable: each costs points.
_PENALISED_FLAGS = frozenset({FLAG_PHONE_INVALID, FLAG_COUNTRY_UNKNOWN, FLAG_INDUSTRY_UNKNOWN})


def data_quality_score(lead: Any) -> int:
    """Completeness and validity of a lead, 0–100: key fields present, minus points for each data problem."""
    checks = [
        bool(lead.email), bool(lead.phone), bool(lead.first_name and lead.last_name), bool(lead.company),
        bool(lead.title), bool(lead.country), bool(lead.industry), lead.employees is not None, bool(lead.domain),
        lead.annual_revenue is not None,
    ]
    completeness = 100 * sum(checks) / len(checks)
    penalty = 15 * len([f for f in lead.flags if f in _PENALISED_FLAGS])
    return max(0, min(100, round(completeness - penalty)))
