"""E-mail addresses: validation and lower-casing, the address's domain, and which domains are free mail."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from .text import clean_text, quoted

FREE_EMAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com", "googlemail.com",
        "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.es", "yahoo.it", "yahoo.co.jp", "ymail.com",
        "rocketmail.com",
        "hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "hotmail.es", "hotmail.it",
        "outlook.com", "outlook.fr", "outlook.de", "live.com", "live.co.uk", "live.fr", "msn.com",
        "icloud.com", "me.com", "mac.com",
        "aol.com", "aim.com",
        "proton.me", "protonmail.com", "protonmail.ch", "pm.me",
        "gmx.de", "gmx.net", "gmx.com", "gmx.at", "gmx.ch", "web.de", "t-online.de", "freenet.de",
        "yandex.ru", "yandex.com", "ya.ru", "mail.ru", "bk.ru", "inbox.ru", "list.ru", "rambler.ru",
        "qq.com", "163.com", "126.com", "yeah.net", "sina.com", "foxmail.com",
        "mail.com", "email.com", "inbox.com", "zoho.com", "zohomail.com", "fastmail.com", "hey.com", "tutanota.com",
        "free.fr", "orange.fr", "laposte.net", "wanadoo.fr", "sfr.fr", "libero.it", "virgilio.it",
        "naver.com", "daum.net", "hanmail.net", "rediffmail.com", "seznam.cz", "wp.pl", "o2.pl", "interia.pl",
    }
)
# Providers that run the same consumer service under many country TLDs (gmail.co.il, yahoo.com.br, ...).
_FREE_EMAIL_PROVIDER_LABELS = frozenset({"gmail", "yahoo", "hotmail", "outlook", "aol", "gmx", "yandex"})

# An empty allowlist: Django accepts "user@localhost" by default, which is never a real lead.
_email_validator = EmailValidator(allowlist=[])
# A strict subset of what Django's EmailValidator accepts (plain dot-atom local part, LDH labels, alphabetic
# TLD): the common case passes this one compiled regex, and only the rest pays for Django's lazy regexes.
_PLAIN_EMAIL_RE = re.compile(
    r"^[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z"
)
_MAILTO_RE = re.compile(r"^mailto:", re.IGNORECASE)
_ANGLE_ADDRESS_RE = re.compile(r"<([^<>]*)>\s*$")
_MAX_EMAIL_LENGTH = 320


def _is_valid_email(address: str) -> bool:
    """Django's email validation, with a fast path for ordinary addresses."""
    if len(address) <= _MAX_EMAIL_LENGTH and _PLAIN_EMAIL_RE.match(address):
        return True
    try:
        _email_validator(address)
    except ValidationError:
        # Only the boolean matters: rendering Django's message would need settings for translations.
        return False
    return True


def normalize_email_text(text: str) -> tuple[str, str | None]:
    """``normalize_email`` for text that has already been through ``clean_text``."""
    if not text:
        return "", None
    address = text
    if "<" in address:
        match = _ANGLE_ADDRESS_RE.search(address)
        if match:
            address = match.group(1).strip()
    if address[:7].lower() == "mailto:":
        address = _MAILTO_RE.sub("", address).split("?", 1)[0].strip()
    # Separators left over from copying a list of addresses out of a mail client.
    address = address.rstrip(";,").lower()
    if not _is_valid_email(address):
        return "", f"{quoted(text)} is not a valid email address"
    return address, None


def normalize_email(value: Any) -> tuple[str, str | None]:
    """Return ``(address, error)`` with the address lower-cased and unwrapped from ``mailto:`` / ``Name <addr>``.

    An empty value is not an error; an unusable one returns ``("", reason)``.
    """
    return normalize_email_text(clean_text(value))


def email_domain(email: str) -> str:
    """Return the lower-cased domain part of an email address, or "" when there is none."""
    if not email or "@" not in email:
        return ""
    return email.rsplit("@", 1)[1].strip().rstrip(".").lower()


def is_free_email_domain(domain: str) -> bool:
    """True when ``domain`` belongs to a consumer mailbox provider and so says nothing about the employer."""
    domain = domain.lower()
    if domain in FREE_EMAIL_DOMAINS:
        return True
    first_label, _, suffix = domain.partition(".")
    # gmail.com.br, yahoo.co.in, ...: a known provider label followed only by a (possibly two-part) public
    # suffix; "outlook.acme-corp.com" is somebody's own mail server.
    return first_label in _FREE_EMAIL_PROVIDER_LABELS and bool(suffix) and suffix.count(".") <= 1 and len(suffix) <= 6
