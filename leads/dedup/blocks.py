"""Blocking and vectorised scoring of the scan: records grouped by a blocking key, and the names inside each
block compared with rapidfuzz's ``cpdist`` / ``cdist`` (pure: no Django, no models).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from .columns import Columns
from .names import INITIAL_MATCH_WEIGHT

# Blocks up to this size are scored as one flat list of pairs with cpdist: a cdist call costs ~20 us of fixed
# overhead, more than scoring a dozen pairs, and most blocks have two or three members.
_SMALL_BLOCK = 12
PAIR_CHUNK = 1 << 20
# Below this many cells the thread hand-off of a multi-worker rapidfuzz call costs more than it saves.
PARALLEL_MIN_CELLS = 1 << 16


@dataclass(slots=True)
class Blocks:
    """Records grouped by a blocking key: ``members[starts[b] : starts[b] + sizes[b]]`` is block ``b``.

    Inside a block, members are in the order of the per-record order column, which is the sorted-neighbourhood
    order used when the block is too big to compare all pairs.
    """

    members: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray

    def subset(self, keep: np.ndarray) -> Blocks:
        """Return only the blocks selected by the boolean mask ``keep``."""
        return Blocks(self.members, self.starts[keep], self.sizes[keep])


def group_blocks(keys: np.ndarray, order: np.ndarray) -> Blocks:
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
        return Blocks(rows, empty, empty)
    starts = np.concatenate(([0], np.flatnonzero(keys[1:] != keys[:-1]) + 1))
    sizes = np.diff(np.append(starts, len(keys)))
    multi = sizes >= 2
    return Blocks(rows, starts[multi], sizes[multi])


_TRIU_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _triu(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Cached ``np.triu_indices(size, 1)``: the (row, column) positions of all unordered pairs of a block."""
    pairs = _TRIU_CACHE.get(size)
    if pairs is None:
        pairs = _TRIU_CACHE[size] = np.triu_indices(size, 1)
    return pairs


def all_pairs(blocks: Blocks) -> tuple[np.ndarray, np.ndarray]:
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


def window_pairs(blocks: Blocks, window: int) -> tuple[np.ndarray, np.ndarray]:
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


class NameScorer:
    """Vectorised ``name_similarity`` over record rows, via ``rapidfuzz.process.cpdist`` and ``cdist``."""

    def __init__(self, cols: Columns) -> None:
        self.name = cols.name
        self.abbr = cols.abbr
        self.initial = cols.initial

    def pairs(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Scores of the pairs ``(left[k], right[k])``, in chunks so temporary string arrays stay small."""
        out = np.empty(len(left), dtype=np.float64)
        for lo in range(0, len(left), PAIR_CHUNK):
            a, b = left[lo : lo + PAIR_CHUNK], right[lo : lo + PAIR_CHUNK]
            workers = -1 if len(a) >= PARALLEL_MIN_CELLS else 1
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
        workers = -1 if len(rows) * len(cols) >= PARALLEL_MIN_CELLS else 1
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


def similar_batches(
    blocks: Blocks, scorer: NameScorer, cutoff: float, window: int, block_max: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Pairs inside ``blocks`` whose name similarity is at least ``cutoff``, as batches of ``(left, right, score)``.

    Steps, by block size:
    1. Up to ``_SMALL_BLOCK`` members: generate every pair with numpy and score them all in batched cpdist calls.
    2. Up to ``block_max`` members: one ``cdist`` of the block against itself, keeping the upper triangle.
    3. Larger: sorted-neighbourhood windows. The block (already in neighbourhood order) is cut into chunks of
       ``window`` rows; each chunk is scored with ``cdist`` against itself and the following chunk, so every
       member is compared with at least the next ``window`` members, and the work is ``O(size * window)``.

    Hits are handed out whenever about ``PAIR_CHUNK`` have accumulated, so a caller that filters them further
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
        return pending >= PAIR_CHUNK

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
    left, right = all_pairs(small)
    for lo in range(0, len(left), PAIR_CHUNK):
        a, b = left[lo : lo + PAIR_CHUNK], right[lo : lo + PAIR_CHUNK]
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

