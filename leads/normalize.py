"""Normalization of inbound lead rows (API, CSV import, web form) before they are written.

Everything here is pure Python: no Django models or settings are touched, so the module can run inside
import workers, management commands and tests alike. Each ``normalize_*`` helper returns its cleaned value
together with a human-readable reason when the input cannot be used; ``normalize_row`` combines them and
decides which problems reject a row (``errors``) and which only mark it for review (``flags``).
"""

from __future__ import annotations

import gettext
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import phonenumbers
import pycountry
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

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

SENIORITY_CHOICES: tuple[tuple[str, str], ...] = (
    ("c_level", "C-level"),
    ("vp", "VP"),
    ("director", "Director"),
    ("manager", "Manager"),
    ("senior", "Senior"),
    ("individual", "Individual contributor"),
    ("", "Unknown"),
)

DEPARTMENT_CHOICES: tuple[tuple[str, str], ...] = (
    ("engineering", "Engineering"),
    ("sales", "Sales"),
    ("marketing", "Marketing"),
    ("finance", "Finance"),
    ("operations", "Operations"),
    ("it", "IT"),
    ("hr", "HR"),
    ("product", "Product"),
    ("executive", "Executive"),
    ("support", "Support"),
    ("legal", "Legal"),
    ("", "Unknown"),
)

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

FREE_EMAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com", "googlemail.com",
        "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.es", "yahoo.it", "yahoo.co.jp", "ymail.com",
        "rocketmail.com",
        "hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "hotmail.es", "hotmail.it",
        "outlook.com", "outlook.fr", "outlook.de", "live.com", "live.co.uk", "live.fr", "msn.com",
        "icloud.com", "me.com", "mac.com",
        "aol.com", "aim.com",
        "proton.me", "protonmail.com", "protonmail.ch", "pm.me",
        "gmx.de", "gmx.net", "gmx.com", "gmx.at", "gmx.ch", "web.de", "t-online.de", "freenet.de",
        "yandex.ru", "yandex.com", "ya.ru", "mail.ru", "bk.ru", "inbox.ru", "list.ru", "rambler.ru",
        "qq.com", "163.com", "126.com", "yeah.net", "sina.com", "foxmail.com",
        "mail.com", "email.com", "zoho.com", "zohomail.com", "fastmail.com", "hey.com", "tutanota.com",
        "free.fr", "orange.fr", "laposte.net", "wanadoo.fr", "sfr.fr", "libero.it", "virgilio.it",
        "naver.com", "daum.net", "hanmail.net", "rediffmail.com", "seznam.cz", "wp.pl", "o2.pl", "interia.pl",
    }
)
# Providers that run the same consumer service under many country TLDs (gmail.co.il, yahoo.com.br, ...).
_FREE_EMAIL_PROVIDER_LABELS = frozenset({"gmail", "yahoo", "hotmail", "outlook", "aol", "gmx", "yandex"})

FLAG_PHONE_INVALID = "phone_invalid"
FLAG_COUNTRY_UNKNOWN = "country_unknown"
FLAG_INDUSTRY_UNKNOWN = "industry_unknown"
FLAG_WEBSITE_INVALID = "website_invalid"
FLAG_EMPLOYEES_INVALID = "employees_invalid"
FLAG_ANNUAL_REVENUE_INVALID = "annual_revenue_invalid"
FLAG_DEAL_VALUE_INVALID = "deal_value_invalid"

# Values people type to say "no value" rather than to name something.
_PLACEHOLDER_VALUES = frozenset({"n/a", "n.a.", "none", "null", "nil", "-", "--", "unknown", "not applicable"})

# Keeps error messages readable when someone pastes a whole paragraph into a field.
_MAX_QUOTED_LENGTH = 60


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


@dataclass(frozen=True)
class PhoneResult:
    """A parsed phone number; ``raw`` always keeps what was submitted so nothing is lost."""

    e164: str
    raw: str
    valid: bool
    error: str | None
    extension: str = ""


# --------------------------------------------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------------------------------------------

# C0/C1 control characters plus invisible characters that break equality checks; whitespace controls are
# handled by str.split() before this runs.
_INVISIBLE_CHARS_RE = re.compile("[\x00-\x1f\x7f-\x9f\u200b\u2060\ufeff]")


def clean_text(value: Any) -> str:
    """Return ``value`` as a single-line string: trimmed, inner whitespace collapsed, control chars removed."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():
        # Fast path for the overwhelmingly common case: nothing invisible, only plain spaces.
        return " ".join(text.split()) if "  " in text or text[:1] == " " or text[-1:] == " " else text
    return " ".join(_INVISIBLE_CHARS_RE.sub("", " ".join(text.split())).split())


def _quote(text: str) -> str:
    """Quote a submitted value for an error message, shortening it so messages stay readable."""
    if len(text) > _MAX_QUOTED_LENGTH:
        text = text[: _MAX_QUOTED_LENGTH - 1] + "…"
    return f"'{text}'"


def _strip_accents(text: str) -> str:
    """Remove Latin/Greek/Cyrillic diacritics, keeping the marks that other scripts need to stay distinct."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    # Only the generic combining diacritics block: stripping e.g. Devanagari vowel signs would make
    # different words collide.
    return "".join(ch for ch in decomposed if not "\u0300" <= ch <= "\u036f")


# --------------------------------------------------------------------------------------------------------------
# Email
# --------------------------------------------------------------------------------------------------------------

# An empty allowlist: Django accepts "user@localhost" by default, which is never a real lead.
_email_validator = EmailValidator(allowlist=[])
# A strict subset of what Django's EmailValidator accepts (plain dot-atom local part, LDH labels, alphabetic
# TLD): the common case passes this one compiled regex, and only the rest pays for Django's lazy regexes.
_PLAIN_EMAIL_RE = re.compile(
    r"^[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z"
)
_MAILTO_RE = re.compile(r"^mailto:", re.IGNORECASE)
_ANGLE_ADDRESS_RE = re.compile(r"<([^<>]*)>\s*$")
_MAX_EMAIL_LENGTH = 320


def _is_valid_email(address: str) -> bool:
    """Django's email validation, with a fast path for ordinary addresses."""
    if len(address) <= _MAX_EMAIL_LENGTH and _PLAIN_EMAIL_RE.match(address):
        return True
    try:
        _email_validator(address)
    except ValidationError:
        # Only the boolean matters: rendering Django's message would need settings for translations.
        return False
    return True


def _normalize_email_text(text: str) -> tuple[str, str | None]:
    """``normalize_email`` for text that has already been through ``clean_text``."""
    if not text:
        return "", None
    address = text
    if "<" in address:
        match = _ANGLE_ADDRESS_RE.search(address)
        if match:
            address = match.group(1).strip()
    if address[:7].lower() == "mailto:":
        address = _MAILTO_RE.sub("", address).split("?", 1)[0].strip()
    # Separators left over from copying a list of addresses out of a mail client.
    address = address.rstrip(";,").lower()
    if not _is_valid_email(address):
        return "", f"{_quote(text)} is not a valid email address"
    return address, None


def normalize_email(value: Any) -> tuple[str, str | None]:
    """Return ``(address, error)`` with the address lower-cased and unwrapped from ``mailto:`` / ``Name <addr>``.

    An empty value is not an error; an unusable one returns ``("", reason)``.
    """
    return _normalize_email_text(clean_text(value))


def email_domain(email: str) -> str:
    """Return the lower-cased domain part of an email address, or "" when there is none."""
    if not email or "@" not in email:
        return ""
    return email.rsplit("@", 1)[1].strip().rstrip(".").lower()


def is_free_email_domain(domain: str) -> bool:
    """True when ``domain`` belongs to a consumer mailbox provider and so says nothing about the employer."""
    domain = domain.lower()
    if domain in FREE_EMAIL_DOMAINS:
        return True
    first_label, _, suffix = domain.partition(".")
    # gmail.com.br, yahoo.co.in, ...: a known provider label followed only by a (possibly two-part) public
    # suffix; "outlook.acme-corp.com" is somebody's own mail server.
    return first_label in _FREE_EMAIL_PROVIDER_LABELS and bool(suffix) and suffix.count(".") <= 1 and len(suffix) <= 6


# --------------------------------------------------------------------------------------------------------------
# Phone
# --------------------------------------------------------------------------------------------------------------

_TEL_PREFIX_RE = re.compile(r"^tel:\s*", re.IGNORECASE)
_NON_DIGITS_RE = re.compile(r"\D")
# Numbers written with nothing but digits, an optional "+" and layout characters. phonenumbers would drop
# the layout itself, one Python-level character at a time; handing it bare digits gives the same number and
# validity (checked against 300,000 generated numbers) about 3 µs faster, which matters at 20,000 rows/s.
# "/" is not layout: it separates two numbers ("030 1234 / 030 5678"), which phonenumbers handles itself.
_PLAIN_PHONE_RE = re.compile(r"^\+?[\d ().-]+\Z")
_PHONE_LAYOUT_RE = re.compile(r"[ ().-]")
_PARSE_ERROR_REASONS = {
    phonenumbers.NumberParseException.NOT_A_NUMBER: "is not a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "is too short to be a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "is too short to be a phone number",
    phonenumbers.NumberParseException.TOO_LONG: "is too long to be a phone number",
}
_POSSIBILITY_REASONS = {
    phonenumbers.ValidationResult.TOO_SHORT: "is too short",
    phonenumbers.ValidationResult.TOO_LONG: "is too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "has the wrong number of digits",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "has an unknown country code",
}


@lru_cache(maxsize=512)
def _international_prefix_pattern(region: str | None) -> re.Pattern[str] | None:
    """The compiled international (IDD) dialling prefix of ``region``, e.g. 00 for DE and 011 for US."""
    if region is None:
        return None
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or not metadata.international_prefix:
        return None
    return re.compile(metadata.international_prefix)


def _region_dials_out_with(region: str | None, digits: str) -> bool:
    """True when ``region``'s own international prefix matches the start of ``digits``."""
    pattern = _international_prefix_pattern(region)
    return pattern is not None and pattern.match(digits) is not None


def normalize_phone(value: Any, default_region: str | None) -> PhoneResult:
    """Parse a phone number into E.164.

    ``default_region`` (the lead's ISO alpha-2 country) is used only when the number carries no international
    prefix. An unparseable or invalid number keeps its raw text and gets an error reason: it is never dropped
    and never guessed.
    """
    if isinstance(value, float) and value.is_integer():
        # Spreadsheets hand phone columns over as floats (14155552671.0).
        value = int(value)
    raw = clean_text(value)
    e164, error, extension = _parse_phone_text(raw, default_region)
    return PhoneResult(e164=e164, raw=raw, valid=bool(e164), error=error, extension=extension)


def _parse_phone_text(raw: str, default_region: str | None) -> tuple[str, str | None, str]:
    """``(e164, error, extension)`` for cleaned text; e164 is "" unless the number is valid.

    A plain tuple rather than a PhoneResult: building the frozen dataclass costs about a microsecond, which
    ``normalize_row`` does not need to spend on every row.
    """
    if not raw:
        return "", None, ""
    region = default_region.upper() if default_region else None
    candidate = _TEL_PREFIX_RE.sub("", raw) if raw[:4].lower() == "tel:" else raw
    if candidate[:2] == "00":
        digits = _NON_DIGITS_RE.sub("", candidate)
        # "0049 ..." is the European way to write "+49 ...". phonenumbers only understands it when the
        # lead's own country dials out with 00; elsewhere (US: 011, or no country at all) it would misread
        # the digits as a national number, so rewrite it as an explicit "+". Regions whose IDD starts with
        # 00 but is longer (Australia's 0011) keep their own handling.
        if not _region_dials_out_with(region, digits):
            candidate = "+" + candidate.lstrip("0 .-()")
    if _PLAIN_PHONE_RE.match(candidate):
        candidate = _PHONE_LAYOUT_RE.sub("", candidate)
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            if candidate.startswith("+"):
                reason = f"{_quote(raw)} has an unknown country calling code"
            elif region is None:
                reason = f"{_quote(raw)} has no country code and the lead has no country to take one from"
            else:
                reason = f"{_quote(raw)} has no country code and {region} has no phone numbering plan"
        else:
            reason = f"{_quote(raw)} {_PARSE_ERROR_REASONS.get(exc.error_type, 'is not a phone number')}"
        return "", reason, ""
    if not phonenumbers.is_valid_number(number):
        # region_code_for_number() needs a valid number; the calling code's main region names it well enough.
        where = phonenumbers.region_code_for_country_code(number.country_code)
        if where == phonenumbers.UNKNOWN_REGION:
            where = f"+{number.country_code}"
        detail = _POSSIBILITY_REASONS.get(phonenumbers.is_possible_number_with_reason(number))
        reason = f"{_quote(raw)} {detail} for a {where} phone number" if detail else (
            f"{_quote(raw)} is not a valid {where} phone number"
        )
        return "", reason, ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None, number.extension or ""


# --------------------------------------------------------------------------------------------------------------
# Country
# --------------------------------------------------------------------------------------------------------------

# "." and apostrophes vanish so "U.S.A." == "USA" and "Cote d'Ivoire" == "Cote dIvoire"; other ASCII
# punctuation separates words; "&" is spelled out so "Trinidad & Tobago" matches the ISO name.
_COUNTRY_ASCII_TABLE = str.maketrans(
    {**{ch: " " for ch in "!\"#$%()*+,-/:;<=>?@[\\]^_{|}~"}, ".": None, "'": None, "`": None, "&": " and "}
)
_APOSTROPHES = "’‘ʼ´"


@lru_cache(maxsize=1)
def _country_unicode_table() -> dict[int, str | None]:
    """Translation table for non-ASCII text: drops diacritics and apostrophes, turns punctuation into spaces.

    Built once over the Basic Multilingual Plane so folding a name is a single ``str.translate`` call.
    """
    table: dict[int, str | None] = dict(_COUNTRY_ASCII_TABLE)
    for codepoint in range(0x80, 0x10000):
        if unicodedata.category(chr(codepoint))[0] in "PSZ":
            table[codepoint] = " "
    # Only the generic combining diacritics: other scripts' combining marks keep their words distinct.
    table.update(dict.fromkeys(range(0x0300, 0x0370)))
    table.update(dict.fromkeys(map(ord, _APOSTROPHES)))
    return table


# Colloquial names that no ISO list or translation catalogue carries (or carries ambiguously), plus the short
# forms leads use most, pinned here so they do not depend on which common names a pycountry release ships.
# "Korea" alone is deliberately absent: it names two countries.
_COUNTRY_ALIASES: dict[str, str] = {
    "america": "US",
    "united states": "US",
    "united states of america": "US",
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "south korea": "KR",
    "korea south": "KR",
    "republic of korea": "KR",
    "한국": "KR",
    "north korea": "KP",
    "korea north": "KP",
    "russia": "RU",
    "россия": "RU",
    "vietnam": "VN",
    "holland": "NL",
    "netherlands": "NL",
    "czech republic": "CZ",
    "czechia": "CZ",
    "ivory coast": "CI",
    "uae": "AE",
    "emirates": "AE",
    "iran": "IR",
    "taiwan": "TW",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "syria": "SY",
    "laos": "LA",
    "moldova": "MD",
    "macedonia": "MK",
    "north macedonia": "MK",
    "turkey": "TR",
    "cape verde": "CV",
    "palestine": "PS",
    "east timor": "TL",
    "republic of ireland": "IE",
    "swaziland": "SZ",
    "burma": "MM",
    "drc": "CD",
    "dr congo": "CD",
    "democratic republic of congo": "CD",
    "democratic republic of the congo": "CD",
    "congo kinshasa": "CD",
    "republic of the congo": "CG",
    "congo brazzaville": "CG",
    "vatican": "VA",
    "vatican city": "VA",
    "holy see": "VA",
    "micronesia": "FM",
    "brunei": "BN",
    "macau": "MO",
    "mainland china": "CN",
    "prc": "CN",
    "saint kitts": "KN",
    "saint vincent": "VC",
}


def _country_key(text: str) -> str:
    """Fold a country name for lookup: case, accents, punctuation, "the" and "St." do not matter."""
    text = text.casefold()
    if text.isascii():
        text = text.translate(_COUNTRY_ASCII_TABLE)
    else:
        text = unicodedata.normalize("NFKD", text).translate(_country_unicode_table())
    words = text.split()
    if words and words[0] == "the":
        del words[0]
    if words and words[-1] == "the":
        # ISO's inverted forms: "Bahamas, The".
        del words[-1]
    return " ".join("saint" if word == "st" else word for word in words)


def _country_locales() -> list[str]:
    """Every locale directory that ships a pycountry ISO 3166-1 catalogue."""
    base = pycountry.LOCALES_DIR
    return sorted(
        name for name in os.listdir(base) if os.path.exists(os.path.join(base, name, "LC_MESSAGES", "iso3166-1.mo"))
    )


def _english_country_names(country: Any) -> Iterable[str]:
    """The English spellings pycountry knows for ``country``."""
    for attribute in ("name", "official_name", "common_name"):
        name = getattr(country, attribute, None)
        if name:
            yield name


class _Catalogue(Protocol):
    """The part of ``gettext.NullTranslations`` the country table needs."""

    def gettext(self, message: str, /) -> str:
        """Translate ``message``, returning it unchanged when the catalogue has no entry."""
        ...


def build_country_table(
    countries: Iterable[Any], catalogues: Iterable[_Catalogue], aliases: Mapping[str, str]
) -> dict[str, str]:
    """Build a folded-name → alpha-2 table from pycountry-style records, translation catalogues and aliases.

    Translated names that point at two countries (in different languages) are dropped unless an English
    name or code settles them: picking one would silently misfile leads. Codes and English names win over
    translations, and ``aliases`` (colloquial English names) win over everything.
    """
    catalogues = list(catalogues)
    english: dict[str, str] = {}
    translated: dict[str, set[str]] = {}
    # The same translation recurs across many languages ("Argentina"); fold each distinct string once.
    folded: dict[str, str] = {}
    for country in countries:
        code = country.alpha_2
        english[country.alpha_2.lower()] = code
        english[country.alpha_3.lower()] = code
        for name in _english_country_names(country):
            english[_country_key(name)] = code
            for catalogue in catalogues:
                local_name = catalogue.gettext(name)
                if local_name == name:
                    continue
                key = folded.get(local_name)
                if key is None:
                    key = folded[local_name] = _country_key(local_name)
                translated.setdefault(key, set()).add(code)
    table = {key: next(iter(codes)) for key, codes in translated.items() if key and len(codes) == 1}
    table.update(english)
    table.update({_country_key(alias): code for alias, code in aliases.items()})
    return table


@lru_cache(maxsize=1)
def _country_table() -> dict[str, str]:
    """The country lookup table, built on first use from pycountry and every catalogue it ships."""
    catalogues = (
        gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[locale]) for locale in _country_locales()
    )
    return build_country_table(pycountry.countries, catalogues, _COUNTRY_ALIASES)


@lru_cache(maxsize=4096)
def _normalize_country_text(text: str) -> tuple[str, str | None]:
    """``normalize_country`` for cleaned text; cached because a handful of spellings cover most leads."""
    if not text or text.lower() in _PLACEHOLDER_VALUES:
        return "", None
    code = _country_table().get(_country_key(text))
    if code:
        return code, None
    return "", f"{_quote(text)} is not a recognised country"


def normalize_country(value: Any) -> tuple[str, str | None]:
    """Return ``(alpha_2, error)`` from a code (alpha-2/alpha-3), English/official/common or native name."""
    return _normalize_country_text(clean_text(value))


# --------------------------------------------------------------------------------------------------------------
# Title → seniority / department
# --------------------------------------------------------------------------------------------------------------

# Checked in order; the first matching rule wins. Titles are lower-cased and accent-folded before matching.
_SENIORITY_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (seniority, re.compile(pattern))
    for seniority, pattern in (
        # "Assistant to the CEO" describes someone else's rank.
        ("individual", r"\b(?:assistant|secretary|pa)\s+to\b"),
        (
            "c_level",
            r"\b(?:ceo|cto|cfo|coo|cmo|cio|ciso|cro|cpo|cso|cdo|cco|chro|cxo|chief(?!\s+of\s+staff)"
            r"|(?:co-?)?founder|(?<!product )owner|(?<!vice )(?<!vice-)president"
            r"|geschaftsfuhrer|pdg|directeur general|director general)\b",
        ),
        ("vp", r"\b(?:vp|svp|evp|avp|vice[\s-]+president|head\s+of)\b"),
        ("director", r"\b(?:director|dir|directeur|directora?|direktor)\b"),
        ("manager", r"\b(?:manager|mgr|lead(?!\s+gen)|leader|supervisor|gerente)\b"),
        ("senior", r"\b(?:senior|sr|snr|principal|staff)\b"),
    )
)

_DEPARTMENT_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (department, re.compile(pattern))
    for department, pattern in (
        ("legal", r"\b(?:legal|counsel|attorney|lawyer|paralegal|compliance|clo)\b"),
        ("hr", r"\b(?:hr|human resources|people|talent|recruit\w*|chro|payroll|personnel|hrbp)\b"),
        (
            "finance",
            r"\b(?:financ\w*|cfo|accountant|accounting|controller|comptroller|treasur\w*|fp&a|audit\w*"
            r"|bookkeep\w*|tax)\b",
        ),
        (
            "marketing",
            r"\b(?:marketing|cmo|growth|brand\w*|demand gen\w*|content|seo|sem|communications|comms|pr"
            r"|public relations|social media)\b",
        ),
        # Revenue/sales operations is an operations function, even though it mentions sales.
        ("operations", r"\b(?:rev\s?ops|revenue operations|sales operations|sales ops|business operations)\b"),
        (
            "sales",
            r"\b(?:sales|account executive|account manager|account director|business development|bdr|sdr|bdm"
            r"|cro|revenue|partnerships?|channel|commercial|vertrieb)\b",
        ),
        (
            "support",
            r"\b(?:support|customer success|customer service|customer care|customer experience|chief customer"
            r"|csm|help\s?desk|service desk)\b",
        ),
        # Not "ui": a "UI Developer" writes code; designers are caught by "design".
        ("product", r"\b(?:product|cpo|ux|user experience|design\w*)\b"),
        (
            "it",
            r"\b(?:it|information technology|chief information|cio|ciso|sysadmin|systems? administrator"
            r"|network|infrastructure|security)\b",
        ),
        (
            "engineering",
            r"\b(?:engineer\w*|developer|development|software|devops|sre|architect|programmer|cto|technology"
            r"|technical|r&d|qa|data scien\w*|machine learning|ml|firmware|front-?end|back-?end|full-?stack)\b",
        ),
        (
            "operations",
            r"\b(?:operations|ops|operating|coo|logistics|supply chain|procurement|purchasing|facilities)\b",
        ),
        (
            "executive",
            r"\b(?:ceo|chief executive|(?:co-?)?founder|owner|(?<!vice )(?<!vice-)president|managing director"
            r"|general manager"
            r"|chair(?:man|woman|person)?|board|chief of staff|geschaftsfuhrer|pdg)\b",
        ),
    )
)


@lru_cache(maxsize=8192)
def _classify_title(title: str) -> tuple[str, str]:
    """Seniority and department for an already-cleaned, non-empty title (cached: titles repeat a lot)."""
    folded = _strip_accents(title).lower()
    seniority = next((level for level, pattern in _SENIORITY_RULES if pattern.search(folded)), "individual")
    department = next((name for name, pattern in _DEPARTMENT_RULES if pattern.search(folded)), "")
    return seniority, department


def title_to_seniority_department(title: Any) -> tuple[str, str]:
    """Return ``(seniority, department)`` from a job title using word-boundary keyword rules.

    An empty title gives ``("", "")``; a title with no seniority keyword is ``individual``.
    """
    text = clean_text(title)
    if not text:
        return "", ""
    return _classify_title(text)


# --------------------------------------------------------------------------------------------------------------
# Numbers: employee counts and money
# --------------------------------------------------------------------------------------------------------------

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


def size_band_for(employees: int) -> str:
    """The size band containing a (positive) employee count."""
    for upper_bound, band in _SIZE_BAND_LIMITS:
        if employees <= upper_bound:
            return band
    return _OPEN_SIZE_BAND


def _employees_result(count: int, band_basis: int, shown: str) -> tuple[int | None, str, str | None]:
    """Final range check shared by numeric and textual employee counts."""
    if count < 1:
        return None, "", f"{_quote(shown)} is not a valid employee count: it must be at least 1"
    if count > _MAX_EMPLOYEES:
        return None, "", f"{_quote(shown)} is not a valid employee count: it is implausibly large"
    return count, size_band_for(max(band_basis, 1)), None


@lru_cache(maxsize=4096)
def _employees_from_text(text: str) -> tuple[int | None, str, str | None]:
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
        return None, "", f"{_quote(text)} is not a valid employee count"
    return _employees_result(count, (count + high) // 2 if high is not None else count, text)


def employees_to_size_band(value: Any) -> tuple[int | None, str, str | None]:
    """Return ``(employees, size_band, error)``.

    Accepts "250", "1,200", "1.200", "10k", "1000+" and ranges like "50-200". A range stores its lower bound
    (the only number the source actually vouches for) and the band of its midpoint, which for the usual
    LinkedIn-style ranges ("51-200", "201-500") is the band both ends lie in. "1000+" is banded by its
    lower bound. Empty input is ``(None, "", None)``.
    """
    if isinstance(value, bool):
        return None, "", f"{_quote(str(value))} is not a valid employee count"
    if isinstance(value, int):
        return _employees_result(value, value, str(value))
    if isinstance(value, float) and value.is_integer():
        return _employees_result(int(value), int(value), str(value))
    return _employees_from_text(clean_text(value))


def _amount_result(amount: Decimal, shown: str, field: str) -> tuple[Decimal | None, str | None]:
    """Range check and rounding shared by numeric and textual amounts."""
    if amount < 0:
        return None, f"{_quote(shown)} is negative; {field} cannot be negative"
    if amount >= _MAX_AMOUNT:
        return None, f"{_quote(shown)} is implausibly large for {field}"
    return amount.quantize(_CENTS, rounding=ROUND_HALF_UP), None


@lru_cache(maxsize=4096)
def _decimal_from_text(text: str, field: str) -> tuple[Decimal | None, str | None]:
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
        return None, f"{_quote(text)} is not a valid amount for {field}"
    multiplier = match.group("mult")
    amount = _parse_number(match.group("number"), multiplier is not None)
    if amount is None:
        return None, f"{_quote(text)} is not a valid amount for {field}"
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
        return None, f"{_quote(str(value))} is not a valid amount for {field}"
    if isinstance(value, (int, float, Decimal)):
        try:
            # str() first: Decimal(0.1) would carry the binary float's full expansion.
            amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite():
            return None, f"{_quote(str(value))} is not a valid amount for {field}"
        return _amount_result(amount, str(value), field)
    return _decimal_from_text(clean_text(value), field)


# --------------------------------------------------------------------------------------------------------------
# Industry, consent, outcome
# --------------------------------------------------------------------------------------------------------------


def normalize_industry(value: Any, vocabulary: Mapping[str, str]) -> tuple[str, bool]:
    """Map an industry to its canonical name via ``vocabulary`` (lower-cased synonym → canonical name).

    Returns ``(canonical, True)`` when known and ``(cleaned original, False)`` otherwise; "" is ``("", True)``
    because there is nothing to flag.
    """
    text = clean_text(value)
    if not text:
        return "", True
    canonical = vocabulary.get(text.lower())
    if canonical is None:
        return text, False
    return canonical, True


_CONSENT_VALUES: dict[str, str] = {
    **dict.fromkeys(
        ("yes", "y", "true", "t", "1", "opt-in", "opt_in", "opt in", "optin", "opted in", "opted-in", "opted_in",
         "subscribed", "subscribe", "granted", "agreed", "accepted", "consented", "on"),
        "opt_in",
    ),
    **dict.fromkeys(
        ("no", "n", "false", "f", "0", "opt-out", "opt_out", "opt out", "optout", "opted out", "opted-out",
         "opted_out", "unsubscribed", "unsubscribe", "declined", "denied", "refused", "withdrawn", "off"),
        "opt_out",
    ),
    **dict.fromkeys(("", "unknown", "n/a", "none", "null", "not set", "-"), "unknown"),
}


def normalize_consent(value: Any) -> tuple[str, str | None]:
    """Return ``("opt_in" | "opt_out" | "unknown", error)``; an unrecognised value is an error, never a guess."""
    if isinstance(value, bool):
        return ("opt_in" if value else "opt_out"), None
    text = clean_text(value)
    consent = _CONSENT_VALUES.get(text.lower())
    if consent is None:
        return "unknown", f"{_quote(text)} is not a recognised consent value (use yes/no or opt-in/opt-out)"
    return consent, None


_OUTCOME_VALUES: dict[str, str] = {
    **dict.fromkeys(("won", "win", "closed won", "closed-won", "closed_won", "closedwon"), "won"),
    **dict.fromkeys(("lost", "loss", "closed lost", "closed-lost", "closed_lost", "closedlost"), "lost"),
    **dict.fromkeys(("", "open", "opened", "in progress", "in-progress", "pending", "active"), "open"),
}


def normalize_outcome(value: Any) -> tuple[str, str | None]:
    """Return ``("won" | "lost" | "open", error)``; empty means the deal is still open."""
    text = clean_text(value)
    outcome = _OUTCOME_VALUES.get(text.lower())
    if outcome is None:
        return "open", f"{_quote(text)} is not a recognised outcome (use won, lost or open)"
    return outcome, None


# --------------------------------------------------------------------------------------------------------------
# Website
# --------------------------------------------------------------------------------------------------------------

_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9\u00a1-\uffff](?:[a-z0-9\u00a1-\uffff-]{0,61}[a-z0-9\u00a1-\uffff])?\.)+"
    r"(?:[a-z\u00a1-\uffff]{2,63}|xn--[a-z0-9-]{1,59})$"
)


def normalize_website(value: Any) -> tuple[str, str]:
    """Return ``(url, domain)``.

    The URL gets a scheme when missing and a lower-cased host; the domain is the bare host name (no scheme,
    ``www.``, port or path). Text that holds no usable host keeps its cleaned form with an empty domain.
    """
    return _normalize_website_text(clean_text(value))


@lru_cache(maxsize=4096)
def _normalize_website_text(text: str) -> tuple[str, str]:
    """``normalize_website`` for cleaned text; cached because many leads share their company's website."""
    if not text or text.lower() in _PLACEHOLDER_VALUES:
        return "", ""
    if _SCHEME_RE.match(text):
        url_text = text
    elif text.startswith("//"):
        url_text = "https:" + text
    else:
        url_text = "https://" + text
    try:
        parts = urlsplit(url_text)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        return text, ""
    if parts.scheme.lower() not in ("http", "https") or not _DOMAIN_RE.match(host):
        return text, ""
    path = "" if parts.path == "/" else parts.path
    url = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, parts.fragment))
    domain = host[4:] if host.startswith("www.") else host
    return url, domain


# --------------------------------------------------------------------------------------------------------------
# Whole rows
# --------------------------------------------------------------------------------------------------------------

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
                custom_text = _custom_value(raw_value)
                if custom_text:
                    if len(custom_text) > MAX_CUSTOM_FIELD_LENGTH:
                        errors.append(FieldError(column, f"longer than {MAX_CUSTOM_FIELD_LENGTH} characters"))
                    custom[column] = custom_text
                continue
        # clean_text's fast path, inlined: this loop runs for every field of every row.
        if raw_value.__class__ is str and raw_value.isprintable() and "  " not in raw_value and (
            not raw_value or (raw_value[0] != " " and raw_value[-1] != " ")
        ):
            text = raw_value
        else:
            text = clean_text(raw_value)
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

    if "state" in texts:
        state = texts["state"]
        values["state"] = state.upper() if len(state) == 2 and state.isalpha() else state
    if "postal_code" in texts:
        values["postal_code"] = texts["postal_code"].upper()

    region: str | None = None
    if "country" in texts:
        country_text = texts["country"]
        country, country_error = _normalize_country_text(country_text)
        values["country"] = country
        # The raw text is kept only when it could not be resolved, for whoever reviews the flag.
        values["country_raw"] = "" if country else country_text
        if country_error:
            flags.append(FLAG_COUNTRY_UNKNOWN)
        region = country or None

    email = ""
    if "email" in texts:
        email, email_error = _normalize_email_text(texts["email"])
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
        e164, phone_error, extension = _parse_phone_text(phone_raw, region)
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
        website, domain = _normalize_website_text(website_text)
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
        values["seniority"], values["department"] = _classify_title(title) if title else ("", "")

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
            _employees_from_text(employees_value)
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
                _decimal_from_text(amount_value, column)
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
