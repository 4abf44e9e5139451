"""A/B experiments: deterministic variants, variant thresholds or model, logged variant, report, frozen split."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from leads.models import Lead, LeadEvent
from scoring.choices import Variant
from scoring.experiments import variant_for
from scoring.models import ScoreChange, ScoringExperiment
from scoring.selectors import experiment_report
from scoring.services import (
    experiment_start,
    experiment_stop,
    lead_score,
    leads_rescore_bulk,
    scoring_model_new_version,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def leads_at_score_35(n: int) -> list[Lead]:
    """Leads with 35 fit points: not MQL at the fixture's threshold of 40."""
    return [Lead.objects.create(email=f"ab{i}@x.example", employees=200, seniority="vp", industry="Technology")
            for i in range(n)]


@pytest.fixture
def lower_mql(scoring_model):
    experiment = ScoringExperiment.objects.create(segment="default", name="MQL at 30", b_mql_threshold=30,
                                                  split_percent=50)
    return experiment_start(experiment_id=experiment.pk)


def test_variant_b_uses_its_thresholds_and_the_variant_is_logged(lower_mql):
    leads = leads_at_score_35(30)

    for lead in leads:
        lead_score(lead_id=lead.pk, cause="ingest", now=NOW)

    for lead in leads:
        lead.refresh_from_db()
        variant = variant_for(lower_mql.pk, 50, lead.pk)
        assert lead.stage == ("mql" if variant == Variant.B else "new")
        change = ScoreChange.objects.get(lead=lead)
        assert (change.variant, change.experiment_id) == (variant, lower_mql.pk)
        assert f"variant {variant}" in lead.history.first().history_change_reason
    assert {c.variant for c in ScoreChange.objects.all()} == {"A", "B"}


def test_a_leads_variant_never_flips_and_set_based_rescoring_agrees(lower_mql):
    leads = leads_at_score_35(20)
    for lead in leads:
        lead_score(lead_id=lead.pk, cause="ingest", now=NOW)
    stages = dict(Lead.objects.values_list("id", "stage"))

    summary = leads_rescore_bulk(cause="rescore", now=NOW)
    for lead in leads:
        lead_score(lead_id=lead.pk, cause="rescore", now=NOW)

    assert summary.changed == 0 and dict(Lead.objects.values_list("id", "stage")) == stages
    assert ScoreChange.objects.count() == len(leads)


def test_variant_b_can_be_a_whole_other_model(scoring_model):
    challenger = scoring_model_new_version(model_id=scoring_model.pk)
    challenger.rules.filter(reason_code="vp_or_above").update(points=0)
    experiment = ScoringExperiment.objects.create(segment="default", name="No title points",
                                                  variant_b_model=challenger, split_percent=100)
    experiment_start(experiment_id=experiment.pk)
    lead = leads_at_score_35(1)[0]

    result = lead_score(lead_id=lead.pk, cause="ingest")

    assert result.score == 20
    assert ScoreChange.objects.get(lead=lead).model_id == challenger.pk


def test_the_report_gives_leads_mql_sql_and_won_lost_per_variant(lower_mql):
    leads = leads_at_score_35(40)
    for lead in leads:
        lead_score(lead_id=lead.pk, cause="ingest", now=NOW)
    b_leads = [x for x in leads if variant_for(lower_mql.pk, 50, x.pk) == "B"]
    a_leads = [x for x in leads if variant_for(lower_mql.pk, 50, x.pk) == "A"]
    Lead.objects.filter(pk=b_leads[0].pk).update(outcome="won")
    Lead.objects.filter(pk=a_leads[0].pk).update(outcome="lost")
    for lead in b_leads[:2]:  # a demo request takes 35 + 30 = 65 ≥ 40 in A, and ≥ 30 in B; SQL at 70 in neither
        LeadEvent.objects.create(lead=lead, type="demo_request", occurred_at=NOW)
        lead_score(lead_id=lead.pk, cause="events", now=NOW)

    report = experiment_report(lower_mql.pk)

    a, b = report["variants"]
    assert (a["variant"], a["leads"], a["mql"], a["lost"], a["won"]) == ("A", len(a_leads), 0, 1, 0)
    assert (b["variant"], b["leads"], b["mql"], b["won"]) == ("B", len(b_leads), len(b_leads), 1)
    assert b["mql_rate"] == 1.0 and a["mql_rate"] == 0.0 and b["sql"] == 0
    assert b["conversion"] == pytest.approx(1 / len(b_leads)) and a["win_rate"] == 0.0


def test_a_started_experiment_keeps_its_split(lower_mql):
    lower_mql.split_percent = 80
    with pytest.raises(ValidationError, match="never flip"):
        lower_mql.full_clean()


def test_variant_b_needs_a_model_or_a_threshold(scoring_model):
    with pytest.raises(ValidationError, match="a model or at least one threshold"):
        ScoringExperiment(segment="default", name="empty").full_clean()


def test_stopping_puts_every_lead_back_on_the_active_model(lower_mql, inline_jobs,
                                                           django_capture_on_commit_callbacks):
    leads = leads_at_score_35(20)
    for lead in leads:
        lead_score(lead_id=lead.pk, cause="ingest")
    assert Lead.objects.filter(stage="mql").exists()

    with django_capture_on_commit_callbacks(execute=True):
        experiment_stop(experiment_id=lower_mql.pk)

    assert not Lead.objects.filter(stage="mql").exists()


def test_the_admin_shows_the_report_on_the_experiment_page(admin_client, lower_mql):
    for lead in leads_at_score_35(4):
        lead_score(lead_id=lead.pk, cause="ingest")
    page = admin_client.get(reverse("admin:scoring_scoringexperiment_change", args=[lower_mql.pk])).content.decode()
    assert "Reached MQL" in page and "A (the active model)" in page
    assert 'name="split_percent"' not in page  # frozen once started
