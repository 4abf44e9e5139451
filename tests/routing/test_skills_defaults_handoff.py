"""Language skills, the VIP fast-track pattern, score-based defaults and the SDR → AE handoff at SQL."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import LeadEvent
from leads.services import lead_update
from routing.choices import RepRole, RuleAction, Strategy, TaskStatus
from routing.languages import language_code, lead_language
from routing.models import RoutingDecision, RoutingRule, Task, Team
from routing.services import lead_route, lead_stage_handoff, task_create_for_decision
from scoring.services import lead_score

from .factories import make_lead, make_reps, team_rule

pytestmark = pytest.mark.django_db


# --- Language -----------------------------------------------------------------------------------------------------


def test_it_reads_a_language_from_the_custom_attribute_before_the_country():
    assert lead_language(custom={"language": "de-CH"}, country="FR") == "de"
    assert lead_language(custom={"language": "Français"}, country="US") == "fr"
    assert lead_language(custom={}, country="es") == "es"
    assert lead_language(custom={"language": "Klingon"}, country="") == ""
    assert language_code("pt_BR") == "pt"


@pytest.fixture
def emea():
    team = Team.objects.create(name="EMEA")
    english, german, french = make_reps(team, 3)
    german.languages = "de, en"
    german.save()
    french.languages = "fr"
    french.save()
    rule = team_rule("EMEA by skills", team, strategy=Strategy.SKILLS)
    return team, {"en": english, "de": german, "fr": french}, rule


def test_skills_strategy_gives_a_lead_to_a_rep_speaking_its_language(emea):
    _, reps, _ = emea
    by_attribute = lead_route(lead_id=make_lead(country="GB", custom={"language": "fr"}).pk).decision
    by_country = lead_route(lead_id=make_lead(country="AT").pk).decision
    assert by_attribute.rep == reps["fr"]
    assert by_country.rep == reps["de"]
    assert by_country.explanation["skills"]["language"] == "de"
    assert by_country.explanation["language"] == "de"


def test_industry_and_language_skills_combine_and_fall_back_when_nobody_speaks_it(emea):
    _, reps, _ = emea
    reps["fr"].skills = "healthcare"
    reps["fr"].save()
    reps["de"].skills = "healthcare"
    reps["de"].save()
    german_health = lead_route(lead_id=make_lead(country="DE", industry="Healthcare").pk).decision
    assert german_health.rep == reps["de"]
    japanese = [lead_route(lead_id=make_lead(country="JP").pk).decision.rep for _ in range(3)]
    assert set(japanese) == set(reps.values())  # nobody speaks ja: the whole pool, in turn


def test_a_language_condition_holds_a_lead_until_its_language_is_known(emea, scoring_model, inline_jobs,
                                                                      django_capture_on_commit_callbacks):
    team, reps, rule = emea
    RoutingRule.objects.create(name="German speakers", order=1, languages="de", action=RuleAction.ASSIGN_REP,
                               rep=reps["de"])
    rule.countries = "FR"
    rule.save()
    lead = make_lead(country="")
    lead_route(lead_id=lead.pk)
    lead.refresh_from_db()
    assert lead.queue == "holding" and "language" in lead.queue_reason
    lead.custom = {"language": "Deutsch"}
    with django_capture_on_commit_callbacks(execute=True):
        lead_update(lead=lead, changed={"custom"})
    lead.refresh_from_db()
    assert lead.owner == reps["de"].user and lead.queue == ""


# --- VIP fast-track -----------------------------------------------------------------------------------------------


@pytest.fixture
def vip_setup():
    team = Team.objects.create(name="Mid")
    reps = make_reps(team, 2)
    vip_team = Team.objects.create(name="Strategic", overflow_team=team)
    vip = make_reps(vip_team, 1, role=RepRole.SENIOR_AE)[0]
    RoutingRule.objects.create(name="VIP: band A", order=1, bands="A", action=RuleAction.ASSIGN_REP, rep=vip)
    RoutingRule.objects.create(name="VIP: referral", order=2, sources="referral", action=RuleAction.ASSIGN_REP,
                               rep=vip)
    team_rule("Everyone else", team, order=50)
    return vip, reps


def test_vip_fast_track_sends_band_a_and_referrals_to_the_named_rep_first(vip_setup):
    vip, reps = vip_setup
    band_a = lead_route(lead_id=make_lead(band="A", score=90, source="webform").pk).decision
    referral = lead_route(lead_id=make_lead(band="C", score=30, source="Referral").pk).decision
    ordinary = lead_route(lead_id=make_lead(band="B", source="webform").pk).decision
    assert band_a.rep == vip and band_a.rule.name == "VIP: band A"
    assert referral.rep == vip and referral.rule.name == "VIP: referral"
    assert ordinary.rep in reps


def test_an_unavailable_vip_rep_overflows_to_their_teams_overflow_never_to_nobody(vip_setup):
    vip, reps = vip_setup
    vip.out_of_office_until = timezone.now() + timedelta(days=3)
    vip.save()
    decision = lead_route(lead_id=make_lead(band="A", score=90).pk).decision
    assert decision.rep in reps
    assert "overflow" in decision.summary and decision.explanation["candidates"][0]["skipped"].startswith("out of")


# --- Score-based defaults and the stage handoff -------------------------------------------------------------------


@pytest.fixture
def sales_org(db):
    """SQL → AEs (AE and senior AE roles), MQL → SDRs, below MQL → nurture: the score-based default rules."""
    sdr_team = Team.objects.create(name="SDR")
    ae_team = Team.objects.create(name="AE")
    sdrs = make_reps(sdr_team, 2, role=RepRole.SDR, prefix="sdr")
    aes = make_reps(ae_team, 1, role=RepRole.AE, prefix="ae") + make_reps(ae_team, 1, role=RepRole.SENIOR_AE,
                                                                           prefix="senior")
    make_reps(ae_team, 1, role=RepRole.SDR, prefix="ae_team_sdr")  # an SDR seconded to the AE team
    team_rule("SQL to AEs", ae_team, order=10, stages="sql", rep_roles="ae, senior_ae")
    team_rule("MQL to SDRs", sdr_team, order=20, stages="mql", rep_roles="sdr")
    RoutingRule.objects.create(name="Below MQL to nurture", order=90, stages="new, engaged",
                               action=RuleAction.QUEUE, queue="nurture")
    return {"sdrs": sdrs, "aes": aes}


def test_score_based_defaults_send_sql_to_aes_mql_to_sdrs_and_the_rest_to_nurture(sales_org):
    sql = [lead_route(lead_id=make_lead(stage="sql", score=85).pk).decision for _ in range(4)]
    mql = lead_route(lead_id=make_lead(stage="mql", score=55).pk).decision
    below = [make_lead(stage=stage, score=10) for stage in ("new", "engaged")]
    for lead in below:
        lead_route(lead_id=lead.pk)
        lead.refresh_from_db()
        assert lead.owner is None and lead.queue == "nurture"
    assert {d.rep for d in sql} == set(sales_org["aes"])  # never the SDR seconded to the AE team
    assert mql.rep in sales_org["sdrs"]
    assert not Task.objects.exists()


def _mql_lead_owned_by_an_sdr(scoring_model, sales_org):
    lead = make_lead(stage="new", score=None, band="", employees=300, seniority="vp", industry="Technology")
    now = timezone.now()
    LeadEvent.objects.create(lead=lead, type="demo_request", occurred_at=now - timedelta(hours=1))
    lead_score(lead_id=lead.pk)
    lead.refresh_from_db()
    assert lead.stage == "mql"
    decision = lead_route(lead_id=lead.pk).decision
    sdr_task = task_create_for_decision(decision_id=decision.pk)
    assert decision.rep in sales_org["sdrs"] and sdr_task.status == TaskStatus.OPEN
    lead.refresh_from_db()
    return lead, sdr_task


def test_an_sdr_lead_that_becomes_sql_is_handed_to_an_ae_with_a_new_task(
    scoring_model, sales_org, inline_jobs, django_capture_on_commit_callbacks
):
    lead, sdr_task = _mql_lead_owned_by_an_sdr(scoring_model, sales_org)
    sdr_user = lead.owner
    LeadEvent.objects.create(lead=lead, type="page_view", occurred_at=timezone.now(),
                             properties={"url": "https://x.example/pricing"})
    with django_capture_on_commit_callbacks(execute=True):
        lead_score(lead_id=lead.pk, cause="events")
    lead.refresh_from_db()
    assert lead.stage == "sql"
    assert lead.owner.rep in sales_org["aes"]
    handoff = RoutingDecision.objects.filter(lead=lead).first()
    assert handoff.cause == "stage handoff" and handoff.previous_owner == sdr_user
    assert handoff.rule.name == "SQL to AEs"
    sdr_task.refresh_from_db()
    assert sdr_task.status == TaskStatus.CANCELLED
    assert handoff.explanation["cancelled_tasks"] == [sdr_task.pk]
    new_task = Task.objects.get(lead=lead, status=TaskStatus.OPEN)
    assert new_task.assignee == lead.owner and new_task.decision == handoff
    assert lead.history.first().history_change_reason.startswith("automation:routing (stage handoff)")


def test_the_handoff_is_idempotent_and_leaves_non_sdr_owners_alone(sales_org):
    sdr_lead = make_lead(stage="sql", owner=sales_org["sdrs"][0].user)
    first = lead_stage_handoff(lead_id=sdr_lead.pk)
    second = lead_stage_handoff(lead_id=sdr_lead.pk)
    assert first.action == "assigned" and second.action == "noop"
    ae_lead = make_lead(stage="sql", owner=sales_org["aes"][0].user)
    assert lead_stage_handoff(lead_id=ae_lead.pk).action == "noop"
    mql_lead = make_lead(stage="mql", owner=sales_org["sdrs"][0].user)
    assert lead_stage_handoff(lead_id=mql_lead.pk).action == "noop"
    assert RoutingDecision.objects.filter(cause="stage handoff").count() == 1
