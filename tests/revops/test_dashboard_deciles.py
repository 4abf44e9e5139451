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
