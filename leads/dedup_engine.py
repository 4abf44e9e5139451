"""Full-database probable-duplicate scan for leads (the weekly review-queue job).

Exact-key deduplication at ingest is done elsewhere with database indexes. This module finds the *probable*
duplicates those indexes cannot see (typos, swapped or abbreviated names, nicknames, a new e-mail at the same
company, a shared phone) among all stored leads and hands them to a human review queue as ``CandidatePair`` rows.

It is pure Python (numpy, rapidfuzz, jellyfish) and never imports Django: the caller streams ``DedupRecord``
rows read from the database in chunks into ``find_duplicate_pairs`` and writes the pairs it yields.

Scaling idea: never compare all pairs. Each record gets a few compact integer blocking keys; records are grouped
by key, and names are compared only inside a group, with ``rapidfuzz.process.cdist`` (a whole block as one
vectorised matrix) or ``rapidfuzz.process.cpdist`` (many tiny blocks batched as one list of pairs). Groups larger
than ``block_max`` are walked with sorted-neighbourhood windows instead, so the work stays linear in the number of
records. Per-record state lives in numpy arrays, not Python objects, so 1M leads fit in a few hundred MB.
"""

from __future__ import annotations

import random
import string
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import jellyfish
import numpy as np
from rapidfuzz import fuzz, process, utils

__all__ = [
    "FREE_EMAIL_DOMAINS",
    "CandidatePair",
    "DedupRecord",
    "find_duplicate_pairs",
    "generate_synthetic_leads",
    "name_similarity",
    "pair_precision",
    "pair_recall",
]

FREE_EMAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "yahoo.de",
        "ymail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "hotmail.de",
        "outlook.com",
        "outlook.de",
        "live.com",
        "live.co.uk",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "gmx.de",
        "gmx.net",
        "gmx.com",
        "web.de",
        "t-online.de",
        "freenet.de",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "libero.it",
        "yandex.ru",
        "yandex.com",
        "mail.ru",
        "qq.com",
        "163.com",
        "126.com",
        "sina.com",
        "naver.com",
        "rediffmail.com",
        "zoho.com",
        "fastmail.com",
        "tutanota.com",
        "hey.com",
        "mail.com",
        "inbox.com",
    }
)

# Nickname -> formal first name. Both sides of a comparison are mapped before scoring, so "bob smith" and
# "robert smith" compare as identical. Ambiguous short forms ("jon", "al", "jo") are left out on purpose: they
# are as often typos or distinct names as they are nicknames.
NICKNAMES: dict[str, str] = {
    "abby": "abigail",
    "alex": "alexander",
    "andy": "andrew",
    "drew": "andrew",
    "tony": "anthony",
    "becky": "rebecca",
    "beth": "elizabeth",
    "liz": "elizabeth",
    "lizzie": "elizabeth",
    "betty": "elizabeth",
    "ben": "benjamin",
    "bill": "william",
    "billy": "william",
    "will": "william",
    "willie": "william",
    "bob": "robert",
    "bobby": "robert",
    "rob": "robert",
    "robbie": "robert",
    "cathy": "catherine",
    "kate": "katherine",
    "katie": "katherine",
    "kathy": "katherine",
    "charlie": "charles",
    "chuck": "charles",
    "chris": "christopher",
    "dan": "daniel",
    "danny": "daniel",
    "dave": "david",
    "debbie": "deborah",
    "ed": "edward",
    "eddie": "edward",
    "ted": "edward",
    "fred": "frederick",
    "greg": "gregory",
    "hank": "henry",
    "harry": "henry",
    "jack": "john",
    "johnny": "john",
    "jeff": "jeffrey",
    "jen": "jennifer",
    "jenny": "jennifer",
    "jim": "james",
    "jimmy": "james",
    "joe": "joseph",
    "joey": "joseph",
    "josh": "joshua",
    "ken": "kenneth",
    "kenny": "kenneth",
    "larry": "lawrence",
    "maggie": "margaret",
    "meg": "margaret",
    "peggy": "margaret",
    "matt": "matthew",
    "mike": "michael",
    "mikey": "michael",
    "nate": "nathan",
    "nick": "nicholas",
    "pat": "patricia",
    "patty": "patricia",
    "rick": "richard",
    "rich": "richard",
    "dick": "richard",
    "ron": "ronald",
    "ronnie": "ronald",
    "sam": "samuel",
    "steve": "steven",
    "sue": "susan",
    "susie": "susan",
    "tom": "thomas",
    "tommy": "thomas",
    "tim": "timothy",
    "vicky": "victoria",
    "zach": "zachary",
}

# Trailing legal-form words carry no identity: "acme analytics inc" and "acme analytics" are the same company.
COMPANY_SUFFIXES: frozenset[str] = frozenset(
    {
        "ag",
        "bv",
        "co",
        "company",
        "corp",
        "corporation",
        "gmbh",
        "group",
        "holding",
        "holdings",
        "inc",
        "incorporated",
        "kg",
        "limited",
        "llc",
        "llp",
        "ltd",
        "nv",
        "oy",
        "plc",
        "pty",
        "sa",
        "sarl",
        "sas",
        "se",
        "spa",
        "srl",
    }
)

# Reason codes, listed weakest evidence first: the index is the priority used when one pair is found by several
# blocks, so the strongest explanation wins.
REASONS: tuple[str, ...] = (
    "same_phone_different_name",
    "similar_name_same_company",
    "similar_name_same_domain",
    "same_phone_similar_name",
    "same_email",
)
_SAME_PHONE_DIFFERENT_NAME, _SIMILAR_NAME_SAME_COMPANY, _SIMILAR_NAME_SAME_DOMAIN, _SAME_PHONE_SIMILAR_NAME = 0, 1, 2, 3
_SAME_EMAIL = 4

COMPANY_THRESHOLD = 90.0
# An initial ("j smith") only proves the first letter, so a perfect initial match scores a bit below a perfect
# full-name match and a typo on top of an initial falls under the default threshold.
INITIAL_MATCH_WEIGHT = 0.95
# Blocks up to this size are scored as one flat list of pairs with cpdist: a cdist call costs ~20 us of fixed
# overhead, more than scoring a dozen pairs, and most blocks have two or three members.
_SMALL_BLOCK = 12
_PAIR_CHUNK = 1 << 20
_NAME_KEYS = 4
# Below this many cells the thread hand-off of a multi-worker rapidfuzz call costs more than it saves.
_PARALLEL_MIN_CELLS = 1 << 16


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


@dataclass(slots=True, frozen=True)
class CandidatePair:
    """A probable duplicate for the review queue; ``lead_id < other_lead_id`` and ``similarity`` is 0..100."""

    lead_id: int
    other_lead_id: int
    similarity: float
    reason: str


# ---------------------------------------------------------------------------------------------------------------
# Name and company normalization
# ---------------------------------------------------------------------------------------------------------------


def _first_part(first: str) -> str:
    """Processed first name: ``utils.default_process``, then a nickname mapped to its formal name."""
    processed = utils.default_process(first)
    return NICKNAMES.get(processed, processed)


def _name_parts(first: str, last: str) -> tuple[str, str]:
    """Processed ``(first, last)`` as compared by ``name_similarity`` and the scan."""
    return _first_part(first), utils.default_process(last)


def _name_forms(first: str, last: str) -> tuple[str, str, bool]:
    """Return the comparison forms of processed name parts: ``(sorted_key, abbreviated_key, has_initial)``.

    Steps:
    1. ``sorted_key`` is all tokens sorted and space-joined, so ``fuzz.ratio`` on it equals
       ``fuzz.token_sort_ratio`` and swapped first/last names compare as equal.
    2. If either part is a single letter (an initial, in either position), ``abbreviated_key`` is that letter
       followed by the other part; otherwise it is the first letter of the first name followed by the last name.
       Comparing abbreviated keys lets "j smith" match "john smith" and "smith j".
    """
    if not first or not last:
        key = first or last
        return key, key, False
    if " " in first or " " in last:
        key = " ".join(sorted(first.split() + last.split()))
    else:
        key = f"{first} {last}" if first <= last else f"{last} {first}"
    if len(last) == 1 and len(first) > 1:
        return key, f"{last} {first}", True
    return key, f"{first[0]} {last}", len(first) == 1


def name_similarity(a_first: str, a_last: str, b_first: str, b_last: str) -> float:
    """Similarity 0..100 of two person names, robust to swapped parts, initials, nicknames and typos.

    Steps:
    1. Process both names and build their comparison forms (see ``_name_parts``, ``_name_forms``); an empty
       name scores 0.
    2. Score ``fuzz.ratio`` of the sorted-token keys (i.e. ``token_sort_ratio`` after nickname mapping).
    3. When either side is an initial, also score the abbreviated keys, weighted by ``INITIAL_MATCH_WEIGHT``,
       and keep the higher score.

    ``find_duplicate_pairs`` computes exactly this formula, vectorised over blocks.
    """
    a_key, a_abbr, a_init = _compared_forms(a_first, a_last)
    b_key, b_abbr, b_init = _compared_forms(b_first, b_last)
    if not a_key or not b_key:
        return 0.0
    score = fuzz.ratio(a_key, b_key)
    if a_init or b_init:
        score = max(score, INITIAL_MATCH_WEIGHT * fuzz.ratio(a_abbr, b_abbr))
    return float(score)


@lru_cache(maxsize=65536)
def _compared_forms(first: str, last: str) -> tuple[str, str, bool]:
    """``_name_forms(*_name_parts(first, last))``, kept for the names seen last: an import compares each new name
    with up to ``CANDIDATES_PER_KEY`` stored ones per key, and names repeat."""
    return _name_forms(*_name_parts(first, last))


def _normalize_company(company: str) -> str:
    """Lower-case, strip punctuation and drop trailing legal-form words ("acme analytics inc" -> "acme analytics")."""
    tokens = utils.default_process(company).split()
    while len(tokens) > 1 and tokens[-1] in COMPANY_SUFFIXES:
        tokens.pop()
    return " ".join(tokens)


def _blocking_domain(domain: str, email: str) -> str:
    """Return the organisation domain of a lead (its ``domain`` field, else its e-mail's), or "" for free mail."""
    dom = domain.strip().lower().removeprefix("www.")
    if not dom:
        dom = email.partition("@")[2]
    return "" if dom in FREE_EMAIL_DOMAINS else dom


# ---------------------------------------------------------------------------------------------------------------
# Columnar ingest
# ---------------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Columns:
    """All per-record state of a scan, one numpy array per attribute; row ``i`` is the ``i``-th input record.

    Strings that must be compared are shared, not copied: ``name`` / ``abbr`` hold one string object per
    distinct (first, last) combination (None for a nameless lead), companies are interned to ids into
    ``company_names``. Attributes only compared for equality (e-mail, phone, domain) are kept as 64-bit string
    hashes, 0 meaning "missing". Python's 64-bit SipHash makes a false equality between two of 1M distinct values
    about a 3e-8 event per scan, and a collision only adds one pair to a human review queue, so keeping the
    strings is not worth their ~100 MB. ``name_keys`` holds ``_NAME_KEYS`` name blocking keys per record (see
    ``_ingest``), 0 where a record has none.
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


def _ingest(records: Iterable[DedupRecord]) -> _Columns:
    """Stream the records once into compact columns.

    Steps:
    1. Per record (the only Python loop over records): hash e-mail and phone, look up the hashed non-free
       domain, the interned normalized company and the interned first and last name parts in dicts keyed by
       the raw value (sized by distinct values, far below the record count).
    2. Build each distinct (first, last) combination's comparison forms once (``_name_forms``) and spread them
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
            blocking = _blocking_domain(raw_domain, "")
            dom = domain_cache[raw_domain] = hash(blocking) if blocking else 0
        domain_h.append(dom)
        cid = company_cache.get(rec.company)
        if cid is None:
            cid = company_cache[rec.company] = company_index.setdefault(
                _normalize_company(rec.company), len(company_index)
            )
        company_id.append(cid)
        fid = first_index.get(rec.first_name)
        if fid is None:
            fid = firsts.add(rec.first_name, _first_part(rec.first_name), metaphones)
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
        key, abbr, has_initial = _name_forms(firsts.part[combo >> 32], lasts.part[combo & 0xFFFFFFFF])
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
    name_keys = np.zeros((len(company), _NAME_KEYS), dtype=np.int64)
    name_keys[:, 0] = np.where(by_company & (l_mp != 0), _mix(1, l_mp, f_init), 0)
    name_keys[:, 1] = np.where(by_company & (f_mp != 0), _mix(1, f_mp, l_init), 0)
    name_keys[:, 2] = np.where(by_company & (f_mp != 0), _mix(2, company, f_mp), 0)
    name_keys[:, 3] = np.where(by_company & (l_mp != 0), _mix(2, company, l_mp), 0)
    del f_mp, l_mp, f_init, l_init, named, by_company

    company_names = list(company_index)
    return _Columns(
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


# ---------------------------------------------------------------------------------------------------------------
# Blocking and vectorised scoring
# ---------------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Blocks:
    """Records grouped by a blocking key: ``members[starts[b] : starts[b] + sizes[b]]`` is block ``b``.

    Inside a block, members are in the order of the per-record order column, which is the sorted-neighbourhood
    order used when the block is too big to compare all pairs.
    """

    members: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray

    def subset(self, keep: np.ndarray) -> _Blocks:
        """Return only the blocks selected by the boolean mask ``keep``."""
        return _Blocks(self.members, self.starts[keep], self.sizes[keep])


def _group(keys: np.ndarray, order: np.ndarray) -> _Blocks:
    """Group records by blocking key; ``keys`` holds one or more key columns of all records end to end.

    Entry ``e`` of ``keys`` belongs to record ``e % len(order)``, so a record can sit in several blocks of the
    same key space (the swap-matching name keys). Steps: drop missing keys (0); ``lexsort`` by key, then by the
    per-record ``order`` column, which puts the members of every block in sorted-neighbourhood order; cut the
    sorted run at every key change; keep blocks of two or more members.
    """
    entries = np.flatnonzero(keys)
    keys = keys[entries]
    rows = entries % len(order)
    del entries
    sort = np.lexsort((order[rows], keys))
    keys, rows = keys[sort], rows[sort]
    del sort
    if len(keys) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return _Blocks(rows, empty, empty)
    starts = np.concatenate(([0], np.flatnonzero(keys[1:] != keys[:-1]) + 1))
    sizes = np.diff(np.append(starts, len(keys)))
    multi = sizes >= 2
    return _Blocks(rows, starts[multi], sizes[multi])


_TRIU_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _triu(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Cached ``np.triu_indices(size, 1)``: the (row, column) positions of all unordered pairs of a block."""
    pairs = _TRIU_CACHE.get(size)
    if pairs is None:
        pairs = _TRIU_CACHE[size] = np.triu_indices(size, 1)
    return pairs


def _all_pairs(blocks: _Blocks) -> tuple[np.ndarray, np.ndarray]:
    """Every unordered pair inside every block, generated without a Python loop over blocks.

    Steps: for each distinct block size ``s``, broadcast the block starts against the cached upper-triangle
    offsets of an ``s x s`` matrix, then map positions to record rows. The caller bounds ``s`` (``block_max``).
    """
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    for size in np.unique(blocks.sizes):
        starts = blocks.starts[blocks.sizes == size][:, None]
        tri_r, tri_c = _triu(int(size))
        left.append(blocks.members[(starts + tri_r).ravel()])
        right.append(blocks.members[(starts + tri_c).ravel()])
    if not left:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(left), np.concatenate(right)


def _window_pairs(blocks: _Blocks, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted-neighbourhood pairs: each member paired with the next ``window`` members of its block."""
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    for start, size in zip(blocks.starts.tolist(), blocks.sizes.tolist(), strict=True):
        members = blocks.members[start : start + size]
        for offset in range(1, min(window, size - 1) + 1):
            left.append(members[:-offset])
            right.append(members[offset:])
    if not left:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(left), np.concatenate(right)


class _NameScorer:
    """Vectorised ``name_similarity`` over record rows, via ``rapidfuzz.process.cpdist`` and ``cdist``."""

    def __init__(self, cols: _Columns) -> None:
        self.name = cols.name
        self.abbr = cols.abbr
        self.initial = cols.initial

    def pairs(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Scores of the pairs ``(left[k], right[k])``, in chunks so temporary string arrays stay small."""
        out = np.empty(len(left), dtype=np.float64)
        for lo in range(0, len(left), _PAIR_CHUNK):
            a, b = left[lo : lo + _PAIR_CHUNK], right[lo : lo + _PAIR_CHUNK]
            workers = -1 if len(a) >= _PARALLEL_MIN_CELLS else 1
            score = process.cpdist(self.name[a], self.name[b], scorer=fuzz.ratio, dtype=np.float64, workers=workers)
            initial = self.initial[a] | self.initial[b]
            if initial.any():
                a_i, b_i = a[initial], b[initial]
                abbr = process.cpdist(self.abbr[a_i], self.abbr[b_i], scorer=fuzz.ratio, dtype=np.float64, workers=1)
                score[initial] = np.maximum(score[initial], INITIAL_MATCH_WEIGHT * abbr)
            out[lo : lo + len(a)] = score
        return out

    def matrix(self, rows: np.ndarray, cols: np.ndarray, cutoff: float) -> np.ndarray:
        """Score matrix of ``rows x cols`` with one cdist call; entries below ``cutoff`` may come back as 0."""
        workers = -1 if len(rows) * len(cols) >= _PARALLEL_MIN_CELLS else 1
        score = process.cdist(
            self.name[rows],
            self.name[cols],
            scorer=fuzz.ratio,
            dtype=np.float64,
            workers=workers,
            score_cutoff=cutoff,
        )
        init_r, init_c = self.initial[rows], self.initial[cols]
        if init_r.any() or init_c.any():
            abbr = process.cdist(
                self.abbr[rows],
                self.abbr[cols],
                scorer=fuzz.ratio,
                dtype=np.float64,
                workers=workers,
                score_cutoff=min(100.0, cutoff / INITIAL_MATCH_WEIGHT),
            )
            mask = init_r[:, None] | init_c[None, :]
            score = np.where(mask, np.maximum(score, INITIAL_MATCH_WEIGHT * abbr), score)
        return score


def _similar_batches(
    blocks: _Blocks, scorer: _NameScorer, cutoff: float, window: int, block_max: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Pairs inside ``blocks`` whose name similarity is at least ``cutoff``, as batches of ``(left, right, score)``.

    Steps, by block size:
    1. Up to ``_SMALL_BLOCK`` members: generate every pair with numpy and score them all in batched cpdist calls.
    2. Up to ``block_max`` members: one ``cdist`` of the block against itself, keeping the upper triangle.
    3. Larger: sorted-neighbourhood windows. The block (already in neighbourhood order) is cut into chunks of
       ``window`` rows; each chunk is scored with ``cdist`` against itself and the following chunk, so every
       member is compared with at least the next ``window`` members, and the work is ``O(size * window)``.

    Hits are handed out whenever about ``_PAIR_CHUNK`` have accumulated, so a caller that filters them further
    (``_org_reasons``) never holds more than one batch of unfiltered pairs.
    """
    out_l: list[np.ndarray] = []
    out_r: list[np.ndarray] = []
    out_s: list[np.ndarray] = []
    pending = 0

    def collect(left: np.ndarray, right: np.ndarray, score: np.ndarray) -> bool:
        """Buffer one block's hits; True when the buffer is full and should be yielded."""
        nonlocal pending
        out_l.append(left)
        out_r.append(right)
        out_s.append(score)
        pending += len(left)
        return pending >= _PAIR_CHUNK

    def drain() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Concatenate and clear the buffer."""
        nonlocal pending
        batch = np.concatenate(out_l), np.concatenate(out_r), np.concatenate(out_s)
        out_l.clear()
        out_r.clear()
        out_s.clear()
        pending = 0
        return batch

    small = blocks.subset(blocks.sizes <= min(_SMALL_BLOCK, block_max))
    left, right = _all_pairs(small)
    for lo in range(0, len(left), _PAIR_CHUNK):
        a, b = left[lo : lo + _PAIR_CHUNK], right[lo : lo + _PAIR_CHUNK]
        score = scorer.pairs(a, b)
        hit = score >= cutoff
        if collect(a[hit], b[hit], score[hit]):
            yield drain()
    del left, right

    members = blocks.members
    dense = (blocks.sizes > _SMALL_BLOCK) & (blocks.sizes <= block_max)
    for start, size in zip(blocks.starts[dense].tolist(), blocks.sizes[dense].tolist(), strict=True):
        block = members[start : start + size]
        tri_r, tri_c = _triu(size)
        score = scorer.matrix(block, block, cutoff)[tri_r, tri_c]
        hit = score >= cutoff
        if hit.any() and collect(block[tri_r[hit]], block[tri_c[hit]], score[hit]):
            yield drain()

    ahead = np.arange(2 * window)[None, :] > np.arange(window)[:, None]
    large = blocks.sizes > block_max
    for start, size in zip(blocks.starts[large].tolist(), blocks.sizes[large].tolist(), strict=True):
        block = members[start : start + size]
        for lo in range(0, size - 1, window):
            rows = block[lo : lo + window]
            cols = block[lo : lo + 2 * window]
            score = scorer.matrix(rows, cols, cutoff)
            hit_r, hit_c = np.nonzero(ahead[: len(rows), : len(cols)] & (score >= cutoff))
            if len(hit_r) and collect(rows[hit_r], cols[hit_c], score[hit_r, hit_c]):
                yield drain()

    if pending:
        yield drain()


class _Hits:
    """Accumulates reportable pairs from every pass as numpy chunks; merged once at the end."""

    def __init__(self) -> None:
        self.left: list[np.ndarray] = []
        self.right: list[np.ndarray] = []
        self.score: list[np.ndarray] = []
        self.reason: list[np.ndarray] = []

    def add(self, left: np.ndarray, right: np.ndarray, score: np.ndarray, reason: np.ndarray | int) -> None:
        """Record pairs with their similarity and reason code (one code for all, or one per pair)."""
        if len(left) == 0:
            return
        self.left.append(left.astype(np.int64, copy=False))
        self.right.append(right.astype(np.int64, copy=False))
        self.score.append(np.asarray(score, dtype=np.float64))
        self.reason.append(np.broadcast_to(np.asarray(reason, dtype=np.int8), left.shape).copy())

    def best(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Merge all hits into one row per lead pair, keeping the highest-priority reason.

        Steps: orient every pair by lead id (``lead_id < other_lead_id``) and drop self-pairs (a record found
        twice in a block, or two rows with the same id); encode each pair as one int64; sort by code then by
        reason priority descending; keep the first row of every code. The result is sorted by lead ids.
        """
        if not self.left:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0, dtype=np.float64), np.zeros(0, dtype=np.int8)
        a = ids[np.concatenate(self.left)]
        b = ids[np.concatenate(self.right)]
        score = np.concatenate(self.score)
        reason = np.concatenate(self.reason)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        distinct = lo != hi
        lo, hi, score, reason = lo[distinct], hi[distinct], score[distinct], reason[distinct]
        order = np.lexsort((-reason, hi, lo))
        lo, hi, score, reason = lo[order], hi[order], score[order], reason[order]
        first = np.ones(len(lo), dtype=bool)
        first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
        return lo[first], hi[first], score[first], reason[first]


def _org_reasons(cols: _Columns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Reason code per similar-name pair from what the two records share, or -1 when they share nothing.

    Steps: same non-free domain -> ``similar_name_same_domain``; else same normalized company, or both companies
    present and ``fuzz.ratio`` of the normalized names >= ``COMPANY_THRESHOLD`` -> ``similar_name_same_company``.
    """
    reason = np.full(len(left), -1, dtype=np.int8)
    dom_l, dom_r = cols.domain[left], cols.domain[right]
    same_domain = (dom_l == dom_r) & (dom_l != 0)
    comp_l, comp_r = cols.company[left], cols.company[right]
    same_company = (comp_l == comp_r) & (comp_l != 0)
    fuzzy = ~same_domain & ~same_company & (comp_l != 0) & (comp_r != 0)
    if fuzzy.any():
        # ratio >= 90 needs 2*min(len)/(sum of len) >= 0.9; this filter drops most pairs before any string work.
        len_l, len_r = cols.company_lengths[comp_l], cols.company_lengths[comp_r]
        fuzzy &= 2 * np.minimum(len_l, len_r) >= (COMPANY_THRESHOLD / 100) * (len_l + len_r)
    if fuzzy.any():
        names = cols.company_names
        workers = -1 if fuzzy.sum() >= _PARALLEL_MIN_CELLS else 1
        score = process.cpdist(
            names[comp_l[fuzzy]],
            names[comp_r[fuzzy]],
            scorer=fuzz.ratio,
            score_cutoff=COMPANY_THRESHOLD,
            dtype=np.float64,
            workers=workers,
        )
        same_company[np.flatnonzero(fuzzy)[score >= COMPANY_THRESHOLD]] = True
    reason[same_company] = _SIMILAR_NAME_SAME_COMPANY
    reason[same_domain] = _SIMILAR_NAME_SAME_DOMAIN
    return reason


def _add_org_hits(hits: _Hits, cols: _Columns, batches: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
    """Keep the similar-name pairs of ``batches`` that share a domain or company, with the matching reason."""
    for left, right, score in batches:
        reason = _org_reasons(cols, left, right)
        shared = reason >= 0
        hits.add(left[shared], right[shared], score[shared], reason[shared])


def find_duplicate_pairs(
    records: Iterable[DedupRecord],
    *,
    name_threshold: float = 85.0,
    window: int = 24,
    block_max: int = 64,
    weak_block_max: int = 8,
) -> Iterator[CandidatePair]:
    """Scan all leads for probable duplicates and yield each pair once, ordered by ``(lead_id, other_lead_id)``.

    Steps:
    1. Ingest: stream ``records`` once into numpy columns (see ``_ingest``): hashed e-mail, phone and
       non-free domain, interned normalized company and name comparison keys, four name blocking keys.
    2. E-mail blocks: every two records sharing an exact e-mail -> ``same_email``, similarity 100. An e-mail
       shared by more than ``block_max`` records (a role inbox) only links sorted neighbours within ``window``,
       which still chains the whole group together for the reviewer.
    3. Phone blocks: in a block of at most ``weak_block_max`` records every pair is reported,
       ``same_phone_similar_name`` when the name similarity reaches ``name_threshold``, else the weak
       ``same_phone_different_name`` (a shared household or desk line). A bigger block is a company
       switchboard whose different-name pairs carry no signal, so only its similar-name pairs are reported.
    4. Domain blocks (non-free domains only): similar names -> ``similar_name_same_domain``.
    5. Company blocks (normalized company): similar names -> ``similar_name_same_company`` (or
       ``similar_name_same_domain`` when the domain matches too).
    6. Name-key blocks, two key spaces: ``(metaphone(last), first initial)`` together with
       ``(metaphone(first), last initial)``, which finds colleagues across company spelling variants and
       swapped names; ``(company, metaphone of either part)``, which finds typos at big companies whose blocks
       in step 5 are only walked by windows. Similar names are reported when they share the domain or a
       company with fuzzy similarity >= ``COMPANY_THRESHOLD``.
    7. Merge: a pair found by several passes is reported once with its strongest reason.

    Steps 3-6 score names with ``_similar_batches``: tiny blocks batched through ``process.cpdist``, blocks of
    up to ``block_max`` as one ``process.cdist`` matrix each, larger blocks by sorted-neighbourhood ``cdist``
    windows (members ordered by the sorted name key, company first in step 6), so each pass does
    ``O(records * max(window, block_max))`` comparisons and never holds more than about ``_PAIR_CHUNK``
    unfiltered pairs. Memory: about 100 bytes of numpy columns per record plus the interned strings and the
    reported pairs; the scan of 1M synthetic leads peaks about 230 MB above its input (``bench/bench_dedup_scan``).
    """
    if window < 1 or block_max < 2 or weak_block_max < 2:
        raise ValueError("window must be >= 1 and block_max, weak_block_max >= 2")
    return _scan(records, name_threshold, window, block_max, weak_block_max)


def _scan(
    records: Iterable[DedupRecord], name_threshold: float, window: int, block_max: int, weak_block_max: int
) -> Iterator[CandidatePair]:
    """The body of ``find_duplicate_pairs`` (steps documented there), run lazily as the caller iterates."""
    cols = _ingest(records)
    if len(cols) < 2:
        return
    scorer = _NameScorer(cols)
    hits = _Hits()

    emails = _group(cols.email, cols.name_rank)
    left, right = _all_pairs(emails.subset(emails.sizes <= block_max))
    hits.add(left, right, np.full(len(left), 100.0), _SAME_EMAIL)
    left, right = _window_pairs(emails.subset(emails.sizes > block_max), window)
    hits.add(left, right, np.full(len(left), 100.0), _SAME_EMAIL)
    del emails

    phones = _group(cols.phone, cols.name_rank)
    left, right = _all_pairs(phones.subset(phones.sizes <= weak_block_max))
    score = scorer.pairs(left, right)
    similar = score >= name_threshold
    hits.add(left, right, score, np.where(similar, _SAME_PHONE_SIMILAR_NAME, _SAME_PHONE_DIFFERENT_NAME))
    switchboards = phones.subset(phones.sizes > weak_block_max)
    for left, right, score in _similar_batches(switchboards, scorer, name_threshold, window, block_max):
        hits.add(left, right, score, _SAME_PHONE_SIMILAR_NAME)
    del phones, switchboards

    domains = _group(cols.domain, cols.name_rank)
    for left, right, score in _similar_batches(domains, scorer, name_threshold, window, block_max):
        hits.add(left, right, score, _SIMILAR_NAME_SAME_DOMAIN)
    del domains

    companies = _group(cols.company, cols.name_rank)
    _add_org_hits(hits, cols, _similar_batches(companies, scorer, name_threshold, window, block_max))
    del companies

    # Company first, then name: inside an oversized block, neighbours are colleagues with similar names.
    company_then_name = (cols.company_rank.astype(np.int64) << 32) | cols.name_rank
    for slot in range(0, _NAME_KEYS, 2):
        # Both slots of a pair share one key space: a first/last swap moves a key from one slot to the other.
        name_blocks = _group(cols.name_keys[:, slot : slot + 2].T.ravel(), company_then_name)
        _add_org_hits(hits, cols, _similar_batches(name_blocks, scorer, name_threshold, window, block_max))
        del name_blocks

    lo, hi, score, reason = hits.best(cols.ids)
    del hits, cols, scorer
    for a, b, s, r in zip(lo.tolist(), hi.tolist(), np.round(score, 2).tolist(), reason.tolist(), strict=True):
        yield CandidatePair(a, b, s, REASONS[r])


# ---------------------------------------------------------------------------------------------------------------
# Evaluation helpers
# ---------------------------------------------------------------------------------------------------------------


def _found_keys(found: Iterable[CandidatePair]) -> set[tuple[int, int]]:
    """Distinct ``(lower id, higher id)`` keys of the found pairs."""
    keys: set[tuple[int, int]] = set()
    for pair in found:
        a, b = pair.lead_id, pair.other_lead_id
        keys.add((a, b) if a < b else (b, a))
    return keys


def pair_recall(found: Iterable[CandidatePair], truth: set[tuple[int, int]]) -> float:
    """Share of true duplicate pairs (``(low id, high id)``) that were found; 1.0 when there is nothing to find."""
    if not truth:
        return 1.0
    return len(_found_keys(found) & truth) / len(truth)


def pair_precision(found: Iterable[CandidatePair], truth: set[tuple[int, int]]) -> float:
    """Share of found pairs that are true duplicates; 1.0 when nothing was found."""
    keys = _found_keys(found)
    if not keys:
        return 1.0
    return len(keys & truth) / len(keys)


# ---------------------------------------------------------------------------------------------------------------
# Synthetic data
# ---------------------------------------------------------------------------------------------------------------

_FIRST_NAMES = (
    "james john robert michael william david richard joseph thomas charles christopher daniel matthew anthony "
    "mark donald steven paul andrew joshua kenneth kevin brian george timothy ronald edward jason jeffrey ryan "
    "jacob gary nicholas eric jonathan stephen lawrence justin scott brandon benjamin samuel gregory alexander "
    "frank patrick raymond dennis jerry tyler aaron jose adam nathan henry douglas zachary peter kyle noah "
    "ethan jeremy walter christian keith roger terry austin sean gerald carl harold dylan arthur jordan jesse "
    "bryan bruce gabriel logan albert alan eugene russell vincent philip bradley frederick "
    "mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy margaret sandra "
    "ashley kimberly emily donna michelle carol amanda dorothy melissa deborah stephanie rebecca sharon laura "
    "cynthia kathleen amy angela shirley anna brenda pamela emma nicole helen samantha katherine christine "
    "rachel carolyn janet catherine maria heather diane ruth julie olivia joyce virginia victoria kelly lauren "
    "christina joan evelyn judith megan andrea cheryl hannah jacqueline martha gloria teresa sara madison "
    "frances kathryn janice jean abigail alice judy sophia grace denise amber doris marilyn danielle beverly "
    "isabella theresa diana natalie brittany charlotte marie kayla alexis lori "
    "lukas leon felix jonas maximilian sophie lena mia klaus juergen wolfgang francois pierre camille chloe "
    "manon lucas hugo antoine priya rahul amit anil sunita deepak wei ming xiao yan hiroshi yuki kenji sakura "
    "carlos juan luis miguel sofia lucia javier elena giulia marco luca matteo alessandro francesca olga ivan "
    "dmitri sergei natasha ahmed fatima omar mohammed ingrid astrid lars sven bjorn mats erik"
).split()

_LAST_NAMES = (
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez wilson "
    "anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark ramirez lewis "
    "robinson walker young allen king wright scott torres nguyen hill flores green adams nelson baker hall "
    "rivera campbell mitchell carter roberts gomez phillips evans turner diaz parker cruz edwards collins reyes "
    "stewart morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed kelly howard "
    "ramos kim cox ward richardson watson brooks chavez wood james bennett gray mendoza ruiz hughes price "
    "alvarez castillo sanders patel myers long ross foster jimenez powell jenkins perry russell sullivan bell "
    "coleman butler henderson barnes fisher vasquez simmons romero jordan patterson alexander hamilton graham "
    "reynolds griffin wallace moreno west cole hayes bryant herrera gibson ellis tran medina aguilar stevens "
    "murray ford castro marshall owens harrison fernandez mcdonald woods washington kennedy wells vargas henry "
    "chen freeman webb tucker guzman burns crawford olson simpson porter hunter gordon mendez silva shaw snyder "
    "mason dixon munoz hunt hicks holmes palmer wagner black robertson boyd rose stone salazar fox warren mills "
    "meyer rice schmidt garza daniels ferguson nichols stephens soto weaver ryan gardner payne grant dunn "
    "spencer hawkins arnold pierce hansen peters santos hart bradley knight elliott cunningham duncan armstrong "
    "hudson carroll lane riley andrews alvarado delgado berry perkins hoffman johnston matthews pena richards "
    "willis carpenter sandoval mueller schneider fischer weber becker schulz koch richter klein wolf schroeder "
    "neumann schwarz zimmermann braun krueger hartmann lange schmitt werner krause meier lehmann dubois durand "
    "lefebvre moreau laurent simon michel leroy roux bertrand morel fournier girard bonnet rossi russo ferrari "
    "esposito bianchi romano colombo ricci marino greco sharma gupta singh kumar verma reddy iyer wang zhang liu "
    "yang huang zhao zhou sato suzuki takahashi tanaka watanabe ivanov smirnov kuznetsov popov"
).split()

_SURNAME_STEMS = (
    "ander berg hol lind stroh wester kal mar nord ost ros sand sten vik win eck fal gold hart kirch lich mon pell "
    "rad sil tor ull vor zell bran cor dal fen gar hal jar kess lor mer"
).split()
_SURNAME_ENDINGS = (
    "son sen berg mann stein feld strom ley ton wood ford ski ova enko ini etti ard ier hof dorf by well".split()
)

_BRAND_SYLLABLES = (
    "ac ad al am an ar as av ax be bi bo br ca ce ci co cr da de di do dr el en ev ex fa fi fl fo ga ge gl gr ha "
    "he hy in io ja ka ki kr la le li lo lu ma me mi mo na ne ni no nu ob om on op or pa pe pi pl po pr qu ra re "
    "ri ro ru sa se si so st su sy ta te ti to tr ty ul un ur va ve vi vo xa ze zi zo"
).split()
_BRAND_ENDINGS = "x tech ly fy io on ix ora ent us ware bit sys gen".split()
_INDUSTRY_WORDS = (
    "analytics logistics systems software labs solutions health capital energy foods media robotics networks "
    "consulting partners bank insurance security cloud data"
).split()
_LEGAL_FORMS = ("inc", "llc", "ltd", "gmbh", "corp", "ag", "sa")
_TLDS = ("com", "com", "com", "com", "io", "de", "co", "net", "ai", "fr", "co.uk")
_FREE_MAIL_CHOICES = (
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "gmx.de",
    "web.de",
    "aol.com",
    "proton.me",
)
_NAME_EDITS = ("typo_last", "typo_first", "swap", "nickname", "initial", "none")
_NAME_EDIT_WEIGHTS = (24, 22, 8, 12, 6, 28)


def _zipf_cum_weights(count: int, exponent: float, offset: float) -> list[float]:
    """Cumulative weights of a Zipf-like popularity curve for ``random.choices`` (rank 0 is the most common)."""
    total = 0.0
    cumulative: list[float] = []
    for rank in range(count):
        total += 1.0 / (rank + offset) ** exponent
        cumulative.append(total)
    return cumulative


def _typo(rng: random.Random, word: str) -> str:
    """One keyboard slip in ``word``: substitute, delete, insert or transpose a letter (rarely the first one)."""
    if len(word) < 3:
        return word
    pos = rng.randrange(1, len(word)) if rng.random() < 0.9 else 0
    op = rng.randrange(4)
    letter = rng.choice(string.ascii_lowercase)
    if op == 0:
        return word[:pos] + letter + word[pos + 1 :]
    if op == 1:
        return word[:pos] + word[pos + 1 :]
    if op == 2:
        return word[:pos] + letter + word[pos:]
    pos = min(pos, len(word) - 2)
    return word[:pos] + word[pos + 1] + word[pos] + word[pos + 2 :]


def _random_phone(rng: random.Random) -> str:
    """A random E.164 number from one of a few countries."""
    country = rng.random()
    if country < 0.55:
        return f"+1{rng.randrange(201, 990)}{rng.randrange(2000000, 9999999)}"
    if country < 0.7:
        return f"+447{rng.randrange(100000000, 999999999)}"
    if country < 0.85:
        return f"+491{rng.randrange(5000000000, 7999999999)}"
    return f"+336{rng.randrange(10000000, 99999999)}"


def _companies(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """``count`` distinct ``(company name, web domain)`` pairs built from invented brand names."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    while len(out) < count:
        brand = rng.choice(_BRAND_SYLLABLES) + rng.choice(_BRAND_SYLLABLES)
        if rng.random() < 0.4:
            brand += rng.choice(_BRAND_SYLLABLES)
        brand += rng.choice(_BRAND_ENDINGS)
        if brand in seen:
            continue
        seen.add(brand)
        name = f"{brand} {rng.choice(_INDUSTRY_WORDS)}" if rng.random() < 0.5 else brand
        out.append((name, f"{brand}.{rng.choice(_TLDS)}"))
    return out


def _unique_email(used: dict[str, int], local: str, domain: str) -> str:
    """``local@domain``, numbered (``local2@``) when an earlier lead already holds it, as mail systems do.

    ``used`` maps every issued address to 1 and every base address to the next number to try, so numbering
    resumes where it stopped and a number never collides with a mailbox that already ends in digits.
    """
    base = f"{local}@{domain}"
    if base not in used:
        used[base] = 2
        return base
    number = used[base]
    while f"{local}{number}@{domain}" in used:
        number += 1
    used[base] = number + 1
    email = f"{local}{number}@{domain}"
    used[email] = 1
    return email


def _work_local(rng: random.Random, first: str, last: str) -> str:
    """A corporate mailbox name following one of the common patterns."""
    pattern = rng.randrange(6)
    if pattern == 0:
        return f"{first}.{last}"
    if pattern == 1:
        return f"{first[:1]}{last}"
    if pattern == 2:
        return first
    if pattern == 3:
        return f"{first}_{last}"
    if pattern == 4:
        return f"{first}{last[:1]}"
    return f"{last}.{first}"


def _shares_evidence(base: dict[str, str], dup: dict[str, str]) -> bool:
    """True when a duplicate shares something the scan may report on besides a similar name.

    That is the same e-mail, the same phone, the same non-free domain, or companies that match after
    normalization (exactly or with ``fuzz.ratio`` >= ``COMPANY_THRESHOLD``).
    """
    if base["email"] and base["email"] == dup["email"]:
        return True
    if base["phone"] and base["phone"] == dup["phone"]:
        return True
    dom = _blocking_domain(base["domain"], base["email"])
    if dom and dom == _blocking_domain(dup["domain"], dup["email"]):
        return True
    a, b = _normalize_company(base["company"]), _normalize_company(dup["company"])
    return bool(a and b and fuzz.ratio(a, b) >= COMPANY_THRESHOLD)


def _mutate(rng: random.Random, base: dict[str, str], company_domain: str, used: dict[str, int]) -> dict[str, str]:
    """Derive a duplicate lead from ``base`` the way a second sign-up or import of the same person looks.

    Steps:
    1. E-mail: kept (45%), a new work address at the same company (30%; free mail when there is none), a free
       mail address (15%) or missing (10%). Exact e-mail duplicates are mostly stopped at ingest, so most
       duplicates in the database differ here.
    2. Phone: kept (55%; however it was typed, it normalizes to the same E.164 string), missing (25%) or a new
       number (20%).
    3. Name: one or two edits among a typo in the last or first name, swapped parts, a nickname, an initial,
       or none.
    4. Company: kept (80%), a spelling variant (legal suffix added or a typo, 12%) or missing (8%).
    5. If nothing the scan may report on is left in common (see ``_shares_evidence``), restore the phone or
       e-mail: such a record is a different lead for RevOps purposes, not a duplicate to find.
    """
    dup = dict(base)
    first, last = base["first_name"], base["last_name"]
    roll = rng.random()
    if 0.45 <= roll < 0.75 and company_domain:
        dup["email"] = _unique_email(used, _work_local(rng, first, last), company_domain)
        dup["domain"] = company_domain
    elif 0.45 <= roll < 0.9:
        free = rng.choice(_FREE_MAIL_CHOICES)
        dup["email"] = _unique_email(used, f"{first}.{last}{rng.randrange(100)}", free)
        dup["domain"] = free
    elif roll >= 0.9:
        dup["email"], dup["domain"] = "", ""

    roll = rng.random()
    if 0.55 <= roll < 0.8:
        dup["phone"] = ""
    elif roll >= 0.8:
        dup["phone"] = _random_phone(rng)

    for edit in rng.choices(_NAME_EDITS, weights=_NAME_EDIT_WEIGHTS, k=rng.choice((1, 1, 2))):
        if edit == "typo_last":
            dup["last_name"] = _typo(rng, dup["last_name"])
        elif edit == "typo_first":
            dup["first_name"] = _typo(rng, dup["first_name"])
        elif edit == "swap":
            dup["first_name"], dup["last_name"] = dup["last_name"], dup["first_name"]
        elif edit == "nickname":
            nicks = [nick for nick, formal in NICKNAMES.items() if formal == dup["first_name"]]
            if nicks:
                dup["first_name"] = rng.choice(nicks)
        elif edit == "initial" and dup["first_name"]:
            dup["first_name"] = dup["first_name"][0]

    roll = rng.random()
    if dup["company"] and roll < 0.12:
        if roll < 0.06:
            dup["company"] = f"{_normalize_company(dup['company'])} {rng.choice(_LEGAL_FORMS)}"
        else:
            words = dup["company"].split()
            words[0] = _typo(rng, words[0])
            dup["company"] = " ".join(words)
    elif roll < 0.2:
        dup["company"] = ""

    if not _shares_evidence(base, dup):
        if base["phone"]:
            dup["phone"] = base["phone"]
        else:
            dup["email"], dup["domain"] = base["email"], base["domain"]
    return dup


def generate_synthetic_leads(
    n: int, *, duplicate_rate: float = 0.05, seed: int = 7
) -> tuple[list[DedupRecord], set[tuple[int, int]]]:
    """Realistic B2B leads with a known set of true duplicate pairs ``(lower id, higher id)``.

    Steps:
    1. Draw ``n // 10`` companies with invented brand names and web domains; lead counts per company follow a
       Zipf curve, so a few companies are big (thousands of leads at 1M) and most are small.
    2. Draw ``n - round(n * duplicate_rate)`` original leads: Zipf-distributed first and last names (common
       English, European and Asian names plus invented surnames), company with an occasional legal suffix,
       a work e-mail in a common pattern (numbered on collision) or free mail, a personal phone, a company
       switchboard phone shared with colleagues, or none.
    3. Derive the duplicates from randomly chosen originals (an original can get several) with ``_mutate``;
       every two members of one original's family form a true pair.
    4. Shuffle and number the leads 1..n so duplicates are not adjacent by id.
    """
    if n < 0 or not 0.0 <= duplicate_rate < 1.0:
        raise ValueError("n must be >= 0 and duplicate_rate in [0, 1)")
    rng = random.Random(seed)
    n_dup = round(n * duplicate_rate)
    n_base = n - n_dup
    last_names = list(_LAST_NAMES) + [stem + ending for stem in _SURNAME_STEMS for ending in _SURNAME_ENDINGS]
    companies = _companies(rng, max(5, n // 10))
    switchboards = [_random_phone(rng) for _ in companies]

    firsts = rng.choices(_FIRST_NAMES, cum_weights=_zipf_cum_weights(len(_FIRST_NAMES), 0.9, 8.0), k=n_base)
    lasts = rng.choices(last_names, cum_weights=_zipf_cum_weights(len(last_names), 0.8, 10.0), k=n_base)
    company_idx = rng.choices(range(len(companies)), cum_weights=_zipf_cum_weights(len(companies), 0.7, 3.0), k=n_base)

    used: dict[str, int] = {}
    rows: list[dict[str, str]] = []
    company_of: list[int] = []
    for first, last, cidx in zip(firsts, lasts, company_idx, strict=True):
        has_company = rng.random() < 0.92
        company, company_domain = companies[cidx] if has_company else ("", "")
        if has_company and rng.random() < 0.25:
            company = f"{company} {rng.choice(_LEGAL_FORMS)}"
        kind = rng.random()
        if has_company and kind < 0.68:
            email = _unique_email(used, _work_local(rng, first, last), company_domain)
            domain = company_domain
        elif kind < 0.94:
            free = rng.choice(_FREE_MAIL_CHOICES)
            email = _unique_email(used, f"{first}.{last}{rng.randrange(100)}", free)
            domain = free
        else:
            email, domain = "", ""
        kind = rng.random()
        if has_company and kind < 0.06:
            phone = switchboards[cidx]
        elif kind < 0.88 or not email:
            phone = _random_phone(rng)
        else:
            phone = ""
        rows.append(
            {
                "email": email,
                "phone": phone,
                "first_name": first,
                "last_name": last,
                "company": company,
                "domain": domain,
            }
        )
        company_of.append(cidx if has_company else -1)

    families: dict[int, list[int]] = {}
    for _ in range(n_dup):
        origin = rng.randrange(n_base)
        cidx = company_of[origin]
        dup = _mutate(rng, rows[origin], companies[cidx][1] if cidx >= 0 else "", used)
        families.setdefault(origin, [origin]).append(len(rows))
        rows.append(dup)

    ids = list(range(1, len(rows) + 1))
    rng.shuffle(ids)
    records = [DedupRecord(id=ids[i], **row) for i, row in enumerate(rows)]
    records.sort(key=lambda rec: rec.id)
    truth: set[tuple[int, int]] = set()
    for members in families.values():
        member_ids = sorted(ids[m] for m in members)
        for x, a in enumerate(member_ids):
            for b in member_ids[x + 1 :]:
                truth.add((a, b))
    return records, truth
