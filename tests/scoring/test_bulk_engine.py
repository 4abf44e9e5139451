"""The vectorized engine gives exactly the per-lead engine's numbers and reasons (pure: no database)."""

import random
from datetime import timedelta

import numpy as np
import pytest

from scoring.bulk_engine import EventColumns, LeadColumns, score_batch, to_us
from scoring.choices import DecayMode, Operator, RuleKind
from scoring.engine import EventView, PredictionView, score_lead
from scoring.experiments import variant_bucket, variant_buckets, variant_for
from tests.scoring.test_engine import FIELD_EXAMPLE, NOW, make_model

ENGAGEMENT = [
    dict(kind=RuleKind.ENGAGEMENT, dimension="behaviour", reason_code="pricing", event_type="page_view",
         property_key="url", property_operator=Operator.CONTAINS, property_value="/pricing", points=10, cap_points=30,
         window_days=30),
    dict(kind=RuleKind.ENGAGEMENT, dimension="behaviour", reason_code="open", event_type="email_open", points=1,
         cap_points=10, window_days=30),
    dict(kind=RuleKind.ENGAGEMENT, dimension="behaviour", reason_code="demo", event_type="demo_request", points=30),
    dict(kind=RuleKind.ENGAGEMENT, dimension="behaviour", reason_code="streak", event_type="page_view", points=15,
         frequency_count=3, frequency_hours=48, intent=True),
    dict(kind=RuleKind.ENGAGEMENT, dimension="negative", reason_code="bounce", event_type="email_bounce",
         points=-7, cap_points=-14),
    dict(kind=RuleKind.ENGAGEMENT, dimension="behaviour", reason_code="webinar", event_type="webinar_attended",
         points=5, frequency_count=1, frequency_hours=1),
]
FIT = FIELD_EXAMPLE + [
    dict(dimension="geography", reason_code="core", field="country", operator=Operator.IN, value="US, CA", points=5),
    dict(dimension="title", reason_code="student", field="title", operator=Operator.REGEX, value=r"\bstudent\b",
         points=-15),
    dict(dimension="other", reason_code="plan", field="custom:plan", operator=Operator.EQUALS, value="enterprise",
         points=8),
]
FIELDS = ["employees", "seniority", "industry", "country", "title", "custom:plan"]
TYPES = ["page_view", "email_open", "demo_request", "email_bounce", "webinar_attended", "other"]


def random_leads(rng: random.Random, n: int):
    leads, events = [], []
    for _ in range(n):
        values = {
            "employees": rng.choice([None, 5, 50, 120, 200, 5000]),
            "seniority": rng.choice(["", "vp", "manager", "c_level"]),
            "industry": rng.choice(["", "Technology", "Healthcare", "Retail"]),
            "country": rng.choice(["", "US", "DE", "ca"]),
            "title": rng.choice(["", "PhD Student", "VP Sales"]),
            "custom": rng.choice([{}, {"plan": "enterprise"}, {"plan": "free"}, {"plan": 1}]),
            "consent": rng.choice(["unknown", "unknown", "opt_in", "opt_out"]),
        }
        stage = rng.choice(["new", "engaged", "mql", "sql", "opportunity", "nurture", "re_engaged"])
        lead_events = []
        for _ in range(rng.choice([0, 0, 1, 3, 8, 20])):
            hours = rng.choice([rng.uniform(0, 24 * 120), 24 * 30, 24 * 60, 1, 47.9, 48.0])
            kind = rng.choice(TYPES)
            props = {"url": rng.choice(["https://x.example/pricing", "https://x.example/blog", None, 42])}
            lead_events.append(EventView(kind, NOW - timedelta(hours=hours, microseconds=rng.randrange(1000)), props))
        leads.append((values, stage))
        events.append(sorted(lead_events, key=lambda e: e.occurred_at, reverse=True))
    return leads, events


def columns(leads, events, probabilities=None, features=None):
    values = {name: [(v["custom"].get("plan") if name == "custom:plan" else v.get(name)) for v, _ in leads]
              for name in FIELDS}
    lead_columns = LeadColumns(ids=np.arange(1, len(leads) + 1, dtype=np.int64), stage=[s for _, s in leads],
                               consent=[v["consent"] for v, _ in leads], values=values,
                               probability=probabilities, features=features, model_version=3 if features else None)
    flat = [(i, e) for i, lead_events in enumerate(events) for e in lead_events]
    event_columns = EventColumns(
        lead_index=np.array([i for i, _ in flat], dtype=np.intp),
        type_code=np.array([TYPES.index(e.type) for _, e in flat], dtype=np.int32), type_names=TYPES,
        at_us=np.array([to_us(e.occurred_at) for _, e in flat], dtype=np.int64),
        properties={"url": [e.properties.get("url") for _, e in flat]},
    )
    return lead_columns, event_columns


@pytest.mark.parametrize("mode", [DecayMode.HALF_LIFE, DecayMode.LINEAR, DecayMode.STEP, DecayMode.NONE])
def test_bulk_scores_equal_per_lead_scores_field_by_field_and_reason_by_reason(mode):
    rng = random.Random(7)
    model = make_model(FIT + ENGAGEMENT, decay_mode=mode, decay_rate={"half_life": 30, "linear": 1.5}.get(mode, 25),
                       decay_step_days=14, dimension_caps={"title": 20, "industry": 8}, min_fit=10,
                       engagement_floor=-20, engagement_ceiling=60, predictive_weight=20)
    leads, events = random_leads(rng, 400)
    probabilities = np.array([rng.choice([np.nan, rng.random(), 0.525, 0.475]) for _ in leads])
    features = [[("industry=Technology", 0.41), ("employees", -0.2)] for _ in leads]
    lead_columns, event_columns = columns(leads, events, probabilities, features)

    batch = score_batch(model, lead_columns, event_columns, NOW)

    for i, ((values, stage), lead_events) in enumerate(zip(leads, events, strict=True)):
        prediction = None if np.isnan(probabilities[i]) else PredictionView(probabilities[i], features[i], 3)
        expected = score_lead(model, values, lead_events, NOW, current_stage=stage, prediction=prediction)
        got = (int(batch.fit[i]), int(batch.engagement[i]), int(batch.score[i]), batch.band[i], batch.stage[i])
        assert got == (expected.fit, expected.engagement, expected.score, expected.band, expected.stage), i
        assert batch.reasons(i) == expected.reasons, i


def test_a_lead_without_events_or_fit_data_scores_like_the_engine_says():
    model = make_model(FIT + ENGAGEMENT, min_fit=10)
    leads = [({"custom": {}, "consent": "unknown"}, "new")]
    lead_columns, event_columns = columns(leads, [[]])
    batch = score_batch(model, lead_columns, event_columns, NOW)
    expected = score_lead(model, leads[0][0], [], NOW)
    assert batch.fit_missing[0] and expected.fit_data_missing
    assert batch.reasons(0) == expected.reasons
    assert batch.stage[0] == "new"


def test_a_variant_is_the_same_in_python_and_numpy_and_splits_near_the_asked_share():
    ids = np.arange(1, 20_001)
    buckets = variant_buckets(42, ids)
    assert [variant_bucket(42, int(i)) for i in ids[:500]] == buckets[:500].tolist()
    share_b = float((buckets < 30).mean())
    assert 0.28 < share_b < 0.32
    assert variant_for(42, 30, 17) == variant_for(42, 30, 17)
    assert (variant_buckets(43, ids) != buckets).mean() > 0.9  # another experiment, another split
