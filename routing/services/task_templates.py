"""Task templates: the template of a lead (source × band × stage, the most specific active one) and its texts with
the lead's fields filled in (only the named fields of ``TEMPLATE_FIELDS``; an unknown placeholder stays as written,
and a value is never read as a template itself)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leads.models import Lead
from revops.base.jobscope import job_memo

from ..models import TEMPLATE_FIELDS, TaskTemplate

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class RenderedTemplate:
    template: TaskTemplate
    title: str
    call_script: str
    email_subject: str
    email_body: str


def task_template_for(*, source: str, band: str, stage: str) -> TaskTemplate | None:
    """The most specific active template for the kind of lead (source counts most, then band, then stage). The
    active templates are read once per drain job (``revops.base.jobscope``), every time outside one."""
    candidates = [t for t in job_memo("task_templates_active", lambda: list(TaskTemplate.objects.filter(active=True)))
                  if t.source in (source or "", "") and t.band in (band or "", "") and t.stage in (stage or "", "")]
    return max(candidates, key=lambda t: (bool(t.source), bool(t.band), bool(t.stage), -t.pk), default=None)


def template_values(lead: Lead | Mapping[str, Any], owner_first_name: str = "") -> dict[str, str]:
    """The placeholders' values of a lead (an instance or a row of values)."""
    get = lead.get if isinstance(lead, Mapping) else lambda name, default="": getattr(lead, name, default)
    first, last = get("first_name", "") or "", get("last_name", "") or ""
    values = {name: get(name, "") for name in TEMPLATE_FIELDS}
    values["full_name"] = " ".join(filter(None, [first, last])) or (get("email", "") or "")
    values["first_name"] = first or "there"
    values["owner_first_name"] = owner_first_name
    return {name: "" if value is None else str(value) for name, value in values.items()}


def template_fill(text: str, values: Mapping[str, str]) -> str:
    """Replace each ``{field}`` of ``TEMPLATE_FIELDS`` by its value, in one pass."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def task_template_render(lead: Lead, *, owner_first_name: str = "") -> RenderedTemplate | None:
    """The lead's template with its fields filled in (None when no template matches)."""
    template = task_template_for(source=lead.source, band=lead.band, stage=lead.stage)
    if template is None:
        return None
    values = template_values(lead, owner_first_name)
    return RenderedTemplate(template, template_fill(template.title, values)[:255],
                            template_fill(template.call_script, values), template_fill(template.email_subject, values),
                            template_fill(template.email_body, values))
