"""Behavioural tests for leads.normalize: employee counts, money, industry, consent, outcome and websites."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leads.normalize import (
    employees_to_size_band,
    normalize_consent,
    normalize_industry,
    normalize_outcome,
    normalize_website,
    parse_decimal,
)

VOCABULARY = {"software": "Technology", "saas": "Technology", "technology": "Technology", "banking": "Finance"}


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
