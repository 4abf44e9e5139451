"""Score deciles and the predictive model's calibration.

Deciles: the scored leads of the filter ranked by score (highest first, ties by id) and cut into ten groups of equal
size by NTILE(10); per decile the same figures as per band. Calibration: the closed leads with a stored win
probability (``Lead.predicted_probability``, written by the scoring layer from the active predictive model) cut into
ten groups by that probability; per group the mean predicted probability against the observed share won, with its
Wilson interval. The ORM builds the ranked rows; one grouped query over them gives the figures and one windowed
query the medians."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.db.models import F, Window
from django.db.models.functions import Ntile

from leads.choices import Outcome

from .dashboards_stats import days_between, pct, percentiles_of, wilson_interval


def _ranked(rows, order_by):
    return rows.order_by().annotate(decile=Window(Ntile(10), order_by=order_by))


def _grouped(ranked, columns: str) -> list[tuple]:
    """Run ``SELECT decile, <columns> FROM (ranked) GROUP BY decile`` (aggregates over a window need the wrap)."""
    inner, params = ranked.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t.decile, {columns} FROM ({inner}) t GROUP BY t.decile ORDER BY t.decile", params)
        return cursor.fetchall()


def _money(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def decile_table(leads) -> list[dict]:
    """Per score decile (1 = the highest scores): score range, leads, won, lost, open, conversion of closed leads
    with its interval, average and total won deal value, median days to close (won)."""
    scored = leads.filter(score__isnull=False)
    order = [F("score").desc(), F("id").asc()]
    ranked = _ranked(scored, order).values("decile", "score", "outcome", "deal_value")
    won, lost, open_ = (f"CASE WHEN t.outcome = '{o}' THEN 1 ELSE 0 END" for o in (Outcome.WON, Outcome.LOST,
                                                                                  Outcome.OPEN))
    grouped = _grouped(ranked, (
        f"MIN(t.score), MAX(t.score), COUNT(*), SUM({won}), SUM({lost}), SUM({open_}), "
        f"AVG(CASE WHEN t.outcome = '{Outcome.WON}' THEN t.deal_value END), "
        f"SUM(CASE WHEN t.outcome = '{Outcome.WON}' THEN t.deal_value END)"
    ))
    medians = _won_medians(scored, order)
    rows = []
    for decile, low, high, n, n_won, n_lost, n_open, avg_deal, total_deal in grouped:
        closed = n_won + n_lost
        interval = wilson_interval(n_won, closed)
        rows.append({
            "decile": decile, "scores": f"{low}–{high}" if low != high else str(low), "leads": n, "won": n_won,
            "lost": n_lost, "open": n_open, "closed": closed, "conversion": pct(n_won, closed),
            "ci_low": interval[0] if interval else None, "ci_high": interval[1] if interval else None,
            "avg_deal": _money(avg_deal), "total_deal": _money(total_deal) or Decimal("0.00"),
            "median_days_to_close": medians.get(decile),
        })
    return rows


def _won_medians(scored, order) -> dict[int, float]:
    """Per decile, the median days to close of its won leads. The decile is ranked over every scored lead first,
    then the won ones are kept: filtering before ranking would cut the won leads alone into ten."""
    ranked = _ranked(scored, order).values("decile", "outcome", "closed_at", "created_at")
    inner, params = ranked.query.sql_with_params()
    days = days_between("t.closed_at", "t.created_at")
    picked = percentiles_of(f"SELECT t.decile AS g, {days} AS v FROM ({inner}) t "
                            "WHERE t.outcome = %s AND t.closed_at IS NOT NULL", [*params, Outcome.WON],
                            median_only=True)
    return {decile: round(float(entry["p50"]), 1) for decile, entry in picked.items()}


def calibration_table(leads) -> list[dict]:
    """Per decile of predicted win probability (1 = the highest) among the closed leads that have one: leads,
    mean predicted %, observed won %, its 95 % interval, and the gap (observed − predicted) in points."""
    closed = leads.filter(predicted_probability__isnull=False, outcome__in=[Outcome.WON, Outcome.LOST])
    ranked = _ranked(closed, [F("predicted_probability").desc(), F("id").asc()]).values(
        "decile", "predicted_probability", "outcome")
    grouped = _grouped(ranked, (
        "COUNT(*), AVG(t.predicted_probability), MIN(t.predicted_probability), MAX(t.predicted_probability), "
        f"SUM(CASE WHEN t.outcome = '{Outcome.WON}' THEN 1 ELSE 0 END)"
    ))
    rows = []
    for decile, n, mean, low, high, n_won in grouped:
        interval = wilson_interval(n_won, n)
        predicted, observed = round(100 * float(mean), 1), pct(n_won, n)
        rows.append({
            "decile": decile, "range": f"{100 * float(low):.0f}–{100 * float(high):.0f} %", "leads": n, "won": n_won,
            "predicted": predicted, "observed": observed,
            "ci_low": interval[0], "ci_high": interval[1],
            "gap": round(observed - predicted, 1),
            "within_interval": interval[0] <= predicted <= interval[1],
        })
    return rows
