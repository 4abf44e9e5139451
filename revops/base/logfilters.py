"""Logging filters: no personal data in the logs.

A request line such as ``GET /api/leads/?email=jane@example.com`` (the web server's access log, Django's
``django.request`` warnings) would put a person's e-mail address in every log that keeps it; the filter masks every
e-mail address (local part and domain) in the message and its arguments before any handler writes it.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
MASK = "[email]"


def redact(text: str) -> str:
    """``text`` with every e-mail address (also URL-encoded, ``%40``) replaced by ``[email]``."""
    if "@" not in text and "%40" not in text.upper():
        return text
    return EMAIL_RE.sub(MASK, unquote(text) if "%40" in text.upper() else text)


class PersonalDataFilter(logging.Filter):
    """Masks e-mail addresses in a record's message (formatted once, so its arguments are covered too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is left for the handler to report
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
