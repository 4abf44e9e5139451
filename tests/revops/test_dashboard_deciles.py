"""Score deciles and the predictive model's calibration against a hand-computed set: 20 scored leads (scores 1..20),
so each decile holds two leads; the closed ones and their probabilities are chosen so every figure is countable."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from leads.models import Lead
from revops.top.dashboards_deciles import calibration_table, decile_table

pytestmark = pytest.mark.django_db


def make(score=None, outcome="open", deal=None, days=None, probability=None) -> Lead:
    lead = Lead.objects.create(email=f"d{Lead.objects.count()}@x.example", score=score, outcome=outcome,
                               deal_value=deal, predicted_probability=probability)
    created = timezone.now() - timedelta(days=50)
    Lead.objects.filter(pk=lead.pk).update(
        created_at=created, closed_at=created + timedelta(days=days) if days is not None else None)
    return lead


@pytest.fixture
def twenty():
    """Scores 20 and 19 (decile 1): both won (1000 in 10 days, 3000 in 30 days). 18, 17 (decile 2): one won (500,
    4 days), one lost. 16..1: open, except 2 and 1 (decile 10): both lost. One unscored lead: in no decile."""
    make(20, "won", Decimal(1000), 10)
    make(19, "won", Decimal(3000), 30)
    make(18, "won", Decimal(500), 4)
    make(17, "lost", days=2)
    for score in range(16, 2, -1):
        make(score)
    make(2, "lost", days=1)
    make(1, "lost", days=1)
    make(None)


def test_deciles_cut_the_scored_leads_into_ten_equal_groups_highest_first(twenty):
    rows = decile_table(Lead.objects.live())
    assert [row["decile"] for row in rows] == list(range(1, 11))
    assert [row["leads"] for row in rows] == [2] * 10
    assert [row["scores"] for row in rows[:2]] == ["19–20", "17–18"] and rows[-1]["scores"] == "1–2"
    first, second, last = rows[0], rows[1], rows[-1]
    assert (first["won"], first["lost"], first["open"], first["conversion"]) == (2, 0, 0, 100.0)
    assert (first["avg_deal"], first["total_deal"], first["median_days_to_close"]) == (
        Decimal("2000.00"), Decimal("4000.00"), 20.0)
    assert (second["won"], second["lost"], second["conversion"], second["ci_low"], second["ci_high"]) == (
        1, 1, 50.0, 9.5, 90.5)
    assert (second["total_deal"], second["median_days_to_close"]) == (Decimal("500.00"), 4.0)
    assert (last["won"], last["lost"], last["conversion"], last["total_deal"]) == (0, 2, 0.0, Decimal("0.00"))
    assert rows[4]["conversion"] is None and rows[4]["open"] == 2


def test_calibration_compares_mean_predicted_probability_with_the_observed_share_won():
    # 20 closed leads with a probability: the top ten (0.9) won 9 of 10, the bottom ten (0.1) won 1 of 10.
    for index in range(10):
        make(50, "won" if index < 9 else "lost", days=3, probability=0.9)
        make(50, "won" if index < 1 else "lost", days=3, probability=0.1)
    make(50, "open", probability=0.5)  # open: not yet observable, left out
    rows = calibration_table(Lead.objects.live())
    assert [row["leads"] for row in rows] == [2] * 10
    top = rows[:5]
    assert sum(row["won"] for row in top) == 9 and all(row["predicted"] == 90.0 for row in top)
    assert sum(row["won"] for row in rows[5:]) == 1 and rows[-1]["predicted"] == 10.0
    assert rows[0]["range"] == "90–90 %"
    lost_pair = next(row for row in top if row["won"] == 1)
    assert (lost_pair["observed"], lost_pair["gap"], lost_pair["ci_low"], lost_pair["ci_high"]) == (
        50.0, -40.0, 9.5, 90.5)
    assert lost_pair["within_interval"] is True


@pytest.mark.parametrize("seed", range(8))
def test_deciles_match_ntile_on_generated_leads_with_ties(seed):
    """The deciles are computed from per-score counts, splitting a score that straddles two deciles by id: on
    generated leads (0 to 70 of them, scores with many ties, outcomes, deal values, days to close) every figure is
    the one of NTILE(10) over (score desc, id) computed directly."""
    import random
    from statistics import median

    from django.db.models import F, Window
    from django.db.models.functions import Ntile

    rng = random.Random(seed)
    scores = rng.choice([range(0, 3), range(0, 12), range(0, 101)])
    for _ in range(rng.choice([0, 3, 9, 10, 11, 37, 70])):
        outcome = rng.choice(["open", "won", "won", "lost"])
        make(rng.choice(scores), outcome, Decimal(rng.randrange(100, 900)) if outcome == "won" and rng.random() < 0.7
             else None, rng.randint(1, 40) if outcome != "open" else None)
    make(None)
    deciles = dict(Lead.objects.filter(score__isnull=False).annotate(
        decile=Window(Ntile(10), order_by=[F("score").desc(), F("id").asc()])).values_list("id", "decile"))
    expected = {}
    for lead in Lead.objects.filter(score__isnull=False):
        group = expected.setdefault(deciles[lead.pk], [])
        group.append(lead)
    rows = decile_table(Lead.objects.live())
    assert [row["decile"] for row in rows] == sorted(expected)
    for row in rows:
        group = expected[row["decile"]]
        won = [lead for lead in group if lead.outcome == "won"]
        deals = [lead.deal_value for lead in won if lead.deal_value is not None]
        low, high = min(lead.score for lead in group), max(lead.score for lead in group)
        assert row["scores"] == (f"{low}–{high}" if low != high else str(low))
        assert (row["leads"], row["won"], row["lost"], row["open"]) == (
            len(group), len(won), sum(lead.outcome == "lost" for lead in group),
            sum(lead.outcome == "open" for lead in group))
        assert row["total_deal"] == sum(deals, Decimal("0.00"))
        assert row["avg_deal"] == ((sum(deals) / len(deals)).quantize(Decimal("0.01")) if deals else None)
        days = [(lead.closed_at - lead.created_at).days for lead in won]
        assert row["median_days_to_close"] == (round(median(days), 1) if days else None)
