"""A/B variant assignment: a deterministic hash of (experiment id, lead id), the same in Python and in numpy.

Not Python's ``hash()`` (salted per process) and not a stored assignment: a lead's variant can be recomputed
anywhere, any time, by the per-lead scorer and by the set-based rescoring, and it never flips while the experiment
runs. Salting with the experiment id keeps one experiment's B leads from being the next experiment's B leads.
"""

from __future__ import annotations

import numpy as np

from .choices import Variant

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB


def variant_bucket(experiment_id: int, lead_id: int) -> int:
    """The lead's bucket 0..99 in this experiment (splitmix64 of the two ids)."""
    z = (((experiment_id << 32) ^ lead_id) + _GOLDEN) & _MASK
    z = ((z ^ (z >> 30)) * _MIX1) & _MASK
    z = ((z ^ (z >> 27)) * _MIX2) & _MASK
    z ^= z >> 31
    return z % 100


def variant_for(experiment_id: int, split_percent: int, lead_id: int) -> str:
    """Variant B for the first ``split_percent`` buckets, A for the rest."""
    return Variant.B if variant_bucket(experiment_id, lead_id) < split_percent else Variant.A


def variant_buckets(experiment_id: int, lead_ids: np.ndarray) -> np.ndarray:
    """:func:`variant_bucket` for many leads at once (uint64 arithmetic wraps like the masked Python version)."""
    ids = np.asarray(lead_ids, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = ((np.uint64(experiment_id) << np.uint64(32)) ^ ids) + np.uint64(_GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(_MIX1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(_MIX2)
        z ^= z >> np.uint64(31)
    return (z % np.uint64(100)).astype(np.int64)
