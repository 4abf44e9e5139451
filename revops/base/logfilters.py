"""Logging filters for a quiet terminal (used by ``LOGGING`` in settings.py).

- :class:`SkipStaticRequests` — the development server's request lines without static files and the favicon;
- :class:`RefusalsOnOneLine` — an expected refusal (4xx: a role without the permission, a CSRF failure, a missing
  page) is one line naming the path and the reason, without the traceback Django attaches to a 403 and without
  the server's second line for the same request.
"""

from __future__ import annotations

import logging

from django.conf import settings

QUIET_PREFIXES = ("/favicon.ico",)


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
