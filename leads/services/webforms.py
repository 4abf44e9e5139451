"""Website forms: a visitor's submission mapped to lead columns and taken through the normal ingest.

The API view (``leads/api/webforms.py``) checks the throttles and the honeypot, passes the values through the same
input boundary as ``POST /api/leads/`` and calls :func:`webform_submit`; the lead then goes through the pipeline
like any other (enrich → score → route → task), announced by ``lead_created``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..choices import Consent
from ..webform_models import WebForm, WebFormSubmission
from .ingest import IngestResult, lead_ingest

CONSENT_FIELD = "consent"
_YES = {"1", "true", "yes", "on", "y", "opt_in"}


@dataclass
class WebFormInput:
    """A submission mapped to lead columns: the values, whether consent was given, and the field errors."""

    values: dict[str, Any]
    consent_given: bool
    errors: dict[str, list[str]] = field(default_factory=dict)


def webform_honeypot_filled(form: WebForm, payload: Mapping[str, Any]) -> bool:
    """Whether the hidden field people never see was filled (a bot)."""
    value = payload.get(form.honeypot_field)
    return value not in (None, "", [], False)


def webform_map(form: WebForm, payload: Mapping[str, Any]) -> WebFormInput:
    """The page's fields renamed to lead columns (``WebForm.mapping``); other fields are ignored, so a page may carry
    its own. The consent checkbox is read as yes/no; a form that requires consent refuses a submission without it."""
    mapping = form.mapping()
    values = {column: payload[name] for name, column in mapping.items() if name in payload}
    raw = payload.get(CONSENT_FIELD)
    consent_given = str(raw).strip().lower() in _YES if raw not in (None, "") else False
    errors: dict[str, list[str]] = {}
    if form.consent_required and not consent_given:
        errors[CONSENT_FIELD] = ["please give your consent to be contacted"]
    if not any(str(values.get(column) or "").strip() for column in ("email", "phone")):
        names = [name for name, column in mapping.items() if column in ("email", "phone")] or ["email"]
        errors.setdefault(names[0], []).append("an e-mail address (or a phone number) is required")
    return WebFormInput(values=values, consent_given=consent_given, errors=errors)


def webform_submit(*, form: WebForm, values: Mapping[str, Any], consent_given: bool, origin: str = "") -> IngestResult:
    """Store one submission: the lead through ``lead_ingest`` (source: the form's), and the submission with the
    consent text shown and its time. One transaction: a rejected lead writes nothing."""
    data = dict(values)
    if consent_given:
        data["consent"] = Consent.OPT_IN  # a visitor who did not tick the box keeps whatever consent we had
    now = timezone.now()
    with transaction.atomic():
        result = lead_ingest(data=data, source=form.source, reason=f"website form \"{form.name}\"")
        if result.action == "rejected":
            return result
        WebFormSubmission.objects.create(
            form=form, lead=result.lead, action=result.action, consent_given=consent_given,
            consent_text=form.consent_text if consent_given else "", consented_at=now if consent_given else None,
            origin=origin[:200])
    return result
