"""The scoring engine (pure: no database): fit, engagement, caps, frequency, decay, bands, stages, reasons."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError

from scoring.choices import DecayMode, Operator, RuleKind
from scoring.conditions import compile_condition
from scoring.engine import EventView, compile_model, decay_factor, score_lead

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def make_model(rules, **overrides):
    fields = dict(id=1, version=1, segment="default", band_a_min=70, band_b_min=40, band_c_min=20, mql_threshold=40,
                  sql_threshold=70, min_fit=0, decay_mode=DecayMode.NONE, decay_rate=30.0, decay_step_days=30,
                  engagement_floor=-100, engagement_ceiling=100, dimension_caps={})
    fields.update(overrides)
    rule_objects = []
    for index, rule in enumerate(rules):
        base = dict(id=index + 1, kind=RuleKind.FIT, dimension="other", reason_code=f"r{index}", label=f"rule {index}",
                    field="", operator="", value="", event_type="", property_key="", property_operator="",
                    property_value="", points=0, cap_points=None, window_days=None, frequency_count=None,
                    frequency_hours=None, active=True)
        base.update(rule)
        rule_objects.append(SimpleNamespace(**base))
    return compile_model(SimpleNamespace(**fields), rule_objects)


def event(kind, hours_ago=1.0, **props):
    return EventView(kind, NOW - timedelta(hours=hours_ago), props)


FIELD_EXAMPLE = [
    dict(dimension="company_size", reason_code="size_50_200", field="employees", operator=Operator.RANGE,
         value="50..200", points=10),
    dict(dimension="title", reason_code="vp_plus", field="seniority", operator=Operator.IN, value="vp, c_level",
         points=15),
    dict(dimension="industry", reason_code="target", field="industry", operator=Operator.EQUALS, value="Technology",
         points=10),
    dict(dimension="industry", reason_code="secondary", field="industry", operator=Operator.EQUALS,
         value="Healthcare", points=5),
]


def test_it_adds_the_field_example_points():
    model = make_model(FIELD_EXAMPLE)
    result = score_lead(model, {"employees": 120, "seniority": "vp", "industry": "Technology"}, [], NOW)
    assert result.fit == 35 and result.score == 35
    assert [r["code"] for r in result.reasons] == ["vp_plus", "size_50_200", "target"]


def test_negative_points_lower_the_score():
    model = make_model(FIELD_EXAMPLE + [dict(reason_code="student", field="title", operator=Operator.REGEX,
                                             value=r"\bstudent\b", points=-15)])
    result = score_lead(model, {"employees": 120, "title": "PhD Student"}, [], NOW)
    assert result.fit == -5


def test_dimension_cap_limits_points_and_says_so():
    rules = [dict(dimension="title", reason_code="a", field="seniority", operator=Operator.EQUALS, value="vp",
                  points=15),
             dict(dimension="title", reason_code="b", field="department", operator=Operator.EQUALS, value="sales",
                  points=15)]
    result = score_lead(make_model(rules, dimension_caps={"title": 20}), {"seniority": "vp", "department": "sales"},
                        [], NOW)
    assert result.fit == 20
    assert any(r["code"] == "cap_title" and r["points"] == -10 for r in result.reasons)


def test_engagement_cap_within_window_counts_only_recent_events():
    rules = [dict(kind=RuleKind.ENGAGEMENT, dimension="behaviour", reason_code="open", event_type="email_open",
                  points=1, cap_points=10, window_days=30)]
    events = [event("email_open", hours_ago=h) for h in range(1, 16)] + [event("email_open", hours_ago=24 * 40)]
    result = score_lead(make_model(rules), {}, events, NOW)
    assert result.engagement == 10


def test_property_filter_matches_only_pricing_pages():
    rules = [dict(kind=RuleKind.ENGAGEMENT, dimension="behaviour", reason_code="pricing", event_type="page_view",
                  property_key="url", property_operator=Operator.CONTAINS, property_value="/pricing", points=10)]
    events = [event("page_view", url="https://x.example/pricing"), event("page_view", url="https://x.example/blog")]
    assert score_lead(make_model(rules), {}, events, NOW).engagement == 10


def test_frequency_bonus_fires_once_for_three_visits_in_48_hours():
    rules = [dict(kind=RuleKind.ENGAGEMENT, dimension="behaviour", reason_code="streak", event_type="page_view",
                  points=15, frequency_count=3, frequency_hours=48)]
    model = make_model(rules)
    spread = [event("page_view", hours_ago=h) for h in (1, 60, 120)]
    clustered = [event("page_view", hours_ago=h) for h in (1, 10, 40, 45, 47)]
    assert score_lead(model, {}, spread, NOW).engagement == 0
    assert score_lead(model, {}, clustered, NOW).engagement == 15


@pytest.mark.parametrize(("mode", "rate", "age_days", "expected"), [
    (DecayMode.HALF_LIFE, 30, 30, 0.5),
    (DecayMode.HALF_LIFE, 30, 60, 0.25),
    (DecayMode.LINEAR, 2, 10, 0.8),
    (DecayMode.LINEAR, 2, 80, 0.0),
    (DecayMode.STEP, 25, 29, 1.0),
    (DecayMode.STEP, 25, 61, 0.5),
    (DecayMode.NONE, 0, 365, 1.0),
])
def test_decay_factor(mode, rate, age_days, expected):
    model = make_model([], decay_mode=mode, decay_rate=rate, decay_step_days=30)
    assert decay_factor(model, age_days) == pytest.approx(expected)


def test_old_engagement_decays_below_mql_and_the_stage_falls_back():
    rules = [dict(kind=RuleKind.ENGAGEMENT, dimension="behaviour", reason_code="demo", event_type="demo_request",
                  points=50)]
    model = make_model(rules + FIELD_EXAMPLE[:1], decay_mode=DecayMode.HALF_LIFE, decay_rate=30)
    fresh = score_lead(model, {"employees": 100}, [event("demo_request", hours_ago=1)], NOW)
    old = score_lead(model, {"employees": 100}, [event("demo_request", hours_ago=24 * 60)], NOW,
                     current_stage=fresh.stage)
    assert fresh.stage == "mql" and old.stage == "engaged"
    assert old.engagement == 12


def test_bands_follow_thresholds():
    model = make_model([dict(reason_code="x", field="industry", operator=Operator.IS_NOT_EMPTY, points=45)])
    assert score_lead(model, {"industry": "Retail"}, [], NOW).band == "B"
    assert score_lead(model, {}, [], NOW).band == "D"


def test_fit_gate_keeps_a_poor_fit_lead_away_from_sales_whatever_its_engagement():
    rules = FIELD_EXAMPLE + [dict(kind=RuleKind.ENGAGEMENT, dimension="behaviour", reason_code="demo",
                                  event_type="demo_request", points=100)]
    model = make_model(rules, min_fit=10, engagement_ceiling=200)
    result = score_lead(model, {"employees": 5000, "industry": "Retail"}, [event("demo_request")], NOW)
    assert result.score == 100 and result.stage == "engaged" and result.fit_gate_failed
    assert any(r["code"] == "fit_gate" for r in result.reasons)


def test_missing_fit_data_falls_back_to_behaviour_and_stops_at_mql():
    rules = FIELD_EXAMPLE + [dict(kind=RuleKind.ENGAGEMENT, dimension="behaviour", reason_code="demo",
                                  event_type="demo_request", points=100)]
    model = make_model(rules, min_fit=10, engagement_ceiling=200)
    result = score_lead(model, {}, [event("demo_request")], NOW)
    assert result.fit_data_missing and result.stage == "mql"


def test_opted_out_lead_is_suppressed_and_sales_stages_are_kept():
    model = make_model(FIELD_EXAMPLE)
    assert score_lead(model, {"consent": "opt_out"}, [], NOW).stage == "suppressed"
    assert score_lead(model, {"consent": "opt_out"}, [], NOW, current_stage="customer").stage == "customer"


@pytest.mark.parametrize(("operator", "config", "value", "expected"), [
    (Operator.EQUALS, "Technology", "technology", True),
    (Operator.NOT_EQUALS, "US", "DE", True),
    (Operator.IN, "US, CA", "ca", True),
    (Operator.NOT_IN, "US, CA", "DE", True),
    (Operator.RANGE, "50..200", "200", True),
    (Operator.RANGE, "50..", 10_000, True),
    (Operator.RANGE, "50..200", None, False),
    (Operator.GTE, "1000", 999, False),
    (Operator.LTE, "9", 9, True),
    (Operator.CONTAINS, "/pricing", "https://a/pricing?x", True),
    (Operator.REGEX, r"^(vp|svp)\b", "VP Sales", True),
    (Operator.IS_EMPTY, "", "", True),
    (Operator.IS_NOT_EMPTY, "", "x", True),
])
def test_conditions(operator, config, value, expected):
    assert compile_condition(operator, config)(value) is expected


@pytest.mark.parametrize(("operator", "config", "message"), [
    (Operator.RANGE, "50-200", "min..max"),
    (Operator.GTE, "lots", "not a number"),
    (Operator.REGEX, "(", "not a valid regular expression"),
])
def test_bad_condition_configuration_is_refused_with_a_reason(operator, config, message):
    with pytest.raises(ValidationError, match=message):
        compile_condition(operator, config)
