"""The duplicate check of a whole batch of rows (the bulk import), with the outcome ``dedup_match`` would give
each row in turn.

One look-up per matching key for the whole batch (e-mails, phones, source ids, company domains and company keys)
instead of a few per row; the rows that may update or merge go back to the caller to be ingested one by one, so
the rules themselves live in one place (``match``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from ..choices import MatchRule
from ..models import Lead, SourceRecord
from .match import CANDIDATES_PER_KEY, name_threshold, review_caps
from .names import is_free_email_domain, name_similarity

_KEYS_PER_STATEMENT = 200  # SQLite allows 500 arms in one compound SELECT


@dataclass
class BatchRow:
    """One normalized row of a batch as the duplicate check reads it: its number, its values (``company_key``
    included) and its source."""

    row: int
    values: dict[str, Any]
    source: str


# A duplicate candidate of a row: a stored lead ("lead", id) or an earlier row of the batch ("row", number), with
# its first and last name and its domain.
Candidate = tuple[str, int, str, str, str]


def _names_by(column: str, keys: set[str]) -> dict[str, list[Candidate]]:
    """Stored live leads per value of an indexed column (domain, company key), newest first, at most
    ``CANDIDATES_PER_KEY`` per value: one ``LIMIT`` per value, read from the column's index, so a company with
    thousands of leads costs no more than one with fifty."""
    found: dict[str, list[Candidate]] = defaultdict(list)
    quote = connection.ops.quote_name
    table, col = quote(Lead._meta.db_table), quote(Lead._meta.get_field(column).column)
    one = (f"SELECT * FROM (SELECT {col}, {quote('id')}, {quote('first_name')}, {quote('last_name')}, "
           f"{quote('domain')} FROM {table} WHERE {col} = %s AND {quote('merged_into_id')} IS NULL "
           f"ORDER BY {quote('id')} DESC LIMIT {CANDIDATES_PER_KEY}) AS k")
    ordered = sorted(keys)
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), _KEYS_PER_STATEMENT):
            chunk = ordered[start:start + _KEYS_PER_STATEMENT]
            cursor.execute(" UNION ALL ".join([one] * len(chunk)), chunk)
            for key, pk, first, last, domain in cursor.fetchall():
                found[key].append(("lead", pk, first, last, domain))
    for candidates in found.values():
        candidates.sort(key=lambda c: -c[1])
    return found


@dataclass
class BatchReview:
    """A row to create with review pairs: its similar candidates as (candidate, similarity, rule)."""

    pairs: list[tuple[Candidate, float, str]]
    skipped: int = 0  # pairs left out by the caps (review_caps), weakest first


def reviews_cap(reviews: dict[int, BatchReview], *, per_lead: int, per_batch: int) -> int:
    """Keep each row's strongest ``per_lead`` pairs, then the batch's strongest ``per_batch``; returns how many were
    left out (each row's ``skipped`` says how many of its own). A large batch of similar names at one domain would
    otherwise open pairs by the tens of thousands, which nobody reviews."""
    skipped = 0
    for review in reviews.values():
        review.pairs.sort(key=lambda pair: -pair[1])
        if len(review.pairs) > per_lead:
            review.skipped += len(review.pairs) - per_lead
            skipped += len(review.pairs) - per_lead
            del review.pairs[per_lead:]
    ranked = sorted(((pair[1], row, index) for row, review in reviews.items() for index, pair in
                     enumerate(review.pairs)), key=lambda item: -item[0])
    dropped: dict[int, set[int]] = defaultdict(set)
    for _, row, index in ranked[per_batch:]:
        dropped[row].add(index)
    for row, indexes in dropped.items():
        review = reviews[row]
        review.pairs = [pair for index, pair in enumerate(review.pairs) if index not in indexes]
        review.skipped += len(indexes)
        skipped += len(indexes)
    return skipped


def batch_duplicates(batch: Sequence[BatchRow]) -> tuple[set[int], dict[int, BatchReview]]:
    """Split the batch by what the duplicate check would do with each row, as ``lead_ingest`` decides it.

    Returns the rows that may update or merge (same e-mail, phone or source id as a stored lead or an earlier row:
    they go through ``lead_ingest`` one by one) and, for the rows to create that have a similar name at the same
    company domain or company (stored or earlier in the batch), the review pairs to open with them. Every other
    row is simply created. The review pairs are capped (``reviews_cap``, strongest first).
    """
    emails = {p.values["email"] for p in batch if p.values.get("email")}
    phones = {p.values["phone"] for p in batch if p.values.get("phone")}
    sources = {(p.source, p.values["external_id"]) for p in batch if p.source and p.values.get("external_id")}
    domains = {p.values["domain"] for p in batch
               if p.values.get("domain") and not is_free_email_domain(p.values["domain"])}
    companies = {p.values["company_key"] for p in batch if p.values.get("company_key")}
    live = Lead.objects.live()
    stored_emails = set(live.filter(email__in=emails).order_by().values_list("email", flat=True)) if emails else set()
    stored_phones = set(live.filter(phone__in=phones).order_by().values_list("phone", flat=True)) if phones else set()
    stored_sources: set[tuple[str, str]] = set()
    for source in {s for s, _ in sources}:
        ids = {e for s, e in sources if s == source}
        stored_sources |= {(source, e) for e in SourceRecord.objects.filter(source=source, external_id__in=ids)
                           .values_list("external_id", flat=True)}
    by_domain = _names_by("domain", domains)
    by_company = _names_by("company_key", companies)
    threshold = name_threshold()
    slow: set[int] = set()
    reviews: dict[int, BatchReview] = {}
    seen_email, seen_phone, seen_source = set(), set(), set()
    batch_domain: dict[str, list[Candidate]] = defaultdict(list)
    batch_company: dict[str, list[Candidate]] = defaultdict(list)
    for p in batch:
        v = p.values
        email, phone = v.get("email") or "", v.get("phone") or ""
        source_key = (p.source, v.get("external_id") or "")
        first, last = v.get("first_name") or "", v.get("last_name") or ""
        domain = v.get("domain") if not is_free_email_domain(v.get("domain") or "") else ""
        company = v.get("company_key") or ""
        conflict = (
            (email and (email in stored_emails or email in seen_email))
            or (phone and (phone in stored_phones or phone in seen_phone))
            or (source_key[1] and (source_key in stored_sources or source_key in seen_source))
        )
        if conflict:
            slow.add(p.row)
        elif first or last:
            # The same look-ups as dedup_match (match.py): by domain, then by company, each candidate once.
            candidates = (batch_domain.get(domain, [])[::-1] + by_domain.get(domain, []) if domain else []) + (
                batch_company.get(company, [])[::-1] + by_company.get(company, []) if company else [])
            pairs, seen = [], set()
            for candidate in candidates:
                if candidate[:2] in seen:
                    continue
                seen.add(candidate[:2])
                similarity = name_similarity(first, last, candidate[2], candidate[3])
                if similarity >= threshold:
                    rule = MatchRule.NAME_DOMAIN if domain and candidate[4] == domain else MatchRule.NAME_COMPANY
                    pairs.append((candidate, similarity, rule))
            if pairs:
                reviews[p.row] = BatchReview(pairs)
        if email:
            seen_email.add(email)
        if phone:
            seen_phone.add(phone)
        if source_key[1]:
            seen_source.add(source_key)
        if p.row not in slow:  # a row merged into another is no candidate of its own
            if domain:
                batch_domain[domain].append(("row", p.row, first, last, v.get("domain") or ""))
            if company:
                batch_company[company].append(("row", p.row, first, last, v.get("domain") or ""))
    per_lead, per_batch = review_caps()
    reviews_cap(reviews, per_lead=per_lead, per_batch=per_batch)
    return slow, reviews

