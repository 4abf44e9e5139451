"""``person_export``: everything stored about one person, as JSON-ready data.

One section per table (``leads.Lead``, ``leads.LeadEvent``, ``routing.Task``, ``routing.RoutingDecision``,
``scoring.ScoreChange``, ``leads.DuplicateReview``, ``leads.MergeLog``, ``revops.Notification`` ...), each row with
every stored column, and the history rows of each table that keeps history under ``<label> history``.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from revops.base.privacy import email_normalized

from .people import history_model, person_lead_ids, person_needles, person_rows


def _rows(model: type[models.Model], queryset) -> list[dict[str, Any]]:
    names = [f.attname for f in model._meta.concrete_fields]
    return [dict(zip(names, values, strict=True)) for values in queryset.values_list(*names)]


def leads_export(lead_ids: list[int], *, email: str = "") -> dict[str, Any]:
    """Every row about these leads (and their history), grouped by table; JSON-ready."""
    rows = person_rows(lead_ids, person_needles(lead_ids, email))
    tables: dict[str, list[dict[str, Any]]] = {}
    for model, pks in rows.models_and_ids():
        if not pks:
            continue
        label = model._meta.label
        tables[label] = _rows(model, model._default_manager.filter(pk__in=pks).order_by("pk"))
        history = history_model(model)
        if history is not None:
            pk_name = model._meta.pk.attname
            tables[f"{label} history"] = _rows(
                history, history.objects.filter(**{f"{pk_name}__in": pks}).order_by(pk_name, "history_date",
                                                                                   "history_id"))
    data = {"generated_at": timezone.now(), "lead_ids": list(lead_ids),
            "counts": {label: len(items) for label, items in tables.items()}, "tables": tables}
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def person_export(email: str) -> dict[str, Any]:
    """Everything stored about the person with this e-mail (see ``people.py`` for how they are found)."""
    address = email_normalized(email)
    return {"email": address, **leads_export(person_lead_ids(address), email=address)}
