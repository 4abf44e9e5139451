"""The ready-to-paste HTML of a website form: a plain ``<form>`` (it works without script too) and a small script
that posts it as JSON and shows the field errors next to their fields. Shown on the form's admin page."""

from django.conf import settings
from django.template.loader import render_to_string

from .webform_models import WebForm

_TYPES = {"email": "email", "phone": "tel", "website": "url", "employees": "number"}


def _label(column: str) -> str:
    return column.replace("_", " ").capitalize().replace("Email", "E-mail")


def webform_snippet(form: WebForm, *, base_url: str | None = None) -> str:
    """The snippet for ``form``, posting to ``base_url`` (default ``LEADFLOW_BASE_URL``)."""
    base = (base_url or settings.LEADFLOW_BASE_URL).rstrip("/")
    by_column = {column: name for name, column in form.mapping().items()}  # a renamed field keeps the page's name
    fields = [{"name": by_column.get(column, column), "label": _label(column), "type": _TYPES.get(column, "text"),
               "required": column == "email"} for column in dict.fromkeys(form.mapping().values())]
    return render_to_string("webforms/snippet.html", {
        "form": form, "fields": fields, "action": f"{base}/api/forms/{form.key}/submit"}).strip() + "\n"
