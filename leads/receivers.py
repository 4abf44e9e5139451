"""Receivers inside the lead layer: thin handlers connected in ``LeadsConfig.ready``.

Cached configuration is forgotten when its rows change; the lead layer's own signals are taken
to the job that does the next step.
"""

import re

from corsheaders.signals import check_request_enabled
from django.conf import settings
from django.db.models.signals import post_delete, post_migrate, post_save
from django.dispatch import receiver

from . import signals
from .jobs import lead_enrich_schedule, lead_enrich_step_row, lead_import_schedule
from .models import IndustryTerm
from .selectors import webform_origin_allowed
from .services import industry_vocabulary_clear, industry_vocabulary_defaults_ensure

WEBFORM_PATH = re.compile(r"^/api/forms/(?P<key>[^/]+)/submit/?$")


@receiver(post_save, sender=IndustryTerm)
@receiver(post_delete, sender=IndustryTerm)
def forget_vocabulary(sender, **kwargs) -> None:
    industry_vocabulary_clear()


@receiver(signals.lead_created)
def enrich_new_lead(sender, lead_id: int, **kwargs) -> None:
    """A new lead's pipeline starts with its enrichment."""
    lead_enrich_schedule(lead_id)


@receiver(signals.lead_creating)
def enrichment_row_with_new_lead(sender, **kwargs):
    """The pending row of the enrichment ``enrich_new_lead`` schedules, for the new lead's insert to write (or None:
    written as usual)."""
    return lead_enrich_step_row()


@receiver(signals.lead_import_confirmed)
def run_confirmed_import(sender, import_id: int, **kwargs) -> None:
    lead_import_schedule(import_id)


@receiver(post_migrate)
def default_vocabulary_after_migrate(sender, app_config=None, **kwargs) -> None:
    """A fresh install maps "SaaS" to Technology out of the box (``LEADFLOW_DEFAULTS_ON_MIGRATE``)."""
    if app_config is not None and app_config.label == "leads" and settings.LEADFLOW_DEFAULTS_ON_MIGRATE:
        industry_vocabulary_defaults_ensure()


@receiver(check_request_enabled)
def cors_allow_webform_origin(sender, request, **kwargs) -> bool:
    """CORS for a website form: the browser's origin is allowed only for the form named in the URL, when it is on
    that form's list. django-cors-headers asks on every request whose path does not match ``CORS_URLS_REGEX`` (is
    CORS on for it?) and, on the form's path, whether the origin is allowed: any other path answers no at once."""
    match = WEBFORM_PATH.match(request.path)
    if match is None:
        return False
    origin = request.headers.get("Origin", "")
    return bool(origin and webform_origin_allowed(key=match["key"], origin=origin))
