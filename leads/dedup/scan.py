"""The full-database duplicate scan: stream every live lead through the blocking + rapidfuzz engine and open a
review pair for each probable duplicate not seen before.

Memory stays bounded on the Django side: leads are read with a server-side iterator in chunks as plain tuples,
and pairs are written in batches with ``bulk_create(ignore_conflicts=True)`` (a pair already known — open,
merged or dismissed — is skipped by the unique constraint, so "not a duplicate" is never asked again).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from ..models import DuplicateReview, Lead
from .engine import CandidatePair, DedupRecord, find_duplicate_pairs
from .match import name_threshold as default_threshold

BATCH = 2000


@dataclass
class ScanReport:
    leads: int
    pairs_found: int
    reviews_opened: int
    seconds: float


def _records(counter: list[int]) -> Iterator[DedupRecord]:
    rows = Lead.objects.live().order_by().values_list(
        "id", "email", "phone", "first_name", "last_name", "company", "domain"
    ).iterator(chunk_size=BATCH)
    for row in rows:
        counter[0] += 1
        yield DedupRecord(*row)


def dedup_scan_run(*, name_threshold: float | None = None) -> ScanReport:
    """Scan every live lead; open review pairs for new probable duplicates. Returns counts and time taken."""
    started = time.monotonic()
    counter = [0]
    found = opened = 0
    batch: list[CandidatePair] = []

    def flush() -> int:
        before = DuplicateReview.objects.count()
        DuplicateReview.objects.bulk_create(
            [DuplicateReview(lead_id=p.lead_id, other_lead_id=p.other_lead_id, similarity=round(p.similarity, 1),
                             reason=p.reason, found_by="scan") for p in batch],
            ignore_conflicts=True,
        )
        batch.clear()
        return DuplicateReview.objects.count() - before

    threshold = default_threshold() if name_threshold is None else name_threshold
    for pair in find_duplicate_pairs(_records(counter), name_threshold=threshold):
        found += 1
        batch.append(pair)
        if len(batch) >= BATCH:
            opened += flush()
    if batch:
        opened += flush()
    return ScanReport(leads=counter[0], pairs_found=found, reviews_opened=opened,
                      seconds=time.monotonic() - started)
