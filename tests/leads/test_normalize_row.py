"""Behavioural tests for leads.normalize.normalize_row: every inbound lead row passes through it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leads.normalize import (
    INPUT_COLUMNS,
    MAX_FIELD_LENGTH,
    FieldError,
    normalize_row,
)

VOCABULARY = {"software": "Technology", "saas": "Technology", "technology": "Technology", "banking": "Finance"}


def _row(**fields: object) -> dict[str, object]:
    """A minimal valid row, overridden by ``fields``."""
    return {"email": "jane@acme.com", **fields}


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
