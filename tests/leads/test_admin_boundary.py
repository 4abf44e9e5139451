"""A lead or an account edited in the admin passes the same input boundary as the API: text checked and normalised,
custom attributes capped; a value over a cap is an error under its field and nothing is saved."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from leads.models import Account, Lead
from tests.admin_forms import change_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(client, revops_admin) -> Lead:
    client.force_login(revops_admin)
    return Lead.objects.create(email="ann@acme.example", first_name="Ann", company="Acme", custom={"plan": "pro"})


def post(client, lead: Lead, **changes):
    data = change_form_data(client, f"/admin/leads/lead/{lead.pk}/change/")
    data.update(changes)
    return client.post(f"/admin/leads/lead/{lead.pk}/change/", data)


def test_a_name_typed_decomposed_is_stored_composed(client, lead):
    response = post(client, lead, first_name="Rene\u0301")
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.first_name == "Ren\u00e9"


def test_too_many_custom_attributes_is_an_error_under_the_field_and_nothing_is_saved(client, lead, settings):
    settings.LEADFLOW_MAX_CUSTOM_ATTRIBUTES = 5
    response = post(client, lead, custom=json.dumps({f"k{n}": n for n in range(6)}), first_name="Changed")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["custom"] == ["more than 5 custom attributes (6)"]
    lead.refresh_from_db()
    assert lead.custom == {"plan": "pro"} and lead.first_name == "Ann"


def test_custom_attributes_nested_too_deep_or_too_large_are_refused(client, lead, settings):
    settings.LEADFLOW_MAX_JSON_DEPTH = 3
    deep = post(client, lead, custom=json.dumps({"a": {"b": {"c": {"d": 1}}}}))
    assert deep.context["adminform"].form.errors["custom"] == ["nested deeper than 3 levels"]
    settings.LEADFLOW_MAX_PROPERTIES_BYTES = 100
    large = post(client, lead, custom=json.dumps({"notes": "x" * 200}))
    assert "larger than 100 bytes once encoded" in large.context["adminform"].form.errors["custom"][0]
    lead.refresh_from_db()
    assert lead.custom == {"plan": "pro"}


def test_an_account_name_passes_the_boundary_too(client, revops_admin, settings):
    client.force_login(revops_admin)
    settings.LEADFLOW_MAX_TEXT_LENGTH = 2000
    response = client.post("/admin/leads/account/add/", {"name": "Cafe\u0301 Oy", "domain": "cafe.example"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Account.objects.get().name == "Caf\u00e9 Oy"


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=120))
def test_any_text_typed_into_the_form_is_saved_normalised_or_refused_with_a_reason(client, lead, text):
    """Generated text in a text field: either saved (NFC, as the form strips it) or an error under that field,
    never a server error and never a half-written lead."""
    before = Lead.objects.get(pk=lead.pk).company
    response = post(client, lead, company=text)
    lead.refresh_from_db()
    if response.status_code == 302:
        assert lead.company == unicodedata.normalize("NFC", text.strip())
        return
    assert response.status_code == 200
    assert response.context["adminform"].form.errors.get("company")
    assert lead.company == before
