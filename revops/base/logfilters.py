"""Logging filters for a quiet terminal with no personal data in it (used by ``LOGGING`` in settings.py).

- :class:`SkipStaticRequests` — the development server's request lines without static files and the favicon;
- :class:`RefusalsOnOneLine` — an expected refusal (4xx: a role without the permission, a CSRF failure, a missing
  page) is one line naming the path and the reason, without the traceback Django attaches to a 403 and without
  the server's second line for the same request;
- :class:`PersonalDataFilter` — a request line such as ``GET /api/leads/?email=jane@example.com`` would put a
  person's e-mail address in every log that keeps it; every e-mail address (local part and domain) in the message
  and its arguments is masked before any handler writes it.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

from django.conf import settings

QUIET_PREFIXES = ("/favicon.ico",)
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
MASK = "[email]"


class SkipStaticRequests(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        static = "/" + settings.STATIC_URL.lstrip("/")
        return not any(f'"GET {prefix}' in message or f'"HEAD {prefix}' in message
                       for prefix in (static, *QUIET_PREFIXES))


class RefusalsOnOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is None or not 400 <= status < 500:
            return True
        if record.name == "django.server":
            return False  # django.request has said it, with the reason: "Forbidden (Permission denied): /path"
        record.exc_info = None  # an expected refusal, not a failure: no traceback
        record.exc_text = None
        return True


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
