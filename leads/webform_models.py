"""Website forms: a public form key with its allowed origins (CORS), consent text and field mapping, and the record
of each submission (which lead, the consent text shown and when it was given)."""

import re
import secrets

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from revops.base.history_records import HistoricalRecords

from .normalize import INPUT_COLUMNS

FORM_KEY_PATTERN = r"[A-Za-z0-9_-]{8,64}"
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")
DEFAULT_FIELDS = ["first_name", "last_name", "email", "company"]


def webform_key_new() -> str:
    """A fresh public form key (it is public: it names the form, it grants nothing else)."""
    return secrets.token_urlsafe(16)


def webform_default_fields() -> list[str]:
    return list(DEFAULT_FIELDS)


def origin_normalize(origin: str) -> str:
    """``https://Example.com/`` → ``https://example.com`` (how browsers send the ``Origin`` header)."""
    return origin.strip().rstrip("/").lower()


class WebForm(models.Model):
    """A form on a website that creates leads through ``POST /api/forms/<key>/submit``.

    The key is public (it sits in the page); what protects the endpoint is the CORS allow-list, the honeypot field,
    the rate limits and the normal input boundary. ``fields`` are the lead columns the ready-to-paste snippet shows;
    ``field_mapping`` renames the page's own field names to lead columns (``{"work_email": "email"}``).
    """

    name = models.CharField(max_length=100)
    key = models.CharField(max_length=64, unique=True, default=webform_key_new,
                           validators=[RegexValidator(f"^{FORM_KEY_PATTERN}$")],
                           help_text="The public key in the form's URL (8-64 letters, digits, _ or -).")
    allowed_origins = models.TextField(blank=True, help_text="One origin per line, e.g. https://www.example.com: "
                                                             "only pages there may post this form from a browser.")
    fields = models.JSONField(default=webform_default_fields, blank=True,
                              help_text="Lead columns the form collects, e.g. [\"first_name\", \"email\"].")
    field_mapping = models.JSONField(default=dict, blank=True,
                                     help_text="The page's field names → lead columns, e.g. {\"work_email\": "
                                               "\"email\"}.")
    consent_text = models.TextField(blank=True, help_text="The consent checkbox's text, stored with each consent.")
    consent_required = models.BooleanField(default=False, help_text="Refuse a submission without consent.")
    source = models.CharField(max_length=100, default="web_form", help_text="The leads' source (routing may use it).")
    honeypot_field = models.CharField(max_length=50, default="homepage_url",
                                      help_text="A hidden field people leave empty; a bot that fills it gets a "
                                                "success answer and nothing is stored.")
    success_url = models.URLField(blank=True, help_text="Where a plain (script-less) form post is sent afterwards.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "website form"

    def __str__(self) -> str:
        return self.name

    def origins(self) -> list[str]:
        return [origin_normalize(line) for line in (self.allowed_origins or "").splitlines() if line.strip()]

    def mapping(self) -> dict[str, str]:
        """Every accepted page field name → its lead column (the columns themselves, then the renames)."""
        return {**{name: name for name in self.fields or []}, **(self.field_mapping or {})}

    def clean(self) -> None:
        problems = {}
        bad = [line.strip() for line in (self.allowed_origins or "").splitlines()
               if line.strip() and not _ORIGIN.match(origin_normalize(line))]
        if bad:
            problems["allowed_origins"] = (f"not an origin (scheme://host[:port], no path): {', '.join(bad[:5])}")
        columns = set(INPUT_COLUMNS) - {"source", "consent"}
        if not isinstance(self.fields, list) or not all(isinstance(f, str) for f in self.fields):
            problems["fields"] = "a list of lead column names"
        elif unknown := sorted(set(self.fields) - columns):
            problems["fields"] = f"not lead columns: {', '.join(unknown)}"
        if not isinstance(self.field_mapping, dict):
            problems["field_mapping"] = "an object of page field name → lead column"
        elif unknown := sorted({str(v) for v in self.field_mapping.values()} - columns):
            problems["field_mapping"] = f"not lead columns: {', '.join(unknown)}"
        if self.honeypot_field in self.mapping() or self.honeypot_field == "consent":
            problems["honeypot_field"] = "must not be one of the form's real fields"
        if problems:
            raise ValidationError(problems)


class WebFormSubmission(models.Model):
    """One accepted submission of a website form: the lead it went to, and the consent as it was given (the text
    the visitor saw and when)."""

    form = models.ForeignKey(WebForm, on_delete=models.PROTECT, related_name="submissions")
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="form_submissions")
    action = models.CharField(max_length=20, help_text="What the ingest did: created, updated, merged.")
    consent_given = models.BooleanField(default=False)
    consent_text = models.TextField(blank=True, help_text="The consent text shown on the form at the time.")
    consented_at = models.DateTimeField(null=True, blank=True)
    origin = models.CharField(max_length=200, blank=True, help_text="The page's origin, as the browser sent it.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "website form submission"

    def __str__(self) -> str:
        return f"{self.form} → lead #{self.lead_id}"
