"""The input boundary: every text value that enters Leadflow (API, forms, CSV, Slack) passes here before anything is
written.

One sanitiser for every entry point, so the rules are the same everywhere:

1. a lone surrogate (``"\\udfff"``: not a character, cannot be encoded as UTF-8, so nothing could display or store it)
   or a NUL character (``"\\x00"``: PostgreSQL refuses it in text) is a field error, never silently dropped;
2. text is normalised to Unicode NFC, so the same name typed on two keyboards is the same string;
3. lengths, the number and length of keys, the size and nesting depth of structured values (event properties) are
   capped; a value over a cap is a field error naming the cap.

The functions raise ``BoundaryError`` (field, reason); callers turn it into their own field error (a 400 in the API,
a row error in a CSV import). The caps are read from settings (README, "Settings").
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

_BAD_CHARS_RE = re.compile("[\x00\ud800-\udfff]")

# Defaults of the caps; each can be changed by the setting of the same name (revops/settings.py).
DEFAULT_LIMITS = {
    "LEADFLOW_MAX_TEXT_LENGTH": 2000,
    "LEADFLOW_MAX_CUSTOM_ATTRIBUTES": 50,
    "LEADFLOW_MAX_KEY_LENGTH": 100,
    "LEADFLOW_MAX_PROPERTIES_BYTES": 16 * 1024,
    "LEADFLOW_MAX_JSON_DEPTH": 10,
}


def limit(name: str) -> int:
    """The cap ``name`` (one of ``DEFAULT_LIMITS``) as configured."""
    return int(getattr(settings, name, DEFAULT_LIMITS[name]))


class BoundaryError(ValueError):
    """A value refused at the boundary: ``field`` names it, ``reason`` says why (shown to the sender)."""

    def __init__(self, field: str, reason: str):
        self.field = safe_label(field)
        self.reason = reason
        super().__init__(f"{field}: {reason}")


def safe_label(text: str) -> str:
    """``text`` fit to be shown back in an error (a field name): bad characters written as escapes, at most 50."""
    if _BAD_CHARS_RE.search(text):
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text[:50]


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot enter (a NUL or a lone surrogate), or None when it can."""
    found = _BAD_CHARS_RE.search(text)
    if found is None:
        return None
    char = found.group()
    position = found.start() + 1
    if char == "\x00":
        return f"contains a NUL character (position {position})"
    return f"contains a lone surrogate U+{ord(char):04X} (position {position}), which is not valid Unicode"


def text_clean(value: str, *, field: str, max_length: int | None = None) -> str:
    """``value`` checked (no NUL, no lone surrogate) and normalised to NFC; raises BoundaryError.

    ``max_length`` defaults to ``LEADFLOW_MAX_TEXT_LENGTH``; 0 means no cap here (the caller caps).
    """
    problem = text_problem(value)
    if problem:
        raise BoundaryError(field, problem)
    if not value.isascii():
        value = unicodedata.normalize("NFC", value)
    cap = limit("LEADFLOW_MAX_TEXT_LENGTH") if max_length is None else max_length
    if cap and len(value) > cap:
        raise BoundaryError(field, f"longer than {cap} characters")
    return value


def key_clean(key: Any, *, field: str = "") -> str:
    """A key of a mapping (a custom attribute name, an event property name): text, checked, at most
    ``LEADFLOW_MAX_KEY_LENGTH`` characters."""
    text = str(key)
    name = field or text[:50]
    return text_clean(text, field=name, max_length=limit("LEADFLOW_MAX_KEY_LENGTH"))


def json_clean(value: Any, *, field: str, max_bytes: int | None = None, max_depth: int | None = None) -> Any:
    """A structured value (event properties): every key and string checked and normalised, the nesting depth and
    the encoded size capped. Returns the cleaned copy; raises BoundaryError naming ``field``."""
    depth_cap = limit("LEADFLOW_MAX_JSON_DEPTH") if max_depth is None else max_depth

    def walk(item: Any, depth: int, path: str) -> Any:
        if depth > depth_cap:
            raise BoundaryError(field, f"nested deeper than {depth_cap} levels")
        if isinstance(item, str):
            return text_clean(item, field=path, max_length=0)
        if isinstance(item, Mapping):
            return {key_clean(k, field=f"{path}.{str(k)[:50]}"): walk(v, depth + 1, f"{path}.{str(k)[:50]}")
                    for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [walk(v, depth + 1, f"{path}[{i}]") for i, v in enumerate(item)]
        return item

    cleaned = walk(value, 0, field)
    size_cap = limit("LEADFLOW_MAX_PROPERTIES_BYTES") if max_bytes is None else max_bytes
    size = len(json.dumps(cleaned, ensure_ascii=False, default=str).encode("utf-8"))
    if size_cap and size > size_cap:
        raise BoundaryError(field, f"larger than {size_cap} bytes once encoded ({size})")
    return cleaned


def attributes_check(keys: list[str], *, field: str = "custom") -> None:
    """Custom attributes: at most ``LEADFLOW_MAX_CUSTOM_ATTRIBUTES`` keys, each a clean key of bounded length."""
    cap = limit("LEADFLOW_MAX_CUSTOM_ATTRIBUTES")
    if len(keys) > cap:
        raise BoundaryError(field, f"more than {cap} custom attributes ({len(keys)})")
    for key in keys:
        key_clean(key)


def datetime_utc(moment: datetime, *, field: str) -> datetime:
    """An aware date-time as UTC. ISO 8601 parsers accept offsets such as ``+16:00`` that PostgreSQL refuses
    ("time zone displacement out of range"), so every parsed date-time is stored and compared in UTC; one that
    cannot be (near the year 1 or 9999) is a field error."""
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise BoundaryError(field, "is out of the range of dates Leadflow stores") from None
