"""Why this score adds up: the reasons of every lead sum to its score, whichever engine scored it; decayed points
say what they were worth; caps, the model's points, smaller reasons and the engagement limits are their own lines."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Lead
from revops.base.presentation import reason_lines
from scoring.choices import DecayMode, Dimension, Operator, RuleKind
from scoring.engine import EventView, PredictionView, compile_model, score_lead
from scoring.models import ScoringRule
from scoring.services import lead_score, leads_score_many
from tests.synthetic.scoring import open_leads

pytestmark = pytest.mark.django_db


def _decaying(model, *, ceiling=40):
    model.decay_mode, model.decay_rate, model.engagement_ceiling = DecayMode.HALF_LIFE, 14, ceiling
    model.save()
    return model


def test_the_reasons_of_every_generated_lead_sum_to_its_score_on_both_paths(scoring_model):
    _decaying(scoring_model)
    # A second title rule: a VP with "VP" in the title earns 25 title points, capped at 20.
    ScoringRule.objects.create(model=scoring_model, kind=RuleKind.FIT, dimension=Dimension.TITLE,
                               reason_code="vp_title", label="VP in the title", field="title",
                               operator=Operator.CONTAINS, value="VP", points=10)
    open_leads(400, seed=7, engaged_share=0.8, max_events=8, history_days=60)
    ids = list(Lead.objects.values_list("id", flat=True))
    leads_score_many(lead_ids=ids, cause="test")  # the set-based path (imports, rescoring)
    codes = set()
    for lead in Lead.objects.all():
        assert lead.score is not None
        assert sum(r["points"] for r in lead.score_reasons) == lead.score, (lead.pk, lead.score_reasons)
        codes |= {r["code"] for r in lead.score_reasons}
    for lead_id in ids[:60]:  # the one-by-one path (a lead arriving alone, an event)
        result = lead_score(lead_id=lead_id, cause="test")
        assert sum(r["points"] for r in result.reasons) == result.score
    # The data set exercises every kind of line: caps, limits, rounding, smaller reasons grouped.
    assert {"cap_title", "other_reasons", "engagement_ceiling"} <= codes, codes


def test_a_decayed_reason_says_what_it_was_worth(scoring_model):
    model = compile_model(_decaying(scoring_model, ceiling=100), list(scoring_model.rules.all()))
    now = timezone.now()
    result = score_lead(model, {"employees": 300}, [EventView("demo_request", now - timedelta(days=14), {})], now)
    demo = next(r for r in result.reasons if r["code"] == "demo_request")
    assert (demo["points"], demo["full"]) == (15, 30)
    line = next(line for line in reason_lines(result.reasons) if line.code == "demo_request")
    assert (line.label, line.points_text, line.note) == ("Requested a demo", "+15", "decayed from 30")
    assert sum(r["points"] for r in result.reasons) == result.score


def test_the_models_contribution_is_its_own_line_and_counts(scoring_model):
    scoring_model.predictive_weight = 20
    scoring_model.save()
    model = compile_model(scoring_model, list(scoring_model.rules.all()))
    now = timezone.now()
    result = score_lead(model, {"employees": 300, "seniority": "vp"}, [], now,
                        prediction=PredictionView(probability=0.6, features=[("VP or above", 0.8)], model_version=3))
    win = [r for r in result.reasons if r["code"] == "predicted_win"]
    assert len(win) == 1 and win[0]["points"] == 12
    assert sum(r["points"] for r in result.reasons) == result.score == 10 + 15 + 12
