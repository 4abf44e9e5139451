"""Behavioural tests for leads.normalize: every inbound lead row passes through these helpers."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from decimal import Decimal
from types import SimpleNamespace

import pytest

from leads.normalize import (
    DEPARTMENT_CHOICES,
    FREE_EMAIL_DOMAINS,
    INPUT_COLUMNS,
    MAX_FIELD_LENGTH,
    SENIORITY_CHOICES,
    SIZE_BAND_CHOICES,
    FieldError,
    NormalizedRow,
    PhoneResult,
    build_country_table,
    clean_text,
    email_domain,
    employees_to_size_band,
    is_free_email_domain,
    normalize_consent,
    normalize_country,
    normalize_email,
    normalize_industry,
    normalize_outcome,
    normalize_phone,
    normalize_row,
    normalize_website,
    parse_decimal,
    title_to_seniority_department,
)

VOCABULARY = {"software": "Technology", "saas": "Technology", "technology": "Technology", "banking": "Finance"}


def _row(**fields: object) -> dict[str, object]:
    """A minimal valid row, overridden by ``fields``."""
    return {"email": "jane@acme.com", **fields}


# ------------------------------------------------------------------------------------------------------------------
# Contract
# ------------------------------------------------------------------------------------------------------------------


def test_it_exposes_the_input_columns_in_contract_order() -> None:
    assert INPUT_COLUMNS[:4] == ("external_id", "first_name", "last_name", "email")
    assert INPUT_COLUMNS[-3:] == ("consent", "outcome", "deal_value")
    assert len(INPUT_COLUMNS) == 23
    assert len(set(INPUT_COLUMNS)) == 23


def test_it_exposes_choices_whose_values_are_what_the_helpers_return() -> None:
    seniorities = {value for value, _ in SENIORITY_CHOICES}
    departments = {value for value, _ in DEPARTMENT_CHOICES}
    bands = {value for value, _ in SIZE_BAND_CHOICES}
    assert seniorities == {"c_level", "vp", "director", "manager", "senior", "individual", ""}
    assert departments == {
        "engineering", "sales", "marketing", "finance", "operations", "it", "hr", "product", "executive",
        "support", "legal", "",
    }
    assert bands == {"1-10", "11-50", "51-200", "201-1000", "1001-5000", "5001+", ""}


def test_it_makes_field_errors_and_phone_results_immutable() -> None:
    error = FieldError("email", "bad")
    with pytest.raises(FrozenInstanceError):
        error.reason = "other"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        PhoneResult(e164="", raw="", valid=False, error=None).raw = "x"  # type: ignore[misc]


def test_it_reports_a_row_ok_only_when_it_has_no_errors() -> None:
    assert NormalizedRow(values={}, custom={}, errors=[], flags=["phone_invalid"]).ok
    assert not NormalizedRow(values={}, custom={}, errors=[FieldError("email", "bad")], flags=[]).ok


# ------------------------------------------------------------------------------------------------------------------
# clean_text
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (42, "42"),
        ("  Jane  ", "Jane"),
        ("Jane \t\n  Doe", "Jane Doe"),
        ("Ja\x00ne\x07", "Jane"),
        ("Acme\u200b Corp\ufeff", "Acme Corp"),
        ("São\u00a0Paulo", "São Paulo"),
        ("already clean", "already clean"),
        (b"bytes value", "bytes value"),
    ],
)
def test_it_cleans_text_to_a_single_trimmed_line(value: object, expected: str) -> None:
    assert clean_text(value) == expected


# ------------------------------------------------------------------------------------------------------------------
# Email
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Jane.Doe@Acme.COM", "jane.doe@acme.com"),
        ("  jane@acme.com  ", "jane@acme.com"),
        ("mailto:Jane@Acme.com", "jane@acme.com"),
        ("MAILTO:jane@acme.com?subject=Hello", "jane@acme.com"),
        ("Jane Doe <jane@acme.com>", "jane@acme.com"),
        ("jane+newsletter@acme.co.uk", "jane+newsletter@acme.co.uk"),
        ("o'brien@acme.ie", "o'brien@acme.ie"),
        ("jane@acme.com;", "jane@acme.com"),
    ],
)
def test_it_normalizes_valid_email_addresses(value: str, expected: str) -> None:
    assert normalize_email(value) == (expected, None)


@pytest.mark.parametrize("value", ["abc", "jane@", "@acme.com", "jane@acme", "jane..doe@acme.com", "jane@localhost",
                                   "jane doe@acme.com", "a@b.c", "jane@acme.com, joe@acme.com"])
def test_it_rejects_invalid_email_addresses_with_a_readable_reason(value: str) -> None:
    address, reason = normalize_email(value)
    assert address == ""
    assert reason == f"'{value}' is not a valid email address"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_it_treats_an_empty_email_as_missing_not_invalid(value: object) -> None:
    assert normalize_email(value) == ("", None)


def test_it_shortens_huge_values_quoted_in_error_messages() -> None:
    _, reason = normalize_email("x" * 500)
    assert reason is not None
    assert len(reason) < 120
    assert reason.endswith("…' is not a valid email address")


def test_it_extracts_the_email_domain() -> None:
    assert email_domain("jane@Sales.Acme.com") == "sales.acme.com"
    assert email_domain("not an email") == ""
    assert email_domain("") == ""


@pytest.mark.parametrize(
    ("domain", "free"),
    [
        ("gmail.com", True),
        ("GMAIL.COM", True),
        ("web.de", True),
        ("qq.com", True),
        ("yahoo.com.br", True),
        ("gmx.at", True),
        ("acme.com", False),
        ("outlook.acme-corp.com", False),
        ("mail.acme.com", False),
    ],
)
def test_it_recognises_free_mail_providers(domain: str, free: bool) -> None:
    assert is_free_email_domain(domain) is free


def test_it_lists_the_major_free_mail_providers() -> None:
    expected = {"gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com", "proton.me",
                "gmx.de", "web.de", "yandex.ru", "mail.ru", "qq.com", "163.com"}
    assert expected <= FREE_EMAIL_DOMAINS


# ------------------------------------------------------------------------------------------------------------------
# Phone
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "region", "e164", "extension"),
    [
        ("+1 415 555 2671", None, "+14155552671", ""),
        ("+1 415 555 2671", "DE", "+14155552671", ""),
        ("(415) 555-2671", "US", "+14155552671", ""),
        ("415.555.2671", "US", "+14155552671", ""),
        ("415 555 2671", "us", "+14155552671", ""),
        ("tel:+14155552671", None, "+14155552671", ""),
        ("TEL:+1-415-555-2671;ext=123", None, "+14155552671", "123"),
        ("0049 30 123456", None, "+4930123456", ""),
        ("0049 30 123456", "DE", "+4930123456", ""),
        ("0049 30 123456", "US", "+4930123456", ""),
        ("030 123456", "DE", "+4930123456", ""),
        ("06 12 34 56 78", "NL", "+31612345678", ""),
        ("06 12 34 56 78", "FR", "+33612345678", ""),
        ("+44 (0)20 7946 0958", None, "+442079460958", ""),
        ("020 7946 0958", "GB", "+442079460958", ""),
        ("011 44 20 7946 0958", "US", "+442079460958", ""),
        ("0011 44 20 7946 0958", "AU", "+442079460958", ""),
        ("+1 415 555 2671 ext. 123", None, "+14155552671", "123"),
        ("(415) 555-2671 x45", "US", "+14155552671", "45"),
        (14155552671, "US", "+14155552671", ""),
    ],
)
def test_it_formats_phone_numbers_as_e164(value: object, region: str | None, e164: str, extension: str) -> None:
    result = normalize_phone(value, region)
    assert result == PhoneResult(e164=e164, raw=str(value), valid=True, error=None, extension=extension)


def test_it_formats_us_number_without_prefix_using_country() -> None:
    assert normalize_phone("(415) 555-2671", "US").e164 == "+14155552671"


def test_it_accepts_spreadsheet_floats_as_phone_numbers() -> None:
    result = normalize_phone(14155552671.0, "US")
    assert result.valid
    assert result.raw == "14155552671"


@pytest.mark.parametrize(
    ("value", "region", "reason"),
    [
        ("abc", "US", "'abc' is not a phone number"),
        ("12", "US", "'12' is too short for a US phone number"),
        ("555-0000", "US", "'555-0000' is not a valid US phone number"),
        ("(415) 555-2671", None, "'(415) 555-2671' has no country code and the lead has no country to take one from"),
        ("+999 123 456", None, "'+999 123 456' has an unknown country calling code"),
        ("+1234567890123456789", None, "'+1234567890123456789' is too long to be a phone number"),
    ],
)
def test_it_keeps_the_raw_text_of_unusable_phone_numbers(value: str, region: str | None, reason: str) -> None:
    assert normalize_phone(value, region) == PhoneResult(e164="", raw=value, valid=False, error=reason)


def test_it_does_not_guess_a_country_for_a_national_number_without_one() -> None:
    result = normalize_phone("4155552671", None)
    assert result.e164 == ""
    assert not result.valid


@pytest.mark.parametrize("value", [None, "", "  "])
def test_it_returns_an_empty_result_without_error_for_an_empty_phone(value: object) -> None:
    assert normalize_phone(value, "US") == PhoneResult(e164="", raw="", valid=False, error=None)


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


# ------------------------------------------------------------------------------------------------------------------
# Employees
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "employees", "band"),
    [
        ("8", 8, "1-10"),
        ("250", 250, "201-1000"),
        ("1,200", 1200, "1001-5000"),
        ("1.200", 1200, "1001-5000"),
        ("1 200", 1200, "1001-5000"),
        ("10k", 10000, "5001+"),
        ("1.5K", 1500, "1001-5000"),
        ("1000+", 1000, "201-1000"),
        ("10,001+", 10001, "5001+"),
        ("1-10", 1, "1-10"),
        ("11-50", 11, "11-50"),
        ("50-200", 50, "51-200"),
        ("201 - 500", 201, "201-1000"),
        ("5001–10000", 5001, "5001+"),
        ("~250 employees", 250, "201-1000"),
        (250, 250, "201-1000"),
        (12.0, 12, "11-50"),
        ("5000", 5000, "1001-5000"),
        ("5001", 5001, "5001+"),
    ],
)
def test_it_reads_employee_counts_into_size_bands(value: object, employees: int, band: str) -> None:
    assert employees_to_size_band(value) == (employees, band, None)


@pytest.mark.parametrize("value", ["lots", "12.5", "200-50", "-5", "0", "1.2.3", "10bn", True, 0, 20_000_000])
def test_it_rejects_unreadable_employee_counts(value: object) -> None:
    employees, band, reason = employees_to_size_band(value)
    assert (employees, band) == (None, "")
    assert reason is not None
    assert "is not a valid employee count" in reason


@pytest.mark.parametrize("value", [None, "", "  "])
def test_it_treats_an_empty_employee_count_as_unknown(value: object) -> None:
    assert employees_to_size_band(value) == (None, "", None)


# ------------------------------------------------------------------------------------------------------------------
# Money
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1,200,000", Decimal("1200000.00")),
        ("$1.2M", Decimal("1200000.00")),
        ("250k", Decimal("250000.00")),
        ("1.5 bn", Decimal("1500000000.00")),
        ("€ 300 000", Decimal("300000.00")),
        ("USD 2,500.50", Decimal("2500.50")),
        ("1.200.000,50 €", Decimal("1200000.50")),
        ("1,5 Mio. EUR", Decimal("1500000.00")),
        ("3 million dollars", Decimal("3000000.00")),
        ("1.200", Decimal("1200.00")),
        ("1.25", Decimal("1.25")),
        ("CHF 1'250'000", Decimal("1250000.00")),
        ("0", Decimal("0.00")),
        (1200, Decimal("1200.00")),
        (1.1, Decimal("1.10")),
        (Decimal("99.999"), Decimal("100.00")),
    ],
)
def test_it_parses_money_amounts(value: object, expected: Decimal) -> None:
    assert parse_decimal(value, "annual_revenue") == (expected, None)


@pytest.mark.parametrize("value", ["-5", "(500)", "-$1.2M", -3])
def test_it_rejects_negative_amounts(value: object) -> None:
    amount, reason = parse_decimal(value, "deal_value")
    assert amount is None
    assert reason == f"'{value}' is negative; deal_value cannot be negative"


@pytest.mark.parametrize("value", ["abc", "abc 100", "1.2.3", "12 34", "2e10", "12 apples", True, float("nan")])
def test_it_rejects_unreadable_amounts(value: object) -> None:
    amount, reason = parse_decimal(value, "annual_revenue")
    assert amount is None
    assert reason == f"'{value}' is not a valid amount for annual_revenue"


@pytest.mark.parametrize("value", ["5000 trillion", "100000000000000", 10**14])
def test_it_rejects_amounts_too_large_to_store(value: object) -> None:
    amount, reason = parse_decimal(value, "annual_revenue")
    assert amount is None
    assert reason == f"'{value}' is implausibly large for annual_revenue"


def test_it_accepts_the_largest_storable_amount() -> None:
    assert parse_decimal("99999999999999.99", "deal_value") == (Decimal("99999999999999.99"), None)


def test_it_treats_an_empty_amount_as_missing() -> None:
    assert parse_decimal("", "annual_revenue") == (None, None)
    assert parse_decimal(None, "annual_revenue") == (None, None)


# ------------------------------------------------------------------------------------------------------------------
# Industry, consent, outcome, website
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Software", ("Technology", True)),
        ("  SAAS ", ("Technology", True)),
        ("technology", ("Technology", True)),
        ("Crypto  Mining", ("Crypto Mining", False)),
        ("", ("", True)),
    ],
)
def test_it_maps_industries_through_the_vocabulary(value: str, expected: tuple[str, bool]) -> None:
    assert normalize_industry(value, VOCABULARY) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("yes", "opt_in"), ("Y", "opt_in"), ("TRUE", "opt_in"), ("1", "opt_in"), ("opt-in", "opt_in"),
        ("opt_in", "opt_in"), ("Subscribed", "opt_in"), (True, "opt_in"), (1, "opt_in"),
        ("no", "opt_out"), ("false", "opt_out"), ("0", "opt_out"), ("opt-out", "opt_out"),
        ("Opted Out", "opt_out"), ("unsubscribed", "opt_out"), (False, "opt_out"),
        ("", "unknown"), (None, "unknown"), ("unknown", "unknown"),
    ],
)
def test_it_normalizes_consent(value: object, expected: str) -> None:
    assert normalize_consent(value) == (expected, None)


@pytest.mark.parametrize("value", ["maybe", "2", "call me"])
def test_it_refuses_to_guess_unrecognised_consent(value: str) -> None:
    consent, reason = normalize_consent(value)
    assert consent == "unknown"
    assert reason is not None
    assert reason.startswith(f"'{value}' is not a recognised consent value")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("won", "won"), ("Closed Won", "won"), ("closed-won", "won"),
        ("lost", "lost"), ("closed-lost", "lost"), ("Closed Lost", "lost"),
        ("", "open"), (None, "open"), ("Open", "open"),
    ],
)
def test_it_normalizes_outcomes(value: object, expected: str) -> None:
    assert normalize_outcome(value) == (expected, None)


def test_it_rejects_unrecognised_outcomes() -> None:
    assert normalize_outcome("maybe") == ("open", "'maybe' is not a recognised outcome (use won, lost or open)")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://www.Acme.com/about?x=1", ("https://www.acme.com/about?x=1", "acme.com")),
        ("acme.com", ("https://acme.com", "acme.com")),
        ("WWW.ACME.COM:8080/path", ("https://www.acme.com:8080/path", "acme.com")),
        ("http://acme.com/", ("http://acme.com", "acme.com")),
        ("//acme.io", ("https://acme.io", "acme.io")),
        ("https://shop.acme.co.uk", ("https://shop.acme.co.uk", "shop.acme.co.uk")),
        ("n/a", ("", "")),
        ("", ("", "")),
        ("not a website", ("not a website", "")),
        ("ftp://acme.com", ("ftp://acme.com", "")),
        ("http://192.168.0.1", ("http://192.168.0.1", "")),
    ],
)
def test_it_normalizes_websites_and_extracts_the_domain(value: str, expected: tuple[str, str]) -> None:
    assert normalize_website(value) == expected


# ------------------------------------------------------------------------------------------------------------------
# normalize_row
# ------------------------------------------------------------------------------------------------------------------


def test_it_normalizes_a_complete_row() -> None:
    row = {
        "external_id": " crm-1 ",
        "first_name": "  Jane ",
        "last_name": "van  der Berg",
        "email": "Jane@Acme.com",
        "phone": "06 12 34 56 78",
        "company": "Acme  BV",
        "website": "www.acme.nl",
        "title": "VP of Sales",
        "country": "Nederland",
        "state": "nh",
        "city": " Amsterdam ",
        "postal_code": " 1012ab ",
        "industry": "SaaS",
        "employees": "51-200",
        "annual_revenue": "€ 1.5M",
        "source": "web",
        "campaign": "Spring",
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "brand",
        "consent": "yes",
        "outcome": "closed won",
        "deal_value": "12,000",
    }
    result = normalize_row(row, industry_vocabulary=VOCABULARY)
    assert result.ok
    assert result.flags == []
    assert result.custom == {}
    assert result.values == {
        "external_id": "crm-1",
        "first_name": "Jane",
        "last_name": "van der Berg",
        "email": "jane@acme.com",
        "phone": "+31612345678",
        "phone_raw": "",
        "phone_valid": True,
        "phone_extension": "",
        "company": "Acme BV",
        "website": "https://www.acme.nl",
        "domain": "acme.nl",
        "title": "VP of Sales",
        "seniority": "vp",
        "department": "sales",
        "country": "NL",
        "country_raw": "",
        "state": "NH",
        "city": "Amsterdam",
        "postal_code": "1012AB",
        "industry": "Technology",
        "employees": 51,
        "size_band": "51-200",
        "annual_revenue": Decimal("1500000.00"),
        "source": "web",
        "campaign": "Spring",
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "brand",
        "consent": "opt_in",
        "outcome": "won",
        "deal_value": Decimal("12000.00"),
    }


def test_it_requires_an_email_or_a_phone() -> None:
    result = normalize_row({"first_name": "Jane", "company": "Acme"})
    assert not result.ok
    assert result.errors == [FieldError("email", "at least an email or a phone is required")]


def test_it_requires_an_email_or_a_phone_even_when_both_columns_are_blank() -> None:
    result = normalize_row({"email": "  ", "phone": None})
    assert result.errors == [FieldError("email", "at least an email or a phone is required")]


def test_it_accepts_a_row_with_only_a_phone() -> None:
    result = normalize_row({"phone": "+1 415 555 2671"})
    assert result.ok
    assert result.values["phone"] == "+14155552671"


def test_it_counts_an_invalid_phone_as_contact_information() -> None:
    result = normalize_row({"phone": "call me maybe"})
    assert result.ok
    assert result.flags == ["phone_invalid"]
    assert result.values["phone"] == ""
    assert result.values["phone_raw"] == "call me maybe"
    assert result.values["phone_valid"] is False


def test_it_rejects_a_row_with_an_invalid_email() -> None:
    result = normalize_row({"email": "jane(at)acme.com", "phone": "+1 415 555 2671"})
    assert result.errors == [FieldError("email", "'jane(at)acme.com' is not a valid email address")]
    assert result.values["email"] == ""


def test_it_uses_the_lead_country_as_the_phone_region() -> None:
    result = normalize_row(_row(phone="(415) 555-2671", country="United States"))
    assert result.values["phone"] == "+14155552671"
    assert result.values["phone_valid"] is True
    assert result.flags == []


def test_it_flags_a_national_phone_when_the_country_is_unknown() -> None:
    result = normalize_row(_row(phone="(415) 555-2671", country="Atlantis"))
    assert result.ok
    assert result.flags == ["country_unknown", "phone_invalid"]
    assert result.values["country"] == ""
    assert result.values["country_raw"] == "Atlantis"
    assert result.values["phone_raw"] == "(415) 555-2671"


def test_it_flags_unknown_industries_but_keeps_the_text() -> None:
    result = normalize_row(_row(industry="  Crypto  Mining "), industry_vocabulary=VOCABULARY)
    assert result.ok
    assert result.flags == ["industry_unknown"]
    assert result.values["industry"] == "Crypto Mining"


def test_it_does_not_flag_industries_when_no_vocabulary_is_configured() -> None:
    result = normalize_row(_row(industry="Crypto"))
    assert result.flags == []
    assert result.values["industry"] == "Crypto"


def test_it_falls_back_to_the_email_domain_for_company_addresses() -> None:
    result = normalize_row({"email": "jane@Acme-Corp.com"})
    assert result.values["domain"] == "acme-corp.com"


@pytest.mark.parametrize("email", ["jane@gmail.com", "jane@yahoo.co.uk", "jane@web.de", "jane@qq.com"])
def test_it_does_not_take_the_domain_from_free_mail_addresses(email: str) -> None:
    assert normalize_row({"email": email}).values["domain"] == ""


def test_it_prefers_the_website_domain_over_the_email_domain() -> None:
    result = normalize_row({"email": "jane@acme-mail.com", "website": "https://www.acme.com/contact"})
    assert result.values["domain"] == "acme.com"
    assert result.values["website"] == "https://www.acme.com/contact"


def test_it_flags_a_website_without_a_usable_domain_and_falls_back_to_email() -> None:
    result = normalize_row({"email": "jane@acme.com", "website": "our site"})
    assert result.flags == ["website_invalid"]
    assert result.values["website"] == "our site"
    assert result.values["domain"] == "acme.com"


@pytest.mark.parametrize("column", ["first_name", "company", "title", "email", "phone", "country"])
def test_it_rejects_fields_longer_than_the_limit(column: str) -> None:
    huge = "x" * (MAX_FIELD_LENGTH + 1)
    result = normalize_row({"email": "jane@acme.com", "phone": "+1 415 555 2671", column: huge})
    assert FieldError(column, "longer than 255 characters") in result.errors
    assert not result.ok


def test_it_accepts_fields_exactly_at_the_limit() -> None:
    result = normalize_row(_row(company="x" * MAX_FIELD_LENGTH))
    assert result.ok
    assert len(result.values["company"]) == MAX_FIELD_LENGTH


def test_it_keeps_unknown_columns_as_custom_attributes() -> None:
    result = normalize_row(_row(favourite_colour="  deep   blue ", shoe_size=42, empty_one="  ", nothing=None))
    assert result.ok
    assert result.custom == {"favourite_colour": "deep blue", "shoe_size": "42"}
    assert "favourite_colour" not in result.values


def test_it_rejects_custom_values_longer_than_2000_characters() -> None:
    result = normalize_row(_row(notes="y" * 2001))
    assert result.errors == [FieldError("notes", "longer than 2000 characters")]
    assert normalize_row(_row(notes="y" * 2000)).ok


def test_it_keeps_surplus_csv_cells_under_a_named_custom_key() -> None:
    result = normalize_row({"email": "jane@acme.com", None: ["extra", "", "cells"]})
    assert result.custom == {"_unnamed": "extra, cells"}


def test_it_tolerates_a_byte_order_mark_on_the_first_header() -> None:
    result = normalize_row({"\ufeffemail": "jane@acme.com"})
    assert result.ok
    assert result.values["email"] == "jane@acme.com"
    assert result.custom == {}


def test_it_only_returns_given_columns_and_their_derived_values() -> None:
    result = normalize_row({"email": "jane@acme.com", "title": "CTO"})
    assert set(result.values) == {"email", "domain", "title", "seniority", "department"}


def test_it_never_returns_none_for_text_columns() -> None:
    row = {column: None for column in INPUT_COLUMNS}
    row["email"] = "jane@acme.com"
    result = normalize_row(row)
    numeric = {"employees", "annual_revenue", "deal_value"}
    assert set(INPUT_COLUMNS) <= set(result.values)
    assert all(isinstance(value, (str, bool)) for key, value in result.values.items() if key not in numeric)
    assert all(result.values[key] is None for key in numeric)


def test_it_upper_cases_two_letter_states_and_postal_codes() -> None:
    result = normalize_row(_row(state=" ca ", postal_code=" sw1a 1aa "))
    assert result.values["state"] == "CA"
    assert result.values["postal_code"] == "SW1A 1AA"
    assert normalize_row(_row(state="Bavaria")).values["state"] == "Bavaria"


def test_it_flags_unreadable_numbers_and_keeps_their_raw_text() -> None:
    result = normalize_row(_row(employees="lots", annual_revenue="huge", deal_value="-5"))
    assert result.ok
    assert result.flags == ["employees_invalid", "annual_revenue_invalid", "deal_value_invalid"]
    assert result.values["employees"] is None
    assert result.values["size_band"] == ""
    assert result.values["employees_raw"] == "lots"
    assert result.values["annual_revenue_raw"] == "huge"
    assert result.values["deal_value_raw"] == "-5"


def test_it_accepts_typed_values_from_api_clients() -> None:
    result = normalize_row(_row(employees=120, annual_revenue=2500000.5, deal_value=Decimal("900"), consent=True,
                                phone=14155552671.0, country="US"))
    assert result.ok
    assert result.values["employees"] == 120
    assert result.values["size_band"] == "51-200"
    assert result.values["annual_revenue"] == Decimal("2500000.50")
    assert result.values["deal_value"] == Decimal("900.00")
    assert result.values["consent"] == "opt_in"
    assert result.values["phone"] == "+14155552671"


def test_it_rejects_rows_with_unrecognised_consent_or_outcome() -> None:
    result = normalize_row(_row(consent="maybe", outcome="who knows"))
    assert [error.field for error in result.errors] == ["consent", "outcome"]
