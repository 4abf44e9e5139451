"""Normalization of inbound lead rows (API, CSV import, web form) before they are written.

Everything here is pure Python: no Django models or settings are touched, so the package can run inside
import workers, management commands and tests alike. Data that lives in the database (the industry
vocabulary) is passed in by the caller. Each ``normalize_*`` helper returns its cleaned value together with a
human-readable reason when the input cannot be used; ``normalize_row`` combines them and decides which
problems reject a row (``errors``) and which only mark it for review (``flags``).

Where things are:

- ``text``: ``clean_text`` and the helpers every normalizer shares;
- ``email``: addresses, their domain, free-mail domains;
- ``phone``: E.164 parsing (``normalize_phone``, ``PhoneResult``);
- ``country``: names and codes to ISO alpha-2 (``normalize_country``, ``build_country_table``);
- ``title``: seniority and department from a job title;
- ``amounts``: employee counts, the size bands (``size_band_for``: their one definition) and money amounts;
- ``categories``: industry (through the vocabulary), consent and outcome;
- ``website``: URL and company domain;
- ``row``: the input columns, ``FieldError``, ``NormalizedRow``, the flags and ``normalize_row``;
- ``company``: the company directory's columns and ``normalize_company_row``.
"""

from .amounts import SIZE_BAND_CHOICES, employees_to_size_band, parse_decimal, size_band_for
from .categories import normalize_consent, normalize_industry, normalize_outcome
from .company import COMPANY_COLUMNS, normalize_company_row
from .country import build_country_table, normalize_country
from .email import FREE_EMAIL_DOMAINS, email_domain, is_free_email_domain, normalize_email
from .phone import PhoneResult, normalize_phone
from .row import (
    FLAG_ANNUAL_REVENUE_INVALID,
    FLAG_COUNTRY_UNKNOWN,
    FLAG_DEAL_VALUE_INVALID,
    FLAG_EMPLOYEES_INVALID,
    FLAG_INDUSTRY_UNKNOWN,
    FLAG_PHONE_INVALID,
    FLAG_WEBSITE_INVALID,
    INPUT_COLUMNS,
    MAX_CUSTOM_FIELD_LENGTH,
    MAX_FIELD_LENGTH,
    FieldError,
    NormalizedRow,
    normalize_row,
)
from .text import clean_text
from .title import DEPARTMENT_CHOICES, SENIORITY_CHOICES, title_to_seniority_department
from .website import normalize_website

__all__ = [
    "COMPANY_COLUMNS",
    "DEPARTMENT_CHOICES",
    "FLAG_ANNUAL_REVENUE_INVALID",
    "FLAG_COUNTRY_UNKNOWN",
    "FLAG_DEAL_VALUE_INVALID",
    "FLAG_EMPLOYEES_INVALID",
    "FLAG_INDUSTRY_UNKNOWN",
    "FLAG_PHONE_INVALID",
    "FLAG_WEBSITE_INVALID",
    "FREE_EMAIL_DOMAINS",
    "INPUT_COLUMNS",
    "MAX_CUSTOM_FIELD_LENGTH",
    "MAX_FIELD_LENGTH",
    "SENIORITY_CHOICES",
    "SIZE_BAND_CHOICES",
    "FieldError",
    "NormalizedRow",
    "PhoneResult",
    "build_country_table",
    "clean_text",
    "email_domain",
    "employees_to_size_band",
    "is_free_email_domain",
    "normalize_company_row",
    "normalize_consent",
    "normalize_country",
    "normalize_email",
    "normalize_industry",
    "normalize_outcome",
    "normalize_phone",
    "normalize_row",
    "normalize_website",
    "parse_decimal",
    "size_band_for",
    "title_to_seniority_department",
]
