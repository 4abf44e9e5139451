"""Conversion by score band: counts, win rate with its 95 % Wilson interval, deal value and days to close, and a
warning for every pair of bands where the higher band converts no better than the lower one. Aggregate SQL only:
one grouped query for the figures, one windowed query that returns at most two rows per band for the median."""

from __future__ import annotations

from decimal import Decimal
from math import sqrt

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, Sum, Window
from django.db.models.functions import RowNumber

from leads.choices import Outcome
from scoring.choices import Band

BAND_ORDER = [Band.A, Band.B, Band.C, Band.D]  # highest first
Z95 = 1.96


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (in %), or None without trials. Sound for small samples."""
    if not trials:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return round(100 * max(0.0, centre - half), 1), round(100 * min(1.0, centre + half), 1)


def _days_to_close():
    return ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())


def median_days_to_close(leads) -> dict[str, float]:
    """Per band, the median days from creation to a won close. The database ranks the won leads of each band and
    returns only the middle one or two; Python averages those two values."""
    won = leads.filter(outcome=Outcome.WON, closed_at__isnull=False).exclude(band="")
    duration = _days_to_close()
    ranked = won.annotate(
        days=duration,
        position=Window(RowNumber(), partition_by=[F("band")], order_by=duration.asc()),
        size=Window(Count("id"), partition_by=[F("band")]),
    )
    middle = ranked.filter(Q(position=(F("size") + 1) / 2) | Q(position=(F("size") + 2) / 2))
    values: dict[str, list[float]] = {}
    for band, days in middle.values_list("band", "days"):
        values.setdefault(band, []).append(days.total_seconds() / 86400)
    return {band: round(sum(days) / len(days), 1) for band, days in values.items()}


def _money(value) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))


def band_table(leads) -> list[dict]:
    """One row per band (highest first): leads, won, lost, open, conversion of closed leads with its interval,
    average and total won deal value, median days to close."""
    won = Q(outcome=Outcome.WON)
    grouped = {
        row["band"]: row for row in leads.exclude(band="").values("band").annotate(
            leads=Count("id"), won=Count("id", filter=won), lost=Count("id", filter=Q(outcome=Outcome.LOST)),
            open=Count("id", filter=Q(outcome=Outcome.OPEN)),
            avg_deal=Avg("deal_value", filter=won), total_deal=Sum("deal_value", filter=won),
        ).order_by()
    }
    return band_rows(grouped, median_days_to_close(leads))


def band_rows(grouped: dict[str, dict], medians: dict[str, float]) -> list[dict]:
    """The band table from each band's counts (leads, won, lost, open, avg_deal, total_deal) and median days."""
    rows = []
    for band in [b for b in BAND_ORDER if b in grouped] + sorted(set(grouped) - set(BAND_ORDER)):
        row = grouped[band]
        closed = row["won"] + row["lost"]
        interval = wilson_interval(row["won"], closed)
        rows.append({
            "band": band, "leads": row["leads"], "won": row["won"], "lost": row["lost"], "open": row["open"],
            "closed": closed, "conversion": round(100 * row["won"] / closed, 1) if closed else None,
            "ci_low": interval[0] if interval else None, "ci_high": interval[1] if interval else None,
            "avg_deal": _money(row["avg_deal"]), "total_deal": _money(row["total_deal"]) or Decimal("0.00"),
            "median_days_to_close": medians.get(band),
        })
    return rows


def non_separating(rows: list[dict]) -> list[dict]:
    """Every pair (higher band, lower band) where the higher converts no better, with both counts and intervals and
    whether the intervals overlap (then the samples are too small to tell the bands apart either way)."""
    warnings = []
    closed_rows = [row for row in rows if row["closed"]]
    for i, high in enumerate(closed_rows):
        for low in closed_rows[i + 1:]:
            if high["conversion"] > low["conversion"]:
                continue
            overlap = high["ci_low"] <= low["ci_high"] and low["ci_low"] <= high["ci_high"]
            warnings.append({
                "higher": high["band"], "lower": low["band"], "overlap": overlap,
                "text": (
                    f"Band {high['band']} converts no better than band {low['band']}: "
                    f"{high['won']}/{high['closed']} = {high['conversion']} % "
                    f"(95 % CI {high['ci_low']}–{high['ci_high']} %) against "
                    f"{low['won']}/{low['closed']} = {low['conversion']} % "
                    f"(95 % CI {low['ci_low']}–{low['ci_high']} %). "
                    + ("The intervals overlap: too few closed leads to tell the bands apart."
                       if overlap else "The intervals do not overlap: the bands are inverted.")
                ),
            })
    return warnings
