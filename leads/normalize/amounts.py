"""Numbers people type: employee counts (with the size bands, defined here once) and money amounts."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import pycountry

from .text import clean_text, quoted

SIZE_BAND_CHOICES: tuple[tuple[str, str], ...] = (
    ("1-10", "1-10 employees"),
    ("11-50", "11-50 employees"),
    ("51-200", "51-200 employees"),
    ("201-1000", "201-1000 employees"),
    ("1001-5000", "1001-5000 employees"),
    ("5001+", "5001+ employees"),
    ("", "Unknown"),
)

# (inclusive upper bound, band); the last band is open-ended.
_SIZE_BAND_LIMITS: tuple[tuple[int, str], ...] = (
    (10, "1-10"),
    (50, "11-50"),
    (200, "51-200"),
    (1000, "201-1000"),
    (5000, "1001-5000"),
)
_OPEN_SIZE_BAND = "5001+"


def size_band_for(employees: int | None) -> str:
    """The size band containing a (positive) employee count; "" when the count is unknown.

    The one definition of the bands: ingest, enrichment and the bulk import all band employee counts here.
    """
    if employees is None:
        return ""
    for upper_bound, band in _SIZE_BAND_LIMITS:
        if employees <= upper_bound:
            return band
    return _OPEN_SIZE_BAND


_MULTIPLIERS: dict[str, int] = {
    "k": 10**3, "thousand": 10**3, "tsd": 10**3,
    "m": 10**6, "mm": 10**6, "mn": 10**6, "mio": 10**6, "million": 10**6, "millions": 10**6,
    "b": 10**9, "bn": 10**9, "bln": 10**9, "billion": 10**9, "billions": 10**9, "mrd": 10**9,
    "tn": 10**12, "trillion": 10**12,
}
_MULTIPLIER_PATTERN = "|".join(sorted(map(re.escape, _MULTIPLIERS), key=len, reverse=True))
_CURRENCY_SYMBOLS = "$€£¥₹₩₽₺₪₫฿₴₦₱¢₣₡₲₵₸₼₾"
_CURRENCY_WORD_PATTERN = rf"[{_CURRENCY_SYMBOLS}]|[a-z]{{1,2}}\$|[a-z]{{3}}|dollars?|euros?|pounds?"

# Digits with group/decimal separators. Spaces and apostrophes (Swiss "1'000") are only ever thousands
# separators, so they must be followed by exactly three digits: "12 34" is two numbers, not 1234.
_NUMBER_CORE = r"\d(?:[\d.,]|[ \u00a0\u202f'’](?=\d{3}(?!\d)))*"
_AMOUNT_RE = re.compile(
    rf"^(?P<sign>[-−+])?\s*(?:(?P<cur1>{_CURRENCY_WORD_PATTERN})\s*)?(?P<sign2>[-−])?\s*"
    rf"(?P<number>{_NUMBER_CORE})\s*(?:(?P<mult>{_MULTIPLIER_PATTERN})\b\.?)?\s*(?:(?P<cur2>{_CURRENCY_WORD_PATTERN}))?\Z"
)
_EMPLOYEE_NUMBER = rf"{_NUMBER_CORE}\s*(?:(?:{_MULTIPLIER_PATTERN})\b)?"
_EMPLOYEES_RE = re.compile(
    rf"^(?:~|approx\.?|approximately|about|around|circa|ca\.?|over|more than|>|≥|>=)?\s*"
    rf"(?P<low>{_EMPLOYEE_NUMBER})\s*(?:(?:-|–|—|to)\s*(?P<high>{_EMPLOYEE_NUMBER})|(?P<plus>\+))?"
    rf"\s*(?:employees?|staff|people|emps?|fte)?\Z"
)
_NUMBER_WITH_MULTIPLIER_RE = re.compile(rf"^(?P<number>{_NUMBER_CORE})\s*(?P<mult>{_MULTIPLIER_PATTERN})?\Z")
_GROUPED_RE = {sep: re.compile(rf"^[1-9]\d{{0,2}}(?:{re.escape(sep)}\d{{3}})+\Z") for sep in ".,"}
_CENTS = Decimal("0.01")
# Amounts are stored as DecimalField(max_digits=16, decimal_places=2): anything from 10^14 up cannot be saved
# and is a unit mix-up ("5000 trillion") rather than a real figure.
_MAX_AMOUNT = Decimal(10) ** 14
# Well above the largest employer on earth; a bigger count is a typo ("10bn") and would overflow the column.
_MAX_EMPLOYEES = 10_000_000


@lru_cache(maxsize=1)
def _currency_codes() -> frozenset[str]:
    """Lower-cased ISO 4217 codes, so "USD 1.2M" parses but "abc 1.2M" does not."""
    return frozenset(currency.alpha_3.lower() for currency in pycountry.currencies)


def _is_currency_word(word: str | None) -> bool:
    """True for an empty match or a currency symbol/code/word that may decorate an amount."""
    if not word or len(word) != 3 or not word.isalpha():
        return True
    return word in _currency_codes()


def _parse_number(number: str, has_multiplier: bool) -> Decimal | None:
    """Turn "1,200,000" / "1.200.000,50" / "1 200" / "1,5" into a Decimal, or None when the grouping is wrong.

    A single separator followed by exactly three digits is read as a thousands separator ("1.200" == 1200)
    unless a multiplier follows ("1.250k" == 1250), which only makes sense with a decimal point.
    """
    number = number.replace(" ", "").replace("\u00a0", "").replace("\u202f", "").replace("'", "").replace("’", "")
    has_dot, has_comma = "." in number, "," in number
    if has_dot and has_comma:
        decimal_sep = "." if number.rfind(".") > number.rfind(",") else ","
        group_sep = "," if decimal_sep == "." else "."
        integer_part, _, fraction = number.rpartition(decimal_sep)
        if decimal_sep in integer_part or not _GROUPED_RE[group_sep].match(integer_part):
            return None
        number = integer_part.replace(group_sep, "") + "." + fraction
    elif has_dot or has_comma:
        sep = "." if has_dot else ","
        integer_part, _, fraction = number.rpartition(sep)
        if number.count(sep) > 1:
            if not _GROUPED_RE[sep].match(number):
                return None
            number = number.replace(sep, "")
        elif len(fraction) == 3 and not has_multiplier and _GROUPED_RE[sep].match(number):
            number = integer_part + fraction
        else:
            number = integer_part + "." + fraction
    try:
        return Decimal(number)
    except InvalidOperation:
        return None


def _employee_count(text: str) -> int | None:
    """Parse one side of an employee count ("1,200", "10k"); None when it is not a whole number."""
    match = _NUMBER_WITH_MULTIPLIER_RE.match(text.strip())
    if not match:
        return None
    multiplier = match.group("mult")
    amount = _parse_number(match.group("number"), multiplier is not None)
    if amount is None:
        return None
    if multiplier:
        amount *= _MULTIPLIERS[multiplier]
    if amount != amount.to_integral_value():
        return None
    return int(amount)


def _employees_result(count: int, band_basis: int, shown: str) -> tuple[int | None, str, str | None]:
    """Final range check shared by numeric and textual employee counts."""
    if count < 1:
        return None, "", f"{quoted(shown)} is not a valid employee count: it must be at least 1"
    if count > _MAX_EMPLOYEES:
        return None, "", f"{quoted(shown)} is not a valid employee count: it is implausibly large"
    return count, size_band_for(max(band_basis, 1)), None


@lru_cache(maxsize=4096)
def employees_from_text(text: str) -> tuple[int | None, str, str | None]:
    """``employees_to_size_band`` for cleaned text; cached because enrichment tools emit a few fixed ranges."""
    if not text:
        return None, "", None
    match = _EMPLOYEES_RE.match(text.lower())
    count = high = None
    if match:
        count = _employee_count(match.group("low"))
        if match.group("high"):
            high = _employee_count(match.group("high"))
            if high is None or (count is not None and high < count):
                count = None
    if count is None:
        return None, "", f"{quoted(text)} is not a valid employee count"
    return _employees_result(count, (count + high) // 2 if high is not None else count, text)


def employees_to_size_band(value: Any) -> tuple[int | None, str, str | None]:
    """Return ``(employees, size_band, error)``.

    Accepts "250", "1,200", "1.200", "10k", "1000+" and ranges like "50-200". A range stores its lower bound
    (the only number the source actually vouches for) and the band of its midpoint, which for the usual
    LinkedIn-style ranges ("51-200", "201-500") is the band both ends lie in. "1000+" is banded by its
    lower bound. Empty input is ``(None, "", None)``.
    """
    if isinstance(value, bool):
        return None, "", f"{quoted(str(value))} is not a valid employee count"
    if isinstance(value, int):
        return _employees_result(value, value, str(value))
    if isinstance(value, float) and value.is_integer():
        return _employees_result(int(value), int(value), str(value))
    return employees_from_text(clean_text(value))


def _amount_result(amount: Decimal, shown: str, field: str) -> tuple[Decimal | None, str | None]:
    """Range check and rounding shared by numeric and textual amounts."""
    if amount < 0:
        return None, f"{quoted(shown)} is negative; {field} cannot be negative"
    if amount >= _MAX_AMOUNT:
        return None, f"{quoted(shown)} is implausibly large for {field}"
    return amount.quantize(_CENTS, rounding=ROUND_HALF_UP), None


@lru_cache(maxsize=4096)
def decimal_from_text(text: str, field: str) -> tuple[Decimal | None, str | None]:
    """``parse_decimal`` for cleaned text; cached because CRM exports repeat the same round figures."""
    if not text:
        return None, None
    lowered = text.lower()
    negative = False
    if lowered.startswith("(") and lowered.endswith(")"):
        # Accounting notation for a negative amount.
        negative, lowered = True, lowered[1:-1].strip()
    match = _AMOUNT_RE.match(lowered)
    if not match or not _is_currency_word(match.group("cur1")) or not _is_currency_word(match.group("cur2")):
        return None, f"{quoted(text)} is not a valid amount for {field}"
    multiplier = match.group("mult")
    amount = _parse_number(match.group("number"), multiplier is not None)
    if amount is None:
        return None, f"{quoted(text)} is not a valid amount for {field}"
    if multiplier:
        amount *= _MULTIPLIERS[multiplier]
    if negative or match.group("sign") in ("-", "−") or match.group("sign2"):
        amount = -amount
    return _amount_result(amount, text, field)


def parse_decimal(value: Any, field: str) -> tuple[Decimal | None, str | None]:
    """Parse a money amount such as "1,200,000", "$1.2M", "250k", "1.5 bn" or "€ 300 000".

    Currency symbols and ISO codes are ignored (the amount is stored in the account currency); the result
    is rounded to cents. Negative or implausibly large amounts are errors naming ``field``.
    """
    if isinstance(value, bool):
        return None, f"{quoted(str(value))} is not a valid amount for {field}"
    if isinstance(value, (int, float, Decimal)):
        try:
            # str() first: Decimal(0.1) would carry the binary float's full expansion.
            amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite():
            return None, f"{quoted(str(value))} is not a valid amount for {field}"
        return _amount_result(amount, str(value), field)
    return decimal_from_text(clean_text(value), field)
