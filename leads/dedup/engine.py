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

The engine's modules: ``names`` (how people and companies are compared), ``columns`` (records to numpy columns
and blocking keys), ``blocks`` (grouping and vectorised name scoring) and this one (the passes, the pairs, the
reasons).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from .blocks import PARALLEL_MIN_CELLS, NameScorer, all_pairs, group_blocks, similar_batches, window_pairs
from .columns import NAME_KEYS, Columns, DedupRecord, ingest_columns
from .names import COMPANY_THRESHOLD


@dataclass(slots=True, frozen=True)
class CandidatePair:
    """A probable duplicate for the review queue; ``lead_id < other_lead_id`` and ``similarity`` is 0..100."""

    lead_id: int
    other_lead_id: int
    similarity: float
    reason: str


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


def _org_reasons(cols: Columns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
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
        workers = -1 if fuzzy.sum() >= PARALLEL_MIN_CELLS else 1
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


def _add_org_hits(hits: _Hits, cols: Columns, batches: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
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
    1. Ingest: stream ``records`` once into numpy columns (see ``ingest_columns``): hashed e-mail, phone and
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

    Steps 3-6 score names with ``similar_batches``: tiny blocks batched through ``process.cpdist``, blocks of
    up to ``block_max`` as one ``process.cdist`` matrix each, larger blocks by sorted-neighbourhood ``cdist``
    windows (members ordered by the sorted name key, company first in step 6), so each pass does
    ``O(records * max(window, block_max))`` comparisons and never holds more than about ``PAIR_CHUNK``
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
    cols = ingest_columns(records)
    if len(cols) < 2:
        return
    scorer = NameScorer(cols)
    hits = _Hits()

    emails = group_blocks(cols.email, cols.name_rank)
    left, right = all_pairs(emails.subset(emails.sizes <= block_max))
    hits.add(left, right, np.full(len(left), 100.0), _SAME_EMAIL)
    left, right = window_pairs(emails.subset(emails.sizes > block_max), window)
    hits.add(left, right, np.full(len(left), 100.0), _SAME_EMAIL)
    del emails

    phones = group_blocks(cols.phone, cols.name_rank)
    left, right = all_pairs(phones.subset(phones.sizes <= weak_block_max))
    score = scorer.pairs(left, right)
    similar = score >= name_threshold
    hits.add(left, right, score, np.where(similar, _SAME_PHONE_SIMILAR_NAME, _SAME_PHONE_DIFFERENT_NAME))
    switchboards = phones.subset(phones.sizes > weak_block_max)
    for left, right, score in similar_batches(switchboards, scorer, name_threshold, window, block_max):
        hits.add(left, right, score, _SAME_PHONE_SIMILAR_NAME)
    del phones, switchboards

    domains = group_blocks(cols.domain, cols.name_rank)
    for left, right, score in similar_batches(domains, scorer, name_threshold, window, block_max):
        hits.add(left, right, score, _SIMILAR_NAME_SAME_DOMAIN)
    del domains

    companies = group_blocks(cols.company, cols.name_rank)
    _add_org_hits(hits, cols, similar_batches(companies, scorer, name_threshold, window, block_max))
    del companies

    # Company first, then name: inside an oversized block, neighbours are colleagues with similar names.
    company_then_name = (cols.company_rank.astype(np.int64) << 32) | cols.name_rank
    for slot in range(0, NAME_KEYS, 2):
        # Both slots of a pair share one key space: a first/last swap moves a key from one slot to the other.
        name_blocks = group_blocks(cols.name_keys[:, slot : slot + 2].T.ravel(), company_then_name)
        _add_org_hits(hits, cols, similar_batches(name_blocks, scorer, name_threshold, window, block_max))
        del name_blocks

    lo, hi, score, reason = hits.best(cols.ids)
    del hits, cols, scorer
    for a, b, s, r in zip(lo.tolist(), hi.tolist(), np.round(score, 2).tolist(), reason.tolist(), strict=True):
        yield CandidatePair(a, b, s, REASONS[r])

