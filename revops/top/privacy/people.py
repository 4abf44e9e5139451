"""Which rows are about one person.

The person is found by e-mail: the leads with that e-mail now or in any history row, then every lead merged into
one of them or that one of them was merged into, until no new lead is found. Their rows in other tables are found
through every foreign key to ``Lead`` (events, tasks, routing decisions, score changes, triggers, feedback, review
pairs, merge logs, source records, enrichment requests, and whatever table a later feature adds), each with its
history rows; notifications by the object they are about (the lead, its tasks, its decisions) or by the person's
e-mail, phone or name in their text (a rep's digest lists many leads).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import models
from django.db.models import Q

from leads.models import Lead
from revops.base.models import Notification
from revops.base.privacy import email_normalized

from .scrub import Scrubber

PERSONAL_FIELDS = ("first_name", "last_name", "email", "phone", "phone_raw", "title", "city", "postal_code",
                   "external_id")
"""Lead fields that identify the person: emptied on erasure (firmographics, stage, score, outcome stay)."""

FREE_FORM_FIELDS = ("custom",)
"""Lead fields of arbitrary content from the source (CSV extra columns): emptied on erasure."""


def history_model(model: type[models.Model]) -> type[models.Model] | None:
    """The django-simple-history model of ``model``, if it keeps history."""
    manager = getattr(model._meta, "simple_history_manager_attribute", None)
    return getattr(model, manager).model if manager else None


def _is_history(model: type[models.Model]) -> bool:
    return any(f.name == "history_id" for f in model._meta.fields)


def lead_relations() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with a foreign key to ``Lead`` (not ``Lead`` itself, not history models), with those keys."""
    found: dict[type[models.Model], list[str]] = {}
    for relation in Lead._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and not relation.concrete and (relation.one_to_many or relation.one_to_one)):
            continue
        model = relation.related_model
        if model is Lead or _is_history(model):
            continue
        found.setdefault(model, []).append(relation.field.name)
    return sorted(found.items(), key=lambda item: item[0]._meta.label)


def object_types(model: type[models.Model]) -> list[str]:
    """The names the outbox and the automation log give rows of ``model`` ("task", "routing_decision")."""
    return sorted({model._meta.model_name, str(model._meta.verbose_name).replace(" ", "_")})


def person_lead_ids(email: str) -> list[int]:
    """The ids of every lead that is the person with this e-mail (see the module docstring)."""
    address = email_normalized(email)
    if not address:
        return []
    ids = set(Lead.objects.filter(email=address).values_list("pk", flat=True))
    ids |= set(Lead.history.filter(email=address).values_list("id", flat=True))
    ids &= set(Lead.objects.filter(pk__in=ids).values_list("pk", flat=True))  # history of deleted leads: gone
    frontier = set(ids)
    while frontier:
        linked = set(Lead.objects.filter(Q(merged_into_id__in=frontier) | Q(pk__in=frontier, merged_into__isnull=False))
                     .values_list("pk", "merged_into_id").distinct().iterator())
        found = {pk for pair in linked for pk in pair if pk is not None} - ids
        ids |= found
        frontier = found
    return sorted(ids)


@dataclass
class PersonRows:
    """The rows about one person: leads and, per related model, the primary keys of its rows."""

    lead_ids: list[int]
    related: dict[type[models.Model], list[int]] = field(default_factory=dict)
    notification_ids: list[int] = field(default_factory=list)

    def models_and_ids(self) -> Iterator[tuple[type[models.Model], list[int]]]:
        yield Lead, self.lead_ids
        yield from self.related.items()
        yield Notification, self.notification_ids


def person_needles(lead_ids: list[int], email: str = "") -> list[str]:
    """The personal values to look for in free text: every e-mail, phone, name, source id, title, city and postal
    code the leads had."""
    values = {email_normalized(email)} if email else set()
    columns = ("first_name", "last_name", "email", "phone", "phone_raw", "external_id", "title", "city",
               "postal_code")
    for manager in (Lead.objects, Lead.history):
        for first, last, address, phone, *others in manager.filter(
                **({"pk__in": lead_ids} if manager is Lead.objects else {"id__in": lead_ids})).values_list(*columns):
            values.update({first, last, address, phone, *others, f"{first} {last}".strip(),
                           f"{last}, {first}".strip(", ")})
            if phone.startswith("+"):
                values.add(phone[1:])
    for model, fields in lead_relations():
        if model._meta.label == "leads.SourceRecord":
            query = Q()
            for name in fields:
                query |= Q(**{f"{name}__in": lead_ids})
            values.update(model._default_manager.filter(query).values_list("external_id", flat=True))
    return sorted(v for v in values if v)


def person_rows(lead_ids: list[int], needles: list[str]) -> PersonRows:
    """Every row of another table about these leads, and the notifications about them or naming them."""
    rows = PersonRows(lead_ids=list(lead_ids))
    if not lead_ids:
        return rows
    about = Q(object_type="lead", object_id__in=lead_ids)
    for model, fields in lead_relations():
        query = Q()
        for name in fields:
            query |= Q(**{f"{name}__in": lead_ids})
        pks = sorted(set(model._default_manager.filter(query).values_list("pk", flat=True)))
        if pks:
            rows.related[model] = pks
            about |= Q(object_type__in=object_types(model), object_id__in=pks)
    mentions = Q()
    scrubber = Scrubber(needles)
    for needle in scrubber.needles:
        if "@" in needle or needle.startswith("+") or " " in needle:  # the distinctive ones; single names: too many
            mentions |= Q(text__icontains=needle) | Q(html__icontains=needle) | Q(subject__icontains=needle)
    found = Notification.objects.filter(about | mentions) if mentions else Notification.objects.filter(about)
    rows.notification_ids = sorted(found.values_list("pk", flat=True))
    return rows
