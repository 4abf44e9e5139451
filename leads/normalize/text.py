"""Text helpers every normalizer shares: one clean single line, quoting a value in a message, accent folding."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# Values people type to say "no value" rather than to name something.
PLACEHOLDER_VALUES = frozenset({"n/a", "n.a.", "none", "null", "nil", "-", "--", "unknown", "not applicable"})

# Keeps error messages readable when someone pastes a whole paragraph into a field.
_MAX_QUOTED_LENGTH = 60

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


def quoted(text: str) -> str:
    """Quote a submitted value for an error message, shortening it so messages stay readable."""
    if len(text) > _MAX_QUOTED_LENGTH:
        text = text[: _MAX_QUOTED_LENGTH - 1] + "…"
    return f"'{text}'"


def strip_accents(text: str) -> str:
    """Remove Latin/Greek/Cyrillic diacritics, keeping the marks that other scripts need to stay distinct."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    # Only the generic combining diacritics block: stripping e.g. Devanagari vowel signs would make
    # different words collide.
    return "".join(ch for ch in decomposed if not "\u0300" <= ch <= "\u036f")
