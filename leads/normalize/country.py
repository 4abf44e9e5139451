"""Countries: codes, English, official, common and native names (every pycountry catalogue) to ISO alpha-2."""

from __future__ import annotations

import gettext
import os
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Protocol

import pycountry

from .text import PLACEHOLDER_VALUES, clean_text, quoted

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
def normalize_country_text(text: str) -> tuple[str, str | None]:
    """``normalize_country`` for cleaned text; cached because a handful of spellings cover most leads."""
    if not text or text.lower() in PLACEHOLDER_VALUES:
        return "", None
    code = _country_table().get(_country_key(text))
    if code:
        return code, None
    return "", f"{quoted(text)} is not a recognised country"


def normalize_country(value: Any) -> tuple[str, str | None]:
    """Return ``(alpha_2, error)`` from a code (alpha-2/alpha-3), English/official/common or native name."""
    return normalize_country_text(clean_text(value))
