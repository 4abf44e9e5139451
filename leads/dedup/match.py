"""Deduplication at ingest: which stored lead an inbound record is, and how sure we are.

Rules, in this order (the first that decides wins):

1. same source and external id → the record updates that lead (``lead_ingest`` checks it first);
2. same normalized e-mail → certain: merge;
3. same E.164 phone and a name similarity at or above ``LEADFLOW_DEDUP_NAME_THRESHOLD`` → certain: merge;
4. weaker evidence → uncertain: the lead is created and a review pair opened for a person to decide:
   the same phone with a dissimilar name (a company switchboard), or a similar name at the same company
   (same company domain or same company name) with no shared identifier.

Uncertain evidence is never merged automatically. Pairs a person marked "not a duplicate" never come back.
Every query here is an indexed equality (email, phone, domain, company_key), so one check against millions of
stored leads stays in the milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from ..choices import MatchRule
from ..models import Lead
from ..selectors import (
    leads_live_matching,
    leads_live_matching_and_erasures,
    leads_live_matching_except,
    leads_live_matching_together,
)
from .keys import company_key
from .names import is_free_email_domain, name_similarity

CANDIDATES_PER_KEY = 50  # a switchboard or a giant company: compare with the newest few only


def name_threshold() -> float:
    return float(getattr(settings, "LEADFLOW_DEDUP_NAME_THRESHOLD", 85.0))


def review_caps() -> tuple[int, int]:
    """How many review pairs one new lead may open, and one batch (LEADFLOW_DEDUP_MAX_PAIRS_PER_LEAD / _BATCH)."""
    return (int(getattr(settings, "LEADFLOW_DEDUP_MAX_PAIRS_PER_LEAD", 10)),
            int(getattr(settings, "LEADFLOW_DEDUP_MAX_PAIRS_PER_BATCH", 2000)))


@dataclass(frozen=True)
class Match:
    lead: Lead
    rule: str
    similarity: float
    certain: bool


def dedup_match(values: dict, *, exclude_id: int | None = None) -> tuple[Match | None, list[Match]]:
    """The certain match of normalized values (or None) and the uncertain candidates for review."""
    return _decided(values, _lookups(values, exclude_id))


def erasure_check_with_dedup() -> bool:
    """Whether the database answers an inbound record's erasure check in its duplicate check's statement
    (PostgreSQL, where the look-ups run as one UNION ALL; SQLite asks before the write transaction begins)."""
    return connection.features.supports_slicing_ordering_in_compound


def dedup_match_checking_erasure(values: dict, erasure_hashes: list[str]) -> tuple[Match | None, list[Match], bool]:
    """``dedup_match`` of a record with an e-mail (:func:`erasure_check_with_dedup` databases), and in the same
    statement whether the record must be refused: its e-mail was erased on request (an erasure is recorded under
    one of ``erasure_hashes``) and no live lead holds it (a person who came back and signed up again is accepted)."""
    found = _lookups(values, None, erasure_hashes)
    refused = bool(found.erased) and not found["email"]
    return (*_decided(values, found), refused)


def _lookups(values: dict, exclude_id: int | None, erasure_hashes: list[str] | None = None) -> _Answers:
    """The answers of the look-ups the rules read (asked together where the database can)."""
    email = values.get("email") or ""
    phone = values.get("phone") or ""
    first, last = values.get("first_name") or "", values.get("last_name") or ""
    domain = values.get("domain") or ""
    key = company_key(values.get("company") or "")
    lookups = []  # (column, value, newest first, limit), in the order the rules read them
    if email:
        lookups.append(("email", email, False, 1))
    if phone:
        lookups.append(("phone", phone, True, CANDIDATES_PER_KEY))
    if first or last:
        # Two indexed look-ups (an OR of two columns defeats the indexes on some databases).
        if domain and not is_free_email_domain(domain):
            lookups.append(("domain", domain, True, CANDIDATES_PER_KEY))
        if key:
            lookups.append(("company_key", key, True, CANDIDATES_PER_KEY))
    return _Answers(lookups, exclude_id, erasure_hashes)


def _decided(values: dict, found: _Answers) -> tuple[Match | None, list[Match]]:
    """The rules, in their order, over the look-ups' answers."""
    email = values.get("email") or ""
    phone = values.get("phone") or ""
    first, last = values.get("first_name") or "", values.get("last_name") or ""
    domain = values.get("domain") or ""

    if email and found["email"]:
        return Match(found["email"][0], MatchRule.EMAIL, 100.0, True), []
    threshold = name_threshold()
    uncertain: list[Match] = []
    if phone:
        best: Match | None = None
        for lead in found["phone"]:
            similarity = name_similarity(first, last, lead.first_name, lead.last_name)
            if similarity >= threshold and (best is None or similarity > best.similarity):
                best = Match(lead, MatchRule.PHONE_NAME, similarity, True)
            elif similarity < threshold:
                uncertain.append(Match(lead, MatchRule.PHONE_ONLY, similarity, False))
        if best is not None:
            return best, []
    seen = {m.lead.pk for m in uncertain}
    for column in ("domain", "company_key"):
        for lead in found[column] if column in found.asked else ():
            if lead.pk in seen:
                continue
            seen.add(lead.pk)
            similarity = name_similarity(first, last, lead.first_name, lead.last_name)
            if similarity >= threshold:
                same_domain = bool(domain) and lead.domain == domain
                rule = MatchRule.NAME_DOMAIN if same_domain else MatchRule.NAME_COMPANY
                uncertain.append(Match(lead, rule, similarity, False))
    return None, uncertain


class _Answers(dict):
    """Each look-up's live leads, by column. Where the database takes a UNION ALL of them and no lead is left out
    (the API's and the import's case), all in one statement compiled once (leads/selectors.py); otherwise each when
    first read, so a certain e-mail match asks nothing more (SQLite, in-process; a stored lead's re-check)."""

    def __init__(self, lookups: list[tuple[str, str, bool, int]], exclude_id: int | None,
                 erasure_hashes: list[str] | None = None) -> None:
        super().__init__()
        self.asked = {lookup[0]: lookup for lookup in lookups}
        self.exclude_id = exclude_id
        self.erased: set[str] = set()  # the erasure hashes found (asked with the look-ups)
        if erasure_hashes:
            answers, self.erased = leads_live_matching_and_erasures(lookups, erasure_hashes)
            self.update(zip(self.asked, answers, strict=True))
        elif exclude_id is None and len(lookups) > 1 and connection.features.supports_slicing_ordering_in_compound:
            self.update(zip(self.asked, leads_live_matching_together(lookups), strict=True))

    def __missing__(self, column: str) -> list[Lead]:
        _, value, newest_first, limit = self.asked[column]
        if self.exclude_id is None:
            answer = leads_live_matching(column, value, newest_first=newest_first, limit=limit)
        else:
            answer = leads_live_matching_except(column, value, newest_first=newest_first, limit=limit,
                                                exclude_id=self.exclude_id)
        self[column] = answer
        return answer
