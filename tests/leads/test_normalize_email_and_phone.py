"""Behavioural tests for leads.normalize: e-mail addresses, free-mail domains and phone numbers."""

from __future__ import annotations

import pytest

from leads.normalize import (
    FREE_EMAIL_DOMAINS,
    PhoneResult,
    email_domain,
    is_free_email_domain,
    normalize_email,
    normalize_phone,
)

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
