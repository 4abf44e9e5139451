"""Consent: whether outreach may go to a lead. The one rule every outreach path calls.

Outreach is anything that asks a person to contact the lead or contacts it: a follow-up task (one by one or a
batch's), a trigger task (hot, high intent, cold), a re-engagement (nurture) task, a no-answer retry, a stage-SLA
alert asking the rep to act, the rep's digest lines, the Slack / e-mail / Teams messages about such tasks, and a
nurture program's e-mail steps (checked at enrollment and again when each step is due).
An opted-out lead (``Consent.OPT_OUT``) or a suppressed one (``Stage.SUPPRESSED``) gets none of them. Routing still
assigns an owner; where outreach is skipped the lead's automation log says "no outreach: consent" (shown on the
lead's admin page), so the lead is never stranded silently.

``outreach_allowed(lead)`` for one lead (an instance or a ``.values()`` row), ``outreach_allowed_q(prefix)`` for
set-based paths (a queryset filter, ``prefix="lead__"`` from a task), ``outreach_skipped`` to record a skip.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Q

from revops.base.automation import automation_log_many
from revops.base.choices import AutomationOutcome

from .choices import Consent, Stage

NO_OUTREACH = "no outreach: consent"


def _get(lead: Any, name: str) -> Any:
    return lead.get(name) if isinstance(lead, Mapping) else getattr(lead, name)


def outreach_allowed(lead: Any) -> bool:
    """Whether outreach may go to this lead: not opted out, not suppressed. ``lead``: a Lead or a row with
    ``consent`` and ``stage``."""
    return _get(lead, "consent") != Consent.OPT_OUT and _get(lead, "stage") != Stage.SUPPRESSED


def outreach_allowed_q(prefix: str = "") -> Q:
    """``outreach_allowed`` as a filter: ``Lead.objects.filter(outreach_allowed_q())``,
    ``Task.objects.filter(outreach_allowed_q("lead__"))``."""
    return ~Q(**{f"{prefix}consent": Consent.OPT_OUT}) & ~Q(**{f"{prefix}stage": Stage.SUPPRESSED})


def outreach_skipped(*, lead_ids: Iterable[int], what: str, workflow: str) -> int:
    """Record on each lead that ``what`` (a follow-up task, a re-engagement task, an alert...) was skipped for
    consent; returns how many rows were written."""
    ids = sorted(set(lead_ids))
    if not ids:
        return 0
    return automation_log_many(workflow=workflow, action="no_outreach_consent", outcome=AutomationOutcome.NOOP,
                               object_type="lead", object_ids=ids, detail=f"{NO_OUTREACH}: {what} skipped")
