"""Privacy helpers every layer may use: the e-mail hash an erasure is remembered by, and the refusal of a stale
record of an erased person.

``person_erase`` (``revops/top/privacy/``) anonymises a person and keeps only ``email_hash`` (keyed with the
install's own key) in its ``ErasureRecord``. Ingest (one record and bulk) asks ``erased_emails``: a record with that
e-mail is refused unless it carries a fresh ``opt_in`` consent, so an old CSV or a stale sync cannot bring the person
back, while the person signing up again can.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from .db.sql import rows_compiled_once
from .models import ErasureRecord, InstallSecret

OPT_IN = "opt_in"  # leads.choices.Consent.OPT_IN (the base imports no app)


def email_normalized(email: str) -> str:
    """The e-mail as leads store it: trimmed, inner spaces removed, lower case."""
    return "".join(str(email or "").split()).lower()


ERASURE_KEY = "erasure-email-key"


@functools.cache
def erasure_key() -> bytes:
    """The install's key of the erasure hash: made by migration ``revops 0017`` (or here, once, on a database
    that lacks it), read once per process."""
    row, _ = InstallSecret.objects.get_or_create(name=ERASURE_KEY, defaults={"value": secrets.token_hex(32)})
    return row.value.encode()


def email_hash(email: str) -> str:
    """HMAC-SHA256 of the normalized e-mail with the install's own key: what an erasure keeps instead of the address.
    Keyed per install, so a table of hashes of known addresses made for one install says nothing about another's."""
    return hmac.new(erasure_key(), email_normalized(email).encode(), hashlib.sha256).hexdigest()


def email_hash_unkeyed(email: str) -> str:
    """The hash of erasures recorded before the install had its key (a fixed prefix, the same on every install):
    still matched, so a person erased then stays erased."""
    return hashlib.sha256(f"leadflow-erasure:{email_normalized(email)}".encode()).hexdigest()


def email_hashes(email: str) -> list[str]:
    """Every hash an erasure of ``email`` may be recorded under (the keyed one first)."""
    return [email_hash(email), email_hash_unkeyed(email)]


ERASED_REFUSAL = "this person's data was erased on request; only a record with consent opt_in creates them again"


def erasure_hashes_to_check(record: dict) -> list[str]:
    """The hashes a normalized inbound record's e-mail is looked up under in the erasure records: none when it has
    no e-mail or brings a fresh opt-in (a person who asked to be erased comes back only by opting in)."""
    return email_hashes(record["email"]) if record.get("email") and record.get("consent") != OPT_IN else []


def erased_emails(records: list[dict]) -> set[str]:
    """The e-mails of normalized inbound records that must be refused: erased on request, and the record brings no
    fresh opt-in (one query for a whole batch). The caller still accepts one whose person came back (a live lead
    with the e-mail exists: they signed up again). On PostgreSQL the API's one record is checked in its duplicate
    check's statement instead (``leads.dedup.match.dedup_match_checking_erasure``)."""
    candidates = {digest: r["email"] for r in records for digest in erasure_hashes_to_check(r)}
    if not candidates:
        return set()
    hashes = list(candidates)
    if len(hashes) == 2:  # one record (every lead the API takes): the statement compiled once per process
        known = [row[0] for row in rows_compiled_once(
            "erasures of one e-mail",
            lambda: ErasureRecord.objects.filter(email_hash__in=["", "-"]).values_list("email_hash"), hashes)]
    else:
        known = ErasureRecord.objects.filter(email_hash__in=hashes).values_list("email_hash", flat=True)
    return {candidates[h] for h in known}
