"""The language a lead speaks, for language skills and language conditions.

A lead's language is its custom attribute ``language`` when given (``de``, ``de-CH``, ``German`` and ``Deutsch`` all
read as ``de``), else the main language of its country. Countries with several languages of business (Switzerland,
Belgium, Canada, India...) map to the language most leads use in sales conversations; send the ``language`` column
when it matters.
"""

from __future__ import annotations

from typing import Any

# ISO 3166 alpha-2 → ISO 639-1: the language a sales conversation in that country is held in by default.
COUNTRY_LANGUAGES: dict[str, str] = {
    # English
    "US": "en", "GB": "en", "IE": "en", "AU": "en", "NZ": "en", "CA": "en", "ZA": "en", "SG": "en", "IN": "en",
    "NG": "en", "KE": "en", "PH": "en", "MY": "en", "HK": "en", "IL": "en", "AE": "en",
    # German
    "DE": "de", "AT": "de", "CH": "de", "LI": "de", "LU": "de",
    # French
    "FR": "fr", "BE": "fr", "MC": "fr", "SN": "fr", "CI": "fr", "MA": "fr", "TN": "fr", "DZ": "fr",
    # Spanish
    "ES": "es", "MX": "es", "AR": "es", "CO": "es", "CL": "es", "PE": "es", "VE": "es", "EC": "es", "UY": "es",
    "PY": "es", "BO": "es", "CR": "es", "PA": "es", "GT": "es", "DO": "es",
    # Portuguese
    "PT": "pt", "BR": "pt", "AO": "pt", "MZ": "pt",
    # Other European
    "IT": "it", "SM": "it", "NL": "nl", "SE": "sv", "NO": "no", "DK": "da", "FI": "fi", "IS": "is", "PL": "pl",
    "CZ": "cs", "SK": "sk", "HU": "hu", "RO": "ro", "BG": "bg", "GR": "el", "CY": "el", "HR": "hr", "SI": "sl",
    "RS": "sr", "EE": "et", "LV": "lv", "LT": "lt", "UA": "uk", "RU": "ru", "BY": "ru", "KZ": "ru", "TR": "tr",
    # Asia and Middle East
    "JP": "ja", "KR": "ko", "CN": "zh", "TW": "zh", "VN": "vi", "TH": "th", "ID": "id", "SA": "ar", "EG": "ar",
    "QA": "ar", "KW": "ar", "JO": "ar",
}

# Language names people type in a "language" column, by code (English and native names).
LANGUAGE_NAMES: dict[str, str] = {
    "english": "en", "german": "de", "deutsch": "de", "french": "fr", "français": "fr", "francais": "fr",
    "spanish": "es", "español": "es", "espanol": "es", "castellano": "es", "portuguese": "pt", "português": "pt",
    "portugues": "pt", "italian": "it", "italiano": "it", "dutch": "nl", "nederlands": "nl", "swedish": "sv",
    "svenska": "sv", "norwegian": "no", "norsk": "no", "danish": "da", "dansk": "da", "finnish": "fi",
    "suomi": "fi", "polish": "pl", "polski": "pl", "czech": "cs", "japanese": "ja", "日本語": "ja", "korean": "ko",
    "chinese": "zh", "mandarin": "zh", "中文": "zh", "russian": "ru", "turkish": "tr", "arabic": "ar",
    "greek": "el", "hungarian": "hu", "romanian": "ro",
}


def language_code(value: Any) -> str:
    """A language value as typed ('de-CH', 'German', 'pt_BR') → its ISO 639-1 code, or '' when unknown."""
    text = str(value or "").strip().lower()
    if not text:
        return ""
    if text in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[text]
    head = text.replace("_", "-").split("-", 1)[0]
    return head if len(head) == 2 and head.isalpha() else ""


def lead_language(*, custom: dict | None, country: str) -> str:
    """The lead's language: its custom attribute ``language``, else its country's language, else ''."""
    given = language_code((custom or {}).get("language"))
    if given:
        return given
    return COUNTRY_LANGUAGES.get((country or "").upper(), "")
