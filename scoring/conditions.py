"""Conditions over lead fields: one operator, one configured value, one actual value.

Shared by fit rules, engagement-rule property filters and model segments. Values configured in the admin are text;
they are parsed once per rule (``compile_condition``) so scoring a lead does no parsing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

from .choices import Operator


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float | Decimal):
        return float(value)
    try:
        return float(Decimal(str(value).replace(",", "").strip()))
    except (InvalidOperation, ValueError):
        return None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip().lower()


def _items(config: str) -> frozenset[str]:
    return frozenset(part.strip().lower() for part in config.split(",") if part.strip())


def compile_condition(operator: str, config: str) -> Callable[[Any], bool]:
    """Turn an operator and its configured value into a predicate over one field value.

    Raises ValidationError with a readable message when the configured value does not fit the operator.
    """
    config = config or ""
    if operator == Operator.EQUALS:
        wanted = _text(config)
        return lambda v: _text(v) == wanted
    if operator == Operator.NOT_EQUALS:
        wanted = _text(config)
        return lambda v: _text(v) != wanted
    if operator == Operator.IN:
        items = _items(config)
        return lambda v: _text(v) in items
    if operator == Operator.NOT_IN:
        items = _items(config)
        return lambda v: _text(v) not in items
    if operator in (Operator.RANGE, Operator.GTE, Operator.LTE):
        if operator == Operator.RANGE:
            low_text, sep, high_text = config.partition("..")
            if not sep:
                raise ValidationError(f"range needs 'min..max' (either side may be empty), got {config!r}")
        elif operator == Operator.GTE:
            low_text, high_text = config, ""
        else:
            low_text, high_text = "", config
        low, high = _number(low_text), _number(high_text)
        if (low_text.strip() and low is None) or (high_text.strip() and high is None):
            raise ValidationError(f"{config!r} is not a number or a range of numbers")

        def in_range(v: Any) -> bool:
            number = _number(v)
            if number is None:
                return False
            return (low is None or number >= low) and (high is None or number <= high)

        return in_range
    if operator == Operator.CONTAINS:
        wanted = _text(config)
        return lambda v: wanted in _text(v)
    if operator == Operator.REGEX:
        try:
            pattern = re.compile(config, re.IGNORECASE)
        except re.error as exc:
            raise ValidationError(f"{config!r} is not a valid regular expression: {exc}") from exc
        return lambda v: v not in (None, "") and pattern.search(str(v)) is not None
    if operator == Operator.IS_EMPTY:
        return lambda v: v is None or v == "" or v == [] or v == {}
    if operator == Operator.IS_NOT_EMPTY:
        return lambda v: not (v is None or v == "" or v == [] or v == {})
    raise ValidationError(f"unknown operator {operator!r}")


def lead_field_value(values: dict[str, Any], field: str) -> Any:
    """A lead field by name; ``custom:NAME`` reads a custom attribute, ``account.NAME`` an account field."""
    if field.startswith("custom:"):
        return (values.get("custom") or {}).get(field.removeprefix("custom:"))
    return values.get(field)
