"""Distribution strategies: choose one rep from the available candidates of a pool, fairly.

Each function takes the available reps (already filtered for availability, ordered by id) and the pool's locked
RoutingPointer, updates the pointer's state and returns the chosen rep with a short description of the state.
The caller holds the pointer row lock, so two workers never take the same turn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .models import Rep, RoutingPointer


def round_robin(candidates: Sequence[Rep], pointer: RoutingPointer) -> tuple[Rep, dict]:
    """The first candidate after the pool's last assigned rep, in id order (exact and fair)."""
    ordered = sorted(candidates, key=lambda r: r.pk)
    last = pointer.last_rep_id or 0
    after = [r for r in ordered if r.pk > last]
    chosen = after[0] if after else ordered[0]
    pointer.last_rep_id = chosen.pk
    pointer.turns += 1
    return chosen, {"strategy": "round_robin", "previous_rep": last or None, "turn": pointer.turns}


def weighted_round_robin(
    candidates: Sequence[Rep], pointer: RoutingPointer, weights: Mapping[int, float] | None = None
) -> tuple[Rep, dict]:
    """Smooth weighted round robin: over any run each rep's share is proportional to its weight.

    Every turn each candidate earns its weight in credit; the one with most credit wins and pays the total.
    Credits persist in the pointer, so the proportions hold across workers and restarts.
    """
    credits = {int(k): float(v) for k, v in (pointer.credits or {}).items()}
    weight_of = {r.pk: float((weights or {}).get(r.pk, r.weight) or 0) for r in candidates}
    if not any(weight_of.values()):
        weight_of = {pk: 1.0 for pk in weight_of}
    total = sum(weight_of.values())
    for pk, weight in weight_of.items():
        credits[pk] = credits.get(pk, 0.0) + weight
    chosen = max(candidates, key=lambda r: (credits[r.pk], -r.pk))
    credits[chosen.pk] -= total
    pointer.credits = {str(k): round(v, 6) for k, v in credits.items()}
    pointer.last_rep_id = chosen.pk
    pointer.turns += 1
    return chosen, {"strategy": "weighted", "weights": {str(k): v for k, v in weight_of.items()}, "turn": pointer.turns}


def fewest_open(candidates: Sequence[Rep], pointer: RoutingPointer, open_counts: Mapping[int, int]) -> tuple[Rep, dict]:
    """The candidate with the fewest open leads (ties in round-robin order)."""
    fewest = min(open_counts.get(r.pk, 0) for r in candidates)
    tied = [r for r in candidates if open_counts.get(r.pk, 0) == fewest]
    chosen, state = round_robin(tied, pointer)
    return chosen, {"strategy": "capacity", "open_leads": {str(r.pk): open_counts.get(r.pk, 0) for r in candidates},
                    "tie_break": state}
