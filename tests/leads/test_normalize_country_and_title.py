"""Behavioural tests for leads.normalize: countries and job titles."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from leads.normalize import (
    build_country_table,
    normalize_country,
    title_to_seniority_department,
)

# ------------------------------------------------------------------------------------------------------------------
# Country
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Codes, any case.
        ("DE", "DE"), ("de", "DE"), ("DEU", "DE"), ("fra", "FR"), ("gb", "GB"),
        # English, official and common names.
        ("Germany", "DE"), ("germany ", "DE"), ("United States of America", "US"), ("Russian Federation", "RU"),
        ("Korea, Republic of", "KR"), ("Viet Nam", "VN"), ("Czechia", "CZ"), ("Côte d'Ivoire", "CI"),
        ("Cote d’Ivoire", "CI"), ("Bahamas, The", "BS"), ("Trinidad & Tobago", "TT"), ("St. Lucia", "LC"),
        ("Türkiye", "TR"),
        # Common forms.
        ("USA", "US"), ("U.S.", "US"), ("U.S.A.", "US"), ("America", "US"), ("UK", "GB"), ("U.K.", "GB"),
        ("Great Britain", "GB"), ("England", "GB"), ("Scotland", "GB"), ("Wales", "GB"), ("Northern Ireland", "GB"),
        ("South Korea", "KR"), ("North Korea", "KP"), ("Russia", "RU"), ("Vietnam", "VN"), ("Holland", "NL"),
        ("The Netherlands", "NL"), ("Czech Republic", "CZ"), ("Ivory Coast", "CI"), ("UAE", "AE"), ("Iran", "IR"),
        ("Taiwan", "TW"), ("Bolivia", "BO"), ("Venezuela", "VE"), ("Tanzania", "TZ"), ("Syria", "SY"),
        ("Laos", "LA"), ("Moldova", "MD"), ("Macedonia", "MK"), ("Turkey", "TR"), ("Burma", "MM"),
        # Native names.
        ("Deutschland", "DE"), ("España", "ES"), ("Espana", "ES"), ("Brasil", "BR"), ("México", "MX"),
        ("Italia", "IT"), ("Schweiz", "CH"), ("Suisse", "CH"), ("Österreich", "AT"), ("OSTERREICH", "AT"),
        ("Nederland", "NL"), ("Sverige", "SE"), ("Norge", "NO"), ("Danmark", "DK"), ("Polska", "PL"),
        ("Россия", "RU"), ("日本", "JP"), ("中国", "CN"), ("Ελλάδα", "GR"), ("대한민국", "KR"),
    ],
)
def test_it_resolves_countries_to_iso_alpha_2(value: str, expected: str) -> None:
    assert normalize_country(value) == (expected, None)


@pytest.mark.parametrize("value", ["Atlantis", "Korea", "Narnia", "XX"])
def test_it_reports_unknown_countries(value: str) -> None:
    assert normalize_country(value) == ("", f"'{value}' is not a recognised country")


@pytest.mark.parametrize("value", [None, "", "  ", "n/a", "N/A"])
def test_it_treats_an_empty_or_placeholder_country_as_missing(value: object) -> None:
    assert normalize_country(value) == ("", None)


class _FakeCatalogue:
    """A translation catalogue with a fixed set of entries."""

    def __init__(self, entries: dict[str, str]) -> None:
        self.entries = entries

    def gettext(self, message: str, /) -> str:
        """Translate ``message`` or return it unchanged."""
        return self.entries.get(message, message)


_FAKE_COUNTRIES = [
    SimpleNamespace(alpha_2="AA", alpha_3="AAA", name="Alphaland"),
    SimpleNamespace(alpha_2="BB", alpha_3="BBB", name="Betaland", official_name="Republic of Betaland"),
    SimpleNamespace(alpha_2="CC", alpha_3="CCC", name="Gammaland"),
]


def test_it_drops_translated_country_names_that_point_at_two_countries() -> None:
    catalogues = [_FakeCatalogue({"Alphaland": "Zetania"}), _FakeCatalogue({"Betaland": "Zetania"})]
    table = build_country_table(_FAKE_COUNTRIES, catalogues, {})
    assert "zetania" not in table


def test_it_lets_an_english_name_settle_an_ambiguous_translation() -> None:
    catalogues = [_FakeCatalogue({"Alphaland": "Gammaland"}), _FakeCatalogue({"Betaland": "Gammaland"})]
    table = build_country_table(_FAKE_COUNTRIES, catalogues, {})
    assert table["gammaland"] == "CC"


def test_it_keeps_translated_country_names_that_agree_across_languages() -> None:
    catalogues = [_FakeCatalogue({"Betaland": "Betalandia"}), _FakeCatalogue({"Republic of Betaland": "Betalandia"})]
    table = build_country_table(_FAKE_COUNTRIES, catalogues, {"Beta": "BB"})
    assert table["betalandia"] == "BB"
    assert table["beta"] == "BB"
    assert table["republic of betaland"] == "BB"
    assert table["bbb"] == "BB"


def test_it_lets_aliases_override_translations() -> None:
    catalogues = [_FakeCatalogue({"Alphaland": "Alpha"})]
    table = build_country_table(_FAKE_COUNTRIES, catalogues, {"Alpha": "CC"})
    assert table["alpha"] == "CC"


# ------------------------------------------------------------------------------------------------------------------
# Title
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "seniority", "department"),
    [
        ("CEO", "c_level", "executive"),
        ("Chief Executive Officer", "c_level", "executive"),
        ("CTO", "c_level", "engineering"),
        ("Chief Technology Officer", "c_level", "engineering"),
        ("Chief Financial Officer", "c_level", "finance"),
        ("CMO", "c_level", "marketing"),
        ("Co-Founder", "c_level", "executive"),
        ("Founder & CTO", "c_level", "engineering"),
        ("Owner", "c_level", "executive"),
        ("President", "c_level", "executive"),
        ("VP Sales", "vp", "sales"),
        ("Vice President, Marketing", "vp", "marketing"),
        ("Vice-President Finance", "vp", "finance"),
        ("Vice President", "vp", ""),
        ("SVP Engineering", "vp", "engineering"),
        ("EVP Operations", "vp", "operations"),
        ("Head of People", "vp", "hr"),
        ("Head of IT", "vp", "it"),
        ("Director of Engineering", "director", "engineering"),
        ("Director", "director", ""),
        ("Engineering Manager", "manager", "engineering"),
        ("Customer Success Manager", "manager", "support"),
        ("Sales Operations Manager", "manager", "operations"),
        ("Team Lead, Support", "manager", "support"),
        ("Senior Software Engineer", "senior", "engineering"),
        ("Sr. Accountant", "senior", "finance"),
        ("Principal Product Designer", "senior", "product"),
        ("Staff Engineer", "senior", "engineering"),
        ("Account Executive", "individual", "sales"),
        ("Software Engineer", "individual", "engineering"),
        ("UI Developer", "individual", "engineering"),
        ("UX/UI Designer", "individual", "product"),
        ("Product Owner", "individual", "product"),
        ("General Counsel", "individual", "legal"),
        ("Recruiter", "individual", "hr"),
        ("Executive Assistant to the CEO", "individual", "executive"),
        ("Lead Generation Specialist", "individual", ""),
        ("Intern", "individual", ""),
        ("Geschäftsführer", "c_level", "executive"),
        ("", "", ""),
        (None, "", ""),
    ],
)
def test_it_derives_seniority_and_department_from_titles(title: str | None, seniority: str, department: str) -> None:
    assert title_to_seniority_department(title) == (seniority, department)


@pytest.mark.parametrize("title", ["Director", "Doctor", "Factory Worker", "Coordinator", "Prospector"])
def test_it_matches_title_keywords_on_word_boundaries_only(title: str) -> None:
    seniority, _ = title_to_seniority_department(title)
    assert seniority != "c_level"
