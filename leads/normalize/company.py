"""Company directory rows (the CompanyProfile CSV): the columns and the row normalizer, on the lead normalizers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .amounts import employees_to_size_band, parse_decimal
from .categories import normalize_industry
from .country import normalize_country
from .row import FieldError
from .text import clean_text
from .website import normalize_website

COMPANY_COLUMNS: tuple[str, ...] = (
    "domain", "name", "industry", "employees", "annual_revenue", "country", "state", "city",
)
_COMPANY_LIMITS = {"name": 255, "industry": 100, "state": 100, "city": 100}


def normalize_company_row(row: Mapping[str, str], *, industry_vocabulary: Mapping[str, str] | None = None
                          ) -> tuple[dict[str, Any], list[FieldError]]:
    """Normalize one company directory row: ``(values, errors)``; empty cells are left out of ``values``.

    domain: any URL or host, reduced to the bare domain (required); industry: mapped through the vocabulary,
    kept as given when unknown; employees, annual_revenue, country: parsed as for leads, but an unreadable value
    is an error here (the directory has no flags).
    """
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    texts = {key: clean_text(row.get(key, "")) for key in COMPANY_COLUMNS}
    domain_text = texts["domain"]
    if not domain_text:
        errors.append(FieldError("domain", "is required"))
    else:
        domain = normalize_website(domain_text)[1]
        if domain:
            values["domain"] = domain
        else:
            errors.append(FieldError("domain", f'"{domain_text[:60]}" is not a valid domain'))
    for key, limit in _COMPANY_LIMITS.items():
        if len(texts[key]) > limit:
            errors.append(FieldError(key, f"longer than {limit} characters"))
    if texts["name"]:
        values["name"] = texts["name"]
    if texts["industry"]:
        values["industry"] = normalize_industry(texts["industry"], industry_vocabulary or {})[0]
    if texts["employees"]:
        employees, _, error = employees_to_size_band(texts["employees"])
        if error:
            errors.append(FieldError("employees", error))
        else:
            values["employees"] = employees
    if texts["annual_revenue"]:
        amount, error = parse_decimal(texts["annual_revenue"], "annual_revenue")
        if error:
            errors.append(FieldError("annual_revenue", error))
        else:
            values["annual_revenue"] = amount
    if texts["country"]:
        country, error = normalize_country(texts["country"])
        if error:
            errors.append(FieldError("country", error))
        elif country:
            values["country"] = country
    if texts["state"]:
        state = texts["state"]
        values["state"] = state.upper() if len(state) == 2 and state.isalpha() else state
    if texts["city"]:
        values["city"] = texts["city"]
    return values, errors
