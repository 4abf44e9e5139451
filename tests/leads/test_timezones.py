"""A lead's time zone from its country and state (leads/timezones.py): a state's zone, a country's only zone, the
main zone of a country with several, None when nothing is known; any text gives a zone or None, never an error."""

import zoneinfo

from hypothesis import given
from hypothesis import strategies as st

from leads.timezones import lead_time_zone


def test_a_state_of_a_country_with_several_zones_gives_its_own_zone():
    assert lead_time_zone("US", "CA") == "America/Los_Angeles"
    assert lead_time_zone("us", "california") == "America/Los_Angeles"  # a name, any case
    assert lead_time_zone("US", "New York") == "America/New_York"
    assert lead_time_zone("US", "AZ") == "America/Phoenix"  # no daylight saving time there
    assert lead_time_zone("CA", "BC") == "America/Vancouver"
    assert lead_time_zone("CA", "Québec") == "America/Toronto"
    assert lead_time_zone("AU", "WA") == "Australia/Perth"


def test_a_country_without_a_known_state_gives_its_main_zone():
    assert lead_time_zone("US") == "America/Chicago"
    assert lead_time_zone("US", "Atlantis") == "America/Chicago"
    assert lead_time_zone("BR", "Amazonas") == "America/Sao_Paulo"  # no state table for Brazil: the main zone
    assert lead_time_zone("RU") == "Europe/Moscow"


def test_a_country_with_one_zone_gives_it():
    assert lead_time_zone("DE", "Bavaria") == "Europe/Berlin"
    assert lead_time_zone("GB") == "Europe/London"
    assert lead_time_zone("JP") == "Asia/Tokyo"
    assert lead_time_zone("IN") == "Asia/Kolkata"


def test_nothing_known_gives_none():
    assert lead_time_zone("") is None
    assert lead_time_zone(None, "CA") is None
    assert lead_time_zone("XX") is None


@given(st.one_of(st.none(), st.text(max_size=6)), st.one_of(st.none(), st.text(max_size=30)))
def test_any_text_gives_a_zone_of_this_machine_or_none(country, state):
    zone = lead_time_zone(country, state)
    assert zone is None or zoneinfo.ZoneInfo(zone).key == zone
