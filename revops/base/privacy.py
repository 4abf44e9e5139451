"""Privacy helpers every layer may use: the e-mail hash an erasure is remembered by, and the refusal of a stale
record of an erased person.

``person_erase`` (``revops/top/privacy/``) anonymises a person and keeps only ``email_hash`` in its
``ErasureRecord``. Ingest (one record and bulk) asks ``erased_emails``: a record with that e-mail is refused
unless it carries a fresh ``opt_in`` consent, so an old CSV or a stale sync cannot bring the person back, while the
person signing up again can.
"""

from __future__ import annotations

import hashlib

from .models import ErasureRecord

OPT_IN = "opt_in"  # leads.choices.Consent.OPT_IN (the base imports no app)


def email_normalized(email: str) -> str:
    """The e-mail as leads store it: trimmed, inner spaces removed, lower case."""
    return "".join(str(email or "").split()).lower()


def email_hash(email: str) -> str:
    """SHA-256 of the normalized e-mail: what an erasure keeps instead of the address."""
    return hashlib.sha256(f"leadflow-erasure:{email_normalized(email)}".encode()).hexdigest()


ERASED_REFUSAL = "this person's data was erased on request; only a record with consent opt_in creates them again"


def erased_emails(records: list[dict]) -> set[str]:
    """The e-mails of normalized inbound records that must be refused: erased on request, and the record brings no
    fresh opt-in (one query for a whole batch). The caller still accepts one whose person came back (a live lead
    with the e-mail exists: they signed up again)."""
    candidates = {email_hash(r["email"]): r["email"] for r in records
                  if r.get("email") and r.get("consent") != OPT_IN}
    if not candidates:
        return set()
    known = ErasureRecord.objects.filter(email_hash__in=list(candidates)).values_list("email_hash", flat=True)
    return {candidates[h] for h in known}
