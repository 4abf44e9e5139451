"""A US, Canadian or Australian state typed as its name is stored as its code, so territories listing codes cover
it ("California" is in a territory of "CA, OR, WA"); elsewhere the text is kept; any text is accepted."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from hypothesis import given
from hypothesis import strategies as st

from leads.models import Lead
from leads.normalize.row import normalize_row
from leads.normalize.state import STATE_CODE_COUNTRIES, normalize_state, state_codes
from leads.services import lead_ingest


def test_a_state_name_becomes_its_code_in_the_three_countries():
    assert normalize_state("California", "US") == "CA"
    assert normalize_state("  new   YORK ", "US") == "NY"
    assert normalize_state("Québec", "CA") == "QC"  # accents ignored
    assert normalize_state("Western Australia", "AU") == "WA"
    assert normalize_state("ny", None) == "NY"  # a two-letter text is upper-cased, as before


def test_elsewhere_or_unknown_the_text_is_kept():
    assert normalize_state("Bavaria", "DE") == "Bavaria"
    assert normalize_state("Atlantis", "US") == "Atlantis"
    assert normalize_state("California", None) == "California"  # no country: nothing to look it up in


def test_the_row_and_the_stored_lead_carry_the_code(db):
    row = normalize_row({"email": "cal@example.com", "country": "United States", "state": "California"})
    assert row.values["state"] == "CA"
    lead = lead_ingest(data={"email": "ore@example.com", "country": "US", "state": "Oregon"}).lead
    lead.refresh_from_db()
    assert lead.state == "OR"


@given(st.text(max_size=40), st.sampled_from([*STATE_CODE_COUNTRIES, "DE", "", None]))
def test_any_text_gives_a_known_code_or_itself(text, country):
    result = normalize_state(text, country)
    known = set(state_codes((country or "").upper()).values())
    assert result in known or result in (text, text.upper())


@pytest.mark.parametrize("country", STATE_CODE_COUNTRIES)
def test_every_state_of_the_three_countries_has_a_two_or_three_letter_code(country):
    codes = state_codes(country)
    assert len(codes) >= 8 and all(2 <= len(code) <= 3 and code.isalpha() for code in codes.values())


def test_a_territory_of_state_codes_covers_a_lead_that_typed_the_states_name(db):
    from routing.models import Territory
    from routing.rules import CompiledTerritory

    west = CompiledTerritory.of(Territory(name="US West", countries="US", states="CA, OR, WA"))
    lead = lead_ingest(data={"email": "west@example.com", "country": "United States", "state": "california"}).lead
    lead.refresh_from_db()
    assert west.covers(country=lead.country, state=lead.state, postal_code="") is True
    assert west.covers(country="US", state="california", postal_code="") is False  # the text as typed, before


def test_leads_stored_with_a_state_name_before_get_its_code_from_the_migration_with_a_history_row(db):
    migration = importlib.import_module("leads.migrations.0017_state_names_to_codes")
    old = [Lead.objects.create(email=f"{n}@old.example", country=country, state=state)
           for n, (country, state) in enumerate([("US", "California"), ("US", "california "), ("CA", "Québec"),
                                                 ("DE", "Bavaria"), ("US", "Atlantis"), ("US", "TX")])]
    migration.state_names_to_codes(django_apps, None)
    assert [Lead.objects.get(pk=lead.pk).state for lead in old] == ["CA", "CA", "QC", "Bavaria", "Atlantis", "TX"]
    changed = {lead.pk for lead in old[:3]}
    rows = Lead.history.filter(history_change_reason=migration.REASON)
    assert {row.id: row.state for row in rows} == {old[0].pk: "CA", old[1].pk: "CA", old[2].pk: "QC"}
    assert all(Lead.objects.get(pk=pk).history.count() == 2 for pk in changed)  # created, then the migration
    assert ("leads", "0017_state_names_to_codes") in MigrationRecorder(connection).applied_migrations()
