"""Whole inbound lead rows: the input columns, the field errors and flags, and ``normalize_row`` combining the
field normalizers into the values to store.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from revops.base.boundary import BoundaryError, attributes_check, key_clean, text_problem

from .amounts import decimal_from_text, employees_from_text, employees_to_size_band, parse_decimal
from .categories import normalize_consent, normalize_industry, normalize_outcome
from .country import normalize_country_text
from .email import email_domain, is_free_email_domain, normalize_email_text
from .phone import parse_phone_text
from .state import normalize_state
from .text import clean_text
from .title import classify_title
from .website import normalize_website_text

INPUT_COLUMNS: tuple[str, ...] = (
    "external_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "website",
    "title",
    "country",
    "state",
    "city",
    "postal_code",
    "industry",
    "employees",
    "annual_revenue",
    "source",
    "campaign",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "consent",
    "outcome",
    "deal_value",
)
_INPUT_COLUMN_SET = frozenset(INPUT_COLUMNS)

MAX_FIELD_LENGTH = 255
MAX_CUSTOM_FIELD_LENGTH = 2000

FLAG_PHONE_INVALID = "phone_invalid"
FLAG_COUNTRY_UNKNOWN = "country_unknown"
FLAG_INDUSTRY_UNKNOWN = "industry_unknown"
FLAG_WEBSITE_INVALID = "website_invalid"
FLAG_EMPLOYEES_INVALID = "employees_invalid"
FLAG_ANNUAL_REVENUE_INVALID = "annual_revenue_invalid"
FLAG_DEAL_VALUE_INVALID = "deal_value_invalid"


@dataclass(frozen=True)
class FieldError:
    """A problem with one field that prevents the row from being written."""

    field: str
    reason: str


@dataclass
class NormalizedRow:
    """The outcome of normalizing one inbound row.

    ``values`` holds the normalized input columns plus derived ones (``size_band``, ``seniority``, ...),
    ``custom`` the columns outside the contract, ``errors`` the problems that reject the row and ``flags``
    the problems that only mark it for review.
    """

    values: dict[str, Any]
    custom: dict[str, str]
    errors: list[FieldError]
    flags: list[str]

    @property
    def ok(self) -> bool:
        """True when the row has no errors and may be written."""
        return not self.errors


_PLAIN_TEXT_COLUMNS = frozenset(
    {
        "external_id",
        "first_name",
        "last_name",
        "company",
        "city",
        "source",
        "campaign",
        "utm_source",
        "utm_medium",
        "utm_campaign",
    }
)
# Columns an API client may send as real numbers/booleans rather than text.
_TYPED_COLUMNS = frozenset({"phone", "employees", "annual_revenue", "deal_value", "consent"})


def _column_name(key: Any) -> str:
    """Header name as a string, without the BOM and padding that spreadsheet exports add."""
    if key is None:
        # csv.DictReader files surplus cells of a too-long line under the key None.
        return "_unnamed"
    return str(key).lstrip("\ufeff").strip()


def _custom_value(value: Any) -> str:
    """A custom attribute as cleaned text (lists come from csv.DictReader's surplus cells)."""
    if isinstance(value, (list, tuple)):
        return ", ".join(text for text in map(clean_text, value) if text)
    return clean_text(value)


def _raw_text_problem(value: Any) -> str | None:
    """Why a raw value cannot enter (NUL, lone surrogate: revops.base.boundary.text_problem), or None."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, (list, tuple)):
        return next((p for p in (_raw_text_problem(v) for v in value) if p), None)
    return None


def _nfc(text: str) -> str:
    """Unicode NFC (the boundary's normal form): the same name typed on two keyboards is one string."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def _typed_or_text(typed: dict[str, Any], column: str, text: str) -> Any:
    """The original number/boolean for ``column`` when the client sent one, else its cleaned text."""
    value = typed.get(column)
    return value if isinstance(value, (int, float, Decimal)) else text


def normalize_row(row: Mapping[str, Any], *, industry_vocabulary: Mapping[str, str] | None = None) -> NormalizedRow:
    """Normalize one inbound lead row keyed by column name.

    Errors (row rejected): neither an email nor a phone, an invalid email, an unreadable consent or outcome,
    a field over its length limit. Flags (row kept, marked for review): invalid phone, unknown country,
    industry outside ``industry_vocabulary`` (only checked when one is given), unreadable website, employee
    count or amounts - their raw text is kept in ``<field>_raw``.
    """
    values: dict[str, Any] = {}
    custom: dict[str, str] = {}
    errors: list[FieldError] = []
    flags: list[str] = []
    texts: dict[str, str] = {}
    typed: dict[str, Any] = {}

    for key, raw_value in row.items():
        if key in _INPUT_COLUMN_SET:
            column = key
        else:
            column = _column_name(key)
            if column not in _INPUT_COLUMN_SET:
                # The input boundary (revops/base/boundary.py): a clean key of bounded length, a value without
                # NUL or lone surrogates.
                try:
                    key_clean(column)
                except BoundaryError as exc:
                    errors.append(FieldError(exc.field, exc.reason))
                    continue
                problem = _raw_text_problem(raw_value)
                if problem:
                    errors.append(FieldError(column, problem))
                    continue
                custom_text = _custom_value(raw_value)
                if custom_text:
                    if len(custom_text) > MAX_CUSTOM_FIELD_LENGTH:
                        errors.append(FieldError(column, f"longer than {MAX_CUSTOM_FIELD_LENGTH} characters"))
                    custom[column] = _nfc(custom_text)
                continue
        # clean_text's fast path, inlined: this loop runs for every field of every row.
        if raw_value.__class__ is str and raw_value.isprintable() and "  " not in raw_value and (
            not raw_value or (raw_value[0] != " " and raw_value[-1] != " ")
        ):
            text = raw_value
        else:
            # Only text that is not printable can hold a NUL or a lone surrogate: refused, not silently dropped.
            problem = _raw_text_problem(raw_value)
            if problem:
                errors.append(FieldError(column, problem))
                continue
            text = clean_text(raw_value)
        if not text.isascii():
            text = _nfc(text)
        if len(text) > MAX_FIELD_LENGTH:
            errors.append(FieldError(column, f"longer than {MAX_FIELD_LENGTH} characters"))
            # Keep the text for the error report but skip parsing: the row is rejected anyway.
            values[column] = text
            continue
        if column in _PLAIN_TEXT_COLUMNS:
            values[column] = text
            continue
        texts[column] = text
        if raw_value.__class__ is not str and column in _TYPED_COLUMNS:
            typed[column] = raw_value

    if len(custom) > 0:
        try:
            attributes_check(list(custom))
        except BoundaryError as exc:
            errors.append(FieldError(exc.field, exc.reason))

    if "postal_code" in texts:
        values["postal_code"] = texts["postal_code"].upper()

    region: str | None = None
    if "country" in texts:
        country_text = texts["country"]
        country, country_error = normalize_country_text(country_text)
        values["country"] = country
        # The raw text is kept only when it could not be resolved, for whoever reviews the flag.
        values["country_raw"] = "" if country else country_text
        if country_error:
            flags.append(FLAG_COUNTRY_UNKNOWN)
        region = country or None
    if "state" in texts:  # after the country: a US, Canadian or Australian state's name becomes its code
        values["state"] = normalize_state(texts["state"], values.get("country"))

    email = ""
    if "email" in texts:
        email, email_error = normalize_email_text(texts["email"])
        values["email"] = email
        if email_error:
            errors.append(FieldError("email", email_error))

    # An over-long phone is still a phone the lead gave us; it is already reported as too long.
    has_phone = "phone" in values
    if "phone" in texts:
        phone_value = typed.get("phone")
        phone_raw = (
            clean_text(int(phone_value))
            if isinstance(phone_value, float) and phone_value.is_integer()
            else texts["phone"]
        )
        e164, phone_error, extension = parse_phone_text(phone_raw, region)
        has_phone = bool(phone_raw)
        values["phone"] = e164
        # Stored next to the lead "as received, when it could not be parsed": a valid number needs no copy.
        values["phone_raw"] = "" if e164 else phone_raw
        values["phone_valid"] = bool(e164)
        values["phone_extension"] = extension
        if phone_error:
            flags.append(FLAG_PHONE_INVALID)

    if not email and not has_phone:
        errors.append(FieldError("email", "at least an email or a phone is required"))

    if "website" in texts or "email" in texts:
        website_text = texts.get("website", "")
        website, domain = normalize_website_text(website_text)
        if "website" in texts:
            values["website"] = website
            if website_text and not domain and website:
                flags.append(FLAG_WEBSITE_INVALID)
        if not domain and email:
            fallback = email_domain(email)
            domain = "" if is_free_email_domain(fallback) else fallback
        values["domain"] = domain

    if "title" in texts:
        title = texts["title"]
        values["title"] = title
        values["seniority"], values["department"] = classify_title(title) if title else ("", "")

    if "industry" in texts:
        if industry_vocabulary is None:
            values["industry"] = texts["industry"]
        else:
            industry, known = normalize_industry(texts["industry"], industry_vocabulary)
            values["industry"] = industry
            if not known:
                flags.append(FLAG_INDUSTRY_UNKNOWN)

    if "employees" in texts:
        employees_value = _typed_or_text(typed, "employees", texts["employees"])
        employees, size_band, employees_error = (
            employees_from_text(employees_value)
            if isinstance(employees_value, str)
            else employees_to_size_band(employees_value)
        )
        values["employees"] = employees
        values["size_band"] = size_band
        if employees_error:
            values["employees_raw"] = texts["employees"]
            flags.append(FLAG_EMPLOYEES_INVALID)

    for column, flag in (("annual_revenue", FLAG_ANNUAL_REVENUE_INVALID), ("deal_value", FLAG_DEAL_VALUE_INVALID)):
        if column in texts:
            amount_value = _typed_or_text(typed, column, texts[column])
            amount, amount_error = (
                decimal_from_text(amount_value, column)
                if isinstance(amount_value, str)
                else parse_decimal(amount_value, column)
            )
            values[column] = amount
            if amount_error:
                values[f"{column}_raw"] = texts[column]
                flags.append(flag)

    if "consent" in texts:
        values["consent"], consent_error = normalize_consent(typed.get("consent", texts["consent"]))
        if consent_error:
            errors.append(FieldError("consent", consent_error))

    if "outcome" in texts:
        values["outcome"], outcome_error = normalize_outcome(texts["outcome"])
        if outcome_error:
            errors.append(FieldError("outcome", outcome_error))

    return NormalizedRow(values=values, custom=custom, errors=errors, flags=flags)
