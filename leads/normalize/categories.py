"""Values mapped onto a closed vocabulary: industry (through the configured vocabulary), consent and outcome."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .text import clean_text, quoted


def normalize_industry(value: Any, vocabulary: Mapping[str, str]) -> tuple[str, bool]:
    """Map an industry to its canonical name via ``vocabulary`` (lower-cased synonym → canonical name).

    Returns ``(canonical, True)`` when known and ``(cleaned original, False)`` otherwise; "" is ``("", True)``
    because there is nothing to flag.
    """
    text = clean_text(value)
    if not text:
        return "", True
    canonical = vocabulary.get(text.lower())
    if canonical is None:
        return text, False
    return canonical, True


_CONSENT_VALUES: dict[str, str] = {
    **dict.fromkeys(
        ("yes", "y", "true", "t", "1", "opt-in", "opt_in", "opt in", "optin", "opted in", "opted-in", "opted_in",
         "subscribed", "subscribe", "granted", "agreed", "accepted", "consented", "on"),
        "opt_in",
    ),
    **dict.fromkeys(
        ("no", "n", "false", "f", "0", "opt-out", "opt_out", "opt out", "optout", "opted out", "opted-out",
         "opted_out", "unsubscribed", "unsubscribe", "declined", "denied", "refused", "withdrawn", "off"),
        "opt_out",
    ),
    **dict.fromkeys(("", "unknown", "n/a", "none", "null", "not set", "-"), "unknown"),
}


def normalize_consent(value: Any) -> tuple[str, str | None]:
    """Return ``("opt_in" | "opt_out" | "unknown", error)``; an unrecognised value is an error, never a guess."""
    if isinstance(value, bool):
        return ("opt_in" if value else "opt_out"), None
    text = clean_text(value)
    consent = _CONSENT_VALUES.get(text.lower())
    if consent is None:
        return "unknown", f"{quoted(text)} is not a recognised consent value (use yes/no or opt-in/opt-out)"
    return consent, None


_OUTCOME_VALUES: dict[str, str] = {
    **dict.fromkeys(("won", "win", "closed won", "closed-won", "closed_won", "closedwon"), "won"),
    **dict.fromkeys(("lost", "loss", "closed lost", "closed-lost", "closed_lost", "closedlost"), "lost"),
    **dict.fromkeys(("", "open", "opened", "in progress", "in-progress", "pending", "active"), "open"),
}


def normalize_outcome(value: Any) -> tuple[str, str | None]:
    """Return ``("won" | "lost" | "open", error)``; empty means the deal is still open."""
    text = clean_text(value)
    outcome = _OUTCOME_VALUES.get(text.lower())
    if outcome is None:
        return "open", f"{quoted(text)} is not a recognised outcome (use won, lost or open)"
    return outcome, None
