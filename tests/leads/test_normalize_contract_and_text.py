"""Behavioural tests for leads.normalize: the input contract (columns, choices, result types) and clean_text."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from leads.normalize import (
    DEPARTMENT_CHOICES,
    INPUT_COLUMNS,
    SENIORITY_CHOICES,
    SIZE_BAND_CHOICES,
    FieldError,
    NormalizedRow,
    PhoneResult,
    clean_text,
)

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
