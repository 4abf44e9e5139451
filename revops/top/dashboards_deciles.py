"""Score deciles and the predictive model's calibration.

Deciles: the scored leads of the filter ranked by score (highest first, ties by id) and cut into ten groups of equal
size as NTILE(10) cuts them; per decile the same figures as per band. They are counted per score value and only the
scores that straddle two deciles are split by id (``decile_table``), so the period's leads are not sorted.
Calibration: the closed leads with a stored win probability (``Lead.predicted_probability``, written by the scoring
layer from the active predictive model) cut into ten groups by that probability with NTILE(10); per group the mean
predicted probability against the observed share won, with its Wilson interval."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, Q, Sum, Window
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


def ntile_sizes(total: int, tiles: int = 10) -> list[int]:
    """The group sizes NTILE(tiles) gives ``total`` ranked rows: the first ``total % tiles`` groups one row larger;
    fewer rows than groups: one row each."""
    size, larger = divmod(total, tiles)
    return [size + 1 if index < larger else size for index in range(tiles) if size or index < larger]


def _money_sum(value) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


FIGURES = ("n", "won", "lost", "open", "deal_n", "deal_sum")


def _figures(rows):
    """Per group: leads, won, lost, open, and the won leads' deal values (how many, their sum)."""
    won = Q(outcome=Outcome.WON)
    return rows.annotate(n=Count("id"), won=Count("id", filter=won), lost=Count("id", filter=Q(outcome=Outcome.LOST)),
                         open=Count("id", filter=Q(outcome=Outcome.OPEN)),
                         deal_n=Count("deal_value", filter=won), deal_sum=Sum("deal_value", filter=won))


def decile_table(leads) -> list[dict]:
    """Per score decile (1 = the highest scores): score range, leads, won, lost, open, conversion of closed leads
    with its interval, average and total won deal value, median days to close (won).

    The deciles are NTILE(10) over the scored leads ranked by score (highest first, ties by id), without sorting
    them: the figures are grouped by score (a score has few values), the ranks of each score follow from the counts,
    and only a score whose leads straddle two deciles is split, by id, in a second statement over that score's
    leads. The medians then read the won leads alone, each placed by its score and id."""
    scored = leads.filter(score__isnull=False).order_by()
    per_score = sorted(_figures(scored.values("score")), key=lambda row: -row["score"])
    sizes = ntile_sizes(sum(row["n"] for row in per_score))
    # Walk the scores from the highest, filling each decile: (score, decile, leads of that score in it).
    parts, decile, room = [], 0, sizes[0] if sizes else 0
    for row in per_score:
        left = row["n"]
        while left:
            if not room:
                decile += 1
                room = sizes[decile]
            taken = min(left, room)
            parts.append((row["score"], decile + 1, taken))
            left, room = left - taken, room - taken
    leads_of = {row["score"]: row["n"] for row in per_score}
    split = {score for score, _, taken in parts if taken < leads_of[score]}
    whole = {score: decile for score, decile, _ in parts if score not in split}
    cuts = _split_scores(scored, split, parts)  # (score, decile) → figures, and the last id of the decile's part
    totals: dict[int, dict] = {}
    for row in per_score:
        pieces = [(whole[row["score"]], row)] if row["score"] in whole else [
            (decile, cuts[(row["score"], decile)]) for score, decile, _ in parts if score == row["score"]]
        for decile_number, figures in pieces:
            total = totals.setdefault(decile_number, {key: 0 for key in FIGURES} | {"scores": []})
            for key in FIGURES:
                total[key] += _money_sum(figures[key]) if key == "deal_sum" else figures[key]
            total["scores"].append(row["score"])
    medians = _won_medians(scored, whole, split, cuts, parts)
    rows = []
    for decile_number in sorted(totals):
        total = totals[decile_number]
        low, high = min(total["scores"]), max(total["scores"])
        closed = total["won"] + total["lost"]
        interval = wilson_interval(total["won"], closed)
        rows.append({
            "decile": decile_number, "scores": f"{low}–{high}" if low != high else str(low), "leads": total["n"],
            "won": total["won"], "lost": total["lost"], "open": total["open"], "closed": closed,
            "conversion": pct(total["won"], closed),
            "ci_low": interval[0] if interval else None, "ci_high": interval[1] if interval else None,
            "avg_deal": _money(total["deal_sum"] / total["deal_n"]) if total["deal_n"] else None,
            "total_deal": _money(total["deal_sum"]),
            "median_days_to_close": medians.get(decile_number),
        })
    return rows


def _split_scores(scored, split: set[int], parts: list[tuple]) -> dict:
    """For each score whose leads straddle deciles: the figures of each decile's part (its leads by id, in rank
    order) and that part's last id, from one windowed statement over those scores' leads only."""
    if not split:
        return {}
    inner, params = scored.filter(score__in=split).values("id", "score", "outcome", "deal_value")\
        .query.sql_with_params()
    cases, case_params, seen = [], [], {}
    for score, decile, taken in parts:
        if score in split:
            seen[score] = seen.get(score, 0) + taken
            cases.append("WHEN t.score = %s AND t.rn <= %s THEN %s")
            case_params += [score, seen[score], decile]
    won, lost, open_ = (f"SUM(CASE WHEN t.outcome = '{o}' THEN 1 ELSE 0 END)" for o in (Outcome.WON, Outcome.LOST,
                                                                                      Outcome.OPEN))
    sql = (f"SELECT t.score, CASE {' '.join(cases)} END AS d, COUNT(*), {won}, {lost}, {open_}, "
           f"COUNT(CASE WHEN t.outcome = '{Outcome.WON}' THEN t.deal_value END), "
           f"SUM(CASE WHEN t.outcome = '{Outcome.WON}' THEN t.deal_value END), MAX(t.id) "
           f"FROM (SELECT r.*, ROW_NUMBER() OVER (PARTITION BY r.score ORDER BY r.id) AS rn FROM ({inner}) r) t "
           "GROUP BY t.score, d")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*case_params, *params])
        return {(score, decile): dict(zip((*FIGURES, "last_id"), figures, strict=True))
                for score, decile, *figures in cursor.fetchall()}


def _won_medians(scored, whole: dict, split: set[int], cuts: dict, parts: list[tuple]) -> dict[int, float]:
    """Per decile, the median days to close of its won leads, each placed in its decile by its score (and, for a
    split score, its id against the parts' last ids)."""
    cases, params = [], []
    for score, decile, _ in parts:
        if score in split:
            cases.append("WHEN t.score = %s AND t.id <= %s THEN %s")
            params += [score, cuts[(score, decile)]["last_id"], decile]
    by_decile: dict[int, list[int]] = {}
    for score, decile in whole.items():
        by_decile.setdefault(decile, []).append(score)
    for decile, scores in by_decile.items():
        cases.append(f"WHEN t.score IN ({', '.join(['%s'] * len(scores))}) THEN %s")
        params += [*scores, decile]
    if not cases:
        return {}
    won, won_params = scored.filter(outcome=Outcome.WON, closed_at__isnull=False)\
        .values("id", "score", "closed_at", "created_at").query.sql_with_params()
    picked = percentiles_of(f"SELECT CASE {' '.join(cases)} END AS g, {days_between('t.closed_at', 't.created_at')} "
                            f"AS v FROM ({won}) t", [*params, *won_params], median_only=True)
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
