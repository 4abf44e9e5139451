"""A state of the United States, Canada or Australia as its code: "California" → "CA", "Québec" → "QC" (pure).

Territories list states by these codes (`routing/rules.py`), and website forms often send the name: a lead from
"California" must be covered by a territory of "CA, OR, WA". Only these three countries, where the code is the
everyday postal abbreviation; elsewhere (and for a name no subdivision has) the text is kept as given, a two-letter
text upper-cased.
"""

from __future__ import annotations

import functools

import pycountry

from .text import strip_accents

STATE_CODE_COUNTRIES = ("US", "CA", "AU")


def normalize_state(text: str, country: str | None) -> str:
    """The state's code when ``country`` is one of ``STATE_CODE_COUNTRIES`` and ``text`` names one of its states or
    territories (case and accents ignored); else ``text`` (two letters upper-cased)."""
    if len(text) == 2 and text.isalpha():
        return text.upper()
    code = state_codes((country or "").upper()).get(_key(text)) if country else None
    return code or text


@functools.cache
def state_codes(country: str) -> dict[str, str]:
    """The top-level subdivisions of a country (one of ``STATE_CODE_COUNTRIES``) by name key → code ("CA")."""
    if country not in STATE_CODE_COUNTRIES:
        return {}
    return {_key(s.name): s.code.split("-", 1)[1] for s in pycountry.subdivisions.get(country_code=country) or ()
            if not getattr(s, "parent_code", None)}


def _key(text: str) -> str:
    return " ".join(strip_accents(text.casefold()).split())
