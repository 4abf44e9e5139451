"""Choice fields hold to the vocabulary everywhere (admin, configuration as code, models), and a rule that can never
match is refused with the reason."""

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from leads.admin.lead import LeadAdminForm
from revops.top.config import ConfigError, config_export, config_import
from routing.choices import RuleAction
from routing.models import Rep, RoutingRule, SlaPolicy
from scoring.choices import Dimension, Operator, RuleKind
from scoring.models import ScoringRule

pytestmark = pytest.mark.django_db


def _errors(obj) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        obj.full_clean()
    return caught.value.message_dict


def test_every_bad_condition_value_is_refused_under_its_field(configured, team):
    rule = RoutingRule(name="Typos", order=3, action=RuleAction.ASSIGN_TEAM, team=team, bands="A, Z", stages="sqll",
                       countries="USA", languages="xx", seniorities="boss", industries="saas, Widgets")
    errors = _errors(rule)
    assert errors["bands"] == ["unknown bands: Z; use A, B, C, D"]
    assert errors["stages"][0].startswith("unknown stages: sqll; use new, engaged, mql, sql")
    assert errors["countries"] == ["not ISO 3166 alpha-2 country codes: USA"]
    assert errors["languages"] == ["not ISO 639-1 language codes: xx"]
    assert errors["seniorities"][0].startswith("unknown seniorities: boss; use c_level, vp")
    assert errors["industries"] == ["saas is a synonym: use Technology; widgets is not in the industry vocabulary"]


def test_a_rule_whose_territory_excludes_its_countries_can_never_match(configured, team, territories):
    rule = RoutingRule(name="Dead", order=3, action=RuleAction.ASSIGN_TEAM, team=team,
                       territory=territories["NA"], countries="DE")
    assert _errors(rule)["countries"] == [
        "this rule can never match: its territory North America covers CA, US, none of DE"]


def test_a_band_no_score_in_the_range_reaches_can_never_match(configured, team):
    rule = RoutingRule(name="Dead band", order=3, action=RuleAction.ASSIGN_TEAM, team=team, bands="A", max_score=50)
    assert "this rule can never match: bands A are never reached with a score between any and 50" in \
        _errors(rule)["bands"][0]
    rule.max_score = None
    rule.min_score = 75
    rule.full_clean()  # A starts at 70 under the active model: reachable


def test_sla_band_rep_languages_and_scoring_rule_values_are_checked(configured):
    assert "unknown band Z" in _errors(SlaPolicy(band="Z", minutes=30))["band"][0]
    rep = Rep.objects.first()
    rep.languages = "en, qq"
    assert _errors(rep)["languages"] == ["not ISO 639-1 language codes: qq"]
    rule = ScoringRule(model=configured["model"], kind=RuleKind.FIT, dimension=Dimension.GEOGRAPHY,
                       reason_code="us", label="US", field="country", operator=Operator.IN, value="US, USA", points=5)
    assert _errors(rule)["value"] == ["not ISO 3166 alpha-2 country codes: USA"]


def test_configuration_as_code_refuses_a_band_z_with_its_place(configured):
    data = config_export()
    data["routing_rules"][0]["bands"] = "Z"
    with pytest.raises(ConfigError) as caught:
        config_import(data)
    assert any(e.startswith("routing_rules[0].bands: unknown bands: Z") for e in caught.value.errors), \
        caught.value.errors
    assert not RoutingRule.objects.filter(bands="Z").exists()


def test_the_admin_refuses_band_z_and_lists_conditions_in_one_column(client, sales_manager, configured):
    rule = configured["rules"][0]
    client.force_login(sales_manager)
    url = reverse("admin:routing_routingrule_change", args=[rule.pk])
    page = client.get(url)
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update({"bands": "Z", "match_rep_territory": "", "active": "on"})
    data = {k: v for k, v in data.items() if v not in (False,)}
    response = client.post(url, data)
    assert response.status_code == 200
    assert "unknown bands: Z; use A, B, C, D" in response.content.decode()
    rule.refresh_from_db()
    assert rule.bands == ""
    listing = client.get(reverse("admin:routing_routingrule_changelist")).content.decode()
    assert "territory North America" in listing and "team Mid-Market (round robin)" in listing


def test_the_lead_form_holds_country_and_industry_to_the_vocabulary(configured):
    form = LeadAdminForm()
    form.cleaned_data = {"country": "usa", "industry": "SaaS"}
    with pytest.raises(forms.ValidationError, match="USA is not an ISO 3166 alpha-2 country code"):
        form.clean_country()
    with pytest.raises(forms.ValidationError, match="SaaS is a synonym: use Technology"):
        form.clean_industry()
    form.cleaned_data = {"country": "de", "industry": "technology"}
    assert (form.clean_country(), form.clean_industry()) == ("DE", "Technology")
