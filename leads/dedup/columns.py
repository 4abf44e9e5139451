"""The scan's input records and their columnar form: every record streamed once into compact numpy columns
with its blocking keys (pure: no Django, no models).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass

import jellyfish
import numpy as np
from rapidfuzz import utils

from .names import blocking_domain, first_part, name_forms, normalize_company

NAME_KEYS = 4


@dataclass(slots=True, frozen=True)
class DedupRecord:
    """One stored lead, already normalized (lower-case e-mail, E.164 phone, alpha strings); any field may be empty."""

    id: int
    email: str
    phone: str
    first_name: str
    last_name: str
    company: str
    domain: str


@dataclass(slots=True)
class Columns:
    """All per-record state of a scan, one numpy array per attribute; row ``i`` is the ``i``-th input record.

    Strings that must be compared are shared, not copied: ``name`` / ``abbr`` hold one string object per
    distinct (first, last) combination (None for a nameless lead), companies are interned to ids into
    ``company_names``. Attributes only compared for equality (e-mail, phone, domain) are kept as 64-bit string
    hashes, 0 meaning "missing". Python's 64-bit SipHash makes a false equality between two of 1M distinct values
    about a 3e-8 event per scan, and a collision only adds one pair to a human review queue, so keeping the
    strings is not worth their ~100 MB. ``name_keys`` holds ``NAME_KEYS`` name blocking keys per record (see
    ``ingest_columns``), 0 where a record has none.
    """

    ids: np.ndarray
    email: np.ndarray
    phone: np.ndarray
    domain: np.ndarray
    company: np.ndarray
    company_rank: np.ndarray
    company_names: np.ndarray
    company_lengths: np.ndarray
    name: np.ndarray
    abbr: np.ndarray
    initial: np.ndarray
    name_rank: np.ndarray
    name_keys: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def _ranks(values: list[str]) -> np.ndarray:
    """Return the lexicographic rank of every string in ``values`` (ties are broken by position)."""
    order = sorted(range(len(values)), key=values.__getitem__)
    rank = np.empty(len(values), dtype=np.int32)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(values), dtype=np.int32)
    return rank


def _mix(tag: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Combine a tag and two integer columns into one 64-bit blocking key per row (wrapping multiply-xor hash).

    A collision merely puts two unrelated records in one block, where they are scored and dropped, so a fast
    non-cryptographic mix is enough.
    """
    h = np.uint64((tag * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF) + a.astype(np.int64).view(np.uint64)
    h = (h ^ (h >> np.uint64(31))) * np.uint64(0xBF58476D1CE4E5B9) + b.astype(np.int64).view(np.uint64)
    h = (h ^ (h >> np.uint64(29))) * np.uint64(0x94D049BB133111EB)
    return (h ^ (h >> np.uint64(32))).view(np.int64)


class _Tokens:
    """Interned name parts of one side (first or last names): processed text, metaphone id and initial."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.part: list[str] = []
        self.metaphone: list[int] = []
        self.initial: list[int] = []

    def add(self, raw: str, part: str, metaphones: dict[str, int]) -> int:
        """Intern ``raw`` (already processed into ``part``) and return its token id."""
        code = self.index[raw] = len(self.part)
        self.part.append(part)
        mp = jellyfish.metaphone(part) if part else ""
        self.metaphone.append(metaphones.setdefault(mp, len(metaphones) + 1) if mp else 0)
        self.initial.append(ord(part[0]) if part else 0)
        return code


def ingest_columns(records: Iterable[DedupRecord]) -> Columns:
    """Stream the records once into compact columns.

    Steps:
    1. Per record (the only Python loop over records): hash e-mail and phone, look up the hashed non-free
       domain, the interned normalized company and the interned first and last name parts in dicts keyed by
       the raw value (sized by distinct values, far below the record count).
    2. Build each distinct (first, last) combination's comparison forms once (``name_forms``) and spread them
       to records with the inverse index of ``np.unique``.
    3. Build the name blocking keys with numpy, only for records that have both name parts and a company (a
       similar name with nothing shared is never reported, and same-domain pairs have their own pass):
       ``(metaphone(last), first initial)`` and ``(metaphone(first), last initial)``, which coincide across a
       first/last swap; ``(company, metaphone(first))`` and ``(company, metaphone(last))``, which keep a typo in
       the first letter of one part from separating two people at the same big company.
    4. Lexicographic ranks of names and companies, used to order big blocks for sorted-neighbourhood windows.
    """
    ids, email_h, phone_h, domain_h = array("q"), array("q"), array("q"), array("q")
    company_id, first_id, last_id = array("i"), array("i"), array("i")
    company_index: dict[str, int] = {"": 0}
    company_cache: dict[str, int] = {}
    domain_cache: dict[str, int] = {"": 0}
    metaphones: dict[str, int] = {}
    firsts, lasts = _Tokens(), _Tokens()
    first_index, last_index = firsts.index, lasts.index

    for rec in records:
        ids.append(rec.id)
        email = rec.email
        email_h.append(hash(email) if email else 0)
        phone_h.append(hash(rec.phone) if rec.phone else 0)
        raw_domain = rec.domain or email.partition("@")[2]
        dom = domain_cache.get(raw_domain)
        if dom is None:
            blocking = blocking_domain(raw_domain, "")
            dom = domain_cache[raw_domain] = hash(blocking) if blocking else 0
        domain_h.append(dom)
        cid = company_cache.get(rec.company)
        if cid is None:
            cid = company_cache[rec.company] = company_index.setdefault(
                normalize_company(rec.company), len(company_index)
            )
        company_id.append(cid)
        fid = first_index.get(rec.first_name)
        if fid is None:
            fid = firsts.add(rec.first_name, first_part(rec.first_name), metaphones)
        first_id.append(fid)
        lid = last_index.get(rec.last_name)
        if lid is None:
            lid = lasts.add(rec.last_name, utils.default_process(rec.last_name), metaphones)
        last_id.append(lid)

    del company_cache, domain_cache, metaphones, first_index, last_index
    fids = np.frombuffer(first_id, dtype=np.int32)
    lids = np.frombuffer(last_id, dtype=np.int32)
    combos, inverse = np.unique((fids.astype(np.int64) << 32) | lids, return_inverse=True)
    keys: list[str] = []
    abbrs: list[str] = []
    initials: list[bool] = []
    for combo in combos.tolist():
        key, abbr, has_initial = name_forms(firsts.part[combo >> 32], lasts.part[combo & 0xFFFFFFFF])
        keys.append(key)
        abbrs.append(abbr)
        initials.append(has_initial)
    name_rank = _ranks(keys)[inverse]
    # rapidfuzz scores None as 0 against anything (and "" vs "" as 100): a nameless lead matches no one.
    names = np.array([key or None for key in keys], dtype=object)[inverse]
    del keys
    abbr = np.array([key or None for key in abbrs], dtype=object)[inverse]
    del abbrs
    initial = np.array(initials, dtype=np.bool_)[inverse]
    del initials, combos, inverse

    # frombuffer shares the ``array`` buffers instead of copying them; nothing appends to them any more.
    company = np.frombuffer(company_id, dtype=np.int32)
    domain = np.frombuffer(domain_h, dtype=np.int64)
    f_mp = np.array(firsts.metaphone, dtype=np.int64)[fids]
    l_mp = np.array(lasts.metaphone, dtype=np.int64)[lids]
    f_init = np.array(firsts.initial, dtype=np.int64)[fids]
    l_init = np.array(lasts.initial, dtype=np.int64)[lids]
    named = (f_init != 0) & (l_init != 0)
    by_company = named & (company != 0)
    name_keys = np.zeros((len(company), NAME_KEYS), dtype=np.int64)
    name_keys[:, 0] = np.where(by_company & (l_mp != 0), _mix(1, l_mp, f_init), 0)
    name_keys[:, 1] = np.where(by_company & (f_mp != 0), _mix(1, f_mp, l_init), 0)
    name_keys[:, 2] = np.where(by_company & (f_mp != 0), _mix(2, company, f_mp), 0)
    name_keys[:, 3] = np.where(by_company & (l_mp != 0), _mix(2, company, l_mp), 0)
    del f_mp, l_mp, f_init, l_init, named, by_company

    company_names = list(company_index)
    return Columns(
        ids=np.frombuffer(ids, dtype=np.int64),
        email=np.frombuffer(email_h, dtype=np.int64),
        phone=np.frombuffer(phone_h, dtype=np.int64),
        domain=domain,
        company=company,
        company_rank=_ranks(company_names)[company],
        company_names=np.array(company_names, dtype=object),
        company_lengths=np.array([len(name) for name in company_names], dtype=np.int32),
        name=names,
        abbr=abbr,
        initial=initial,
        name_rank=name_rank,
        name_keys=name_keys,
    )

