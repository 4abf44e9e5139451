"""The company directory (CompanyProfile, keyed by domain): the firmographics enrichment reads, kept up to date
by the directory CSV import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..models import CompanyProfile


def company_profile_upsert(*, values: Mapping[str, Any], user=None) -> str:
    """Create or update the directory entry of ``values["domain"]``: "created", "updated" or "unchanged".

    Only the given fields are written, so a column missing from a file (or an empty cell) keeps what is stored.
    """
    domain = values["domain"]
    profile = CompanyProfile.objects.select_for_update().filter(domain=domain).first()
    action = "updated"
    if profile is None:
        profile, action = CompanyProfile(domain=domain), "created"
    changed = False
    for name, value in values.items():
        if getattr(profile, name) != value:
            setattr(profile, name, value)
            changed = True
    if not changed:
        return "unchanged"
    profile.full_clean()
    profile._history_user = user
    profile._change_reason = "company directory CSV import"
    profile.save()
    return action
