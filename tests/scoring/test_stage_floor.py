"""The stage never moves backwards on rescoring past SQL: a lead with a meeting booked (SQL), an opportunity or a
customer keeps its stage when a rescore or the decay would put it back to MQL or lead; a re-engaged lead keeps its
stage unless the score earns SQL. The per-lead path and the set-based path agree."""

from datetime import UTC, datetime, timedelta

import pytest

from leads.models import Lead, LeadEvent
from scoring.choices import TriggerKind
from scoring.engine import stage_for
from scoring.models import ScoreTrigger
from scoring.selectors import scoring_config
from scoring.services import lead_score, leads_decay, leads_rescore_bulk

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FIT = dict(employees=200, seniority="vp", industry="Technology", country="US")  # 35 fit points in the fixture
LATER = NOW + timedelta(days=35)  # every pricing visit and open has left its 30-day window


def hot_lead(email: str, stage: str) -> Lead:
    """A lead whose events earn SQL today (35 fit + 30 pricing + 5 opens = 70) and nothing 35 days later."""
    lead = Lead.objects.create(email=email, **FIT)
    for days in (1, 2, 3):
        LeadEvent.objects.create(lead=lead, type="page_view", occurred_at=NOW - timedelta(days=days),
                                 properties={"url": "https://x.example/pricing"})
    for hours in range(5):
        LeadEvent.objects.create(lead=lead, type="email_open", occurred_at=NOW - timedelta(hours=hours + 1))
    lead_score(lead_id=lead.pk, cause="events", now=NOW)
    Lead.objects.filter(pk=lead.pk).update(stage=stage)
    return lead


def rescore(path: str) -> None:
    if path == "per_lead":
        for lead_id in Lead.objects.values_list("pk", flat=True):
            lead_score(lead_id=lead_id, cause="decay", now=LATER)
    else:
        leads_decay(now=LATER)


@pytest.mark.parametrize("path", ["per_lead", "bulk"])
@pytest.mark.parametrize("stage", ["sql", "opportunity", "customer"])
def test_a_decayed_score_never_takes_a_sql_opportunity_or_customer_back(scoring_model, path, stage):
    lead = hot_lead("held@x.example", stage)

    rescore(path)

    lead.refresh_from_db()
    assert lead.score == 35 and lead.stage == stage  # the score fell to fit only; the stage held
    assert not ScoreTrigger.objects.filter(lead=lead, kind__in=[TriggerKind.SQL_DOWN, TriggerKind.MQL_DOWN]).exists()


@pytest.mark.parametrize("path", ["per_lead", "bulk"])
def test_an_mql_still_decays_to_new_when_its_engagement_is_gone(scoring_model, path):
    lead = hot_lead("cooling@x.example", "mql")

    rescore(path)

    lead.refresh_from_db()
    assert lead.stage == "new"
    assert ScoreTrigger.objects.filter(lead=lead, kind=TriggerKind.MQL_DOWN).exists()


@pytest.mark.parametrize("path", ["per_lead", "bulk"])
def test_a_re_engaged_lead_keeps_its_stage_when_the_score_earns_less_than_sql(scoring_model, path):
    lead = hot_lead("back@x.example", "re_engaged")

    rescore(path)

    lead.refresh_from_db()
    assert lead.stage == "re_engaged"


@pytest.mark.parametrize("path", ["per_lead", "bulk"])
def test_a_re_engaged_lead_moves_up_to_sql_when_the_score_earns_it(scoring_model, path):
    lead = Lead.objects.create(email="climb@x.example", stage="re_engaged", **FIT)
    for days in (1, 2):
        LeadEvent.objects.create(lead=lead, type="demo_request", occurred_at=NOW - timedelta(days=days))

    if path == "per_lead":
        lead_score(lead_id=lead.pk, cause="events", now=NOW)
    else:
        leads_rescore_bulk(cause="events", queryset=Lead.objects.filter(pk=lead.pk), now=NOW)

    lead.refresh_from_db()
    assert lead.score >= 70 and lead.stage == "sql"
    assert list(ScoreTrigger.objects.filter(lead=lead).values_list("kind", flat=True)) == [TriggerKind.SQL_UP]


@pytest.mark.parametrize(("current", "score", "consent", "expected"), [
    ("sql", 35, "unknown", "sql"),
    ("sql", 50, "unknown", "sql"),
    ("sql", 90, "opt_out", "suppressed"),  # consent comes first
    ("re_engaged", 50, "unknown", "re_engaged"),
    ("re_engaged", 35, "unknown", "re_engaged"),
    ("re_engaged", 80, "unknown", "sql"),
    ("mql", 35, "unknown", "engaged"),
    ("opportunity", 10, "unknown", "opportunity"),
])
def test_stage_for_holds_the_floor_stages(scoring_model, current, score, consent, expected):
    model = scoring_config(fresh=True)[0].model
    stage, _ = stage_for(model, current=current, score=score, fit=35, engagement=max(score - 35, 1),
                         fit_data_missing=False, consent=consent)
    assert stage == expected
