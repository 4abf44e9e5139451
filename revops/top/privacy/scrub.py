"""Replacing a person's values (e-mail, phone, names, source ids) wherever they appear in text or JSON."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

ERASED = "[erased]"
MIN_NAME_LENGTH = 3  # "Al" or "Li" alone would erase parts of other words; full names still match


class Scrubber:
    """Replaces every needle (case-insensitive, whole words) in strings, lists and dicts (keys and values)."""

    def __init__(self, needles: Iterable[str], *, blank_keys: Iterable[str] = ()):
        """``blank_keys``: in dicts, the values under these keys are emptied outright (a stored copy of a lead)."""
        self.blank_keys = frozenset(blank_keys)
        cleaned = sorted({n.strip() for n in needles if n and len(n.strip()) >= MIN_NAME_LENGTH}, key=len,
                         reverse=True)
        self.needles = cleaned
        self._pattern = (re.compile("|".join(rf"(?<!\w){re.escape(n)}(?!\w)" for n in cleaned), re.IGNORECASE)
                         if cleaned else None)

    def text(self, value: str) -> str:
        if not self._pattern or not value:
            return value
        return self._pattern.sub(ERASED, value)

    def value(self, value: Any) -> Any:
        """``value`` with every needle replaced; other types are returned unchanged."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {self.text(key) if isinstance(key, str) else key:
                    ("" if key in self.blank_keys and isinstance(item, str) else self.value(item))
                    for key, item in value.items()}
        return value

    def found_in(self, value: Any) -> bool:
        """Whether any needle occurs in ``value``."""
        return self._pattern is not None and self.value(value) != value
