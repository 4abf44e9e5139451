"""Websites: a URL with a scheme and a lower-cased host, and the bare company domain."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .text import PLACEHOLDER_VALUES, clean_text

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
    return normalize_website_text(clean_text(value))


@lru_cache(maxsize=4096)
def normalize_website_text(text: str) -> tuple[str, str]:
    """``normalize_website`` for cleaned text; cached because many leads share their company's website."""
    if not text or text.lower() in PLACEHOLDER_VALUES:
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
