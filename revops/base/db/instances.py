"""Building and validating many unsaved model instances, as a bulk import does for each batch of rows.

``Model(**values)`` resolves the default of every field one by one (a lead has sixty) and ``clean_fields`` runs
every validator of every checked field for each row, although most values repeat from row to row (country, state,
title, industry, source, the batch's timestamps). For a bulk import those two were a sixth of the time. These
helpers give the same instances and the same errors:

* :func:`instance_new` — ``Model(**values)`` from a copy of one instance holding the defaults; a default given as a
  callable is still called for each instance. Falls back to ``Model(**values)`` when ``post_init`` has receivers
  (they would not run otherwise).
* :func:`instance_clean_fields` — ``Model.clean_fields`` for the named fields, with each (field, value) outcome kept
  for the values that are plain and hashable (text, numbers, booleans, dates): a field's ``clean`` depends on the
  value only (the related fields, whose validation reads the database, are never cached). At most
  ``_CLEAN_CACHE_PER_FIELD`` outcomes are kept per field.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.signals import post_init

_CACHEABLE = (str, int, float, bool, decimal.Decimal, datetime.date, datetime.datetime, datetime.time)
_CLEAN_CACHE_PER_FIELD = 4096  # outcomes kept per field: memory stays bounded on a file of a million rows
_templates: dict[type[Model], tuple[dict[str, Any], list]] = {}
_clean_cache: dict[Any, dict[tuple, tuple[bool, Any]]] = {}


def _template(model: type[Model]) -> tuple[dict[str, Any], list]:
    found = _templates.get(model)
    if found is None:
        state = dict(model().__dict__)
        state.pop("_state", None)
        fresh = [f for f in model._meta.concrete_fields if f.has_default() and callable(f.default)]
        found = _templates[model] = (state, fresh)
    return found


def instance_new(model: type[Model], values: Mapping[str, Any]) -> Model:
    """An unsaved ``model(**values)``; ``values`` are field names (or properties) as ``Model.__init__`` takes."""
    if post_init.has_listeners(model):
        return model(**values)
    state, fresh = _template(model)
    obj = model.__new__(model)
    attributes = obj.__dict__
    attributes.update(state)
    attributes["_state"] = ModelState()
    for field in fresh:
        attributes[field.attname] = field.get_default()
    for name, value in values.items():
        setattr(obj, name, value)
    return obj


def _clean(field, raw: Any, obj: Model) -> Any:
    if field.is_relation or type(raw) not in _CACHEABLE:
        return field.clean(raw, obj)
    outcomes = _clean_cache.get(field)
    if outcomes is None:
        outcomes = _clean_cache[field] = {}
    key = (type(raw), raw)
    known = outcomes.get(key)
    if known is None:
        try:
            known = (True, field.clean(raw, obj))
        except ValidationError as exc:
            known = (False, exc)
        if len(outcomes) < _CLEAN_CACHE_PER_FIELD:  # a field whose values rarely repeat (e-mail) stops growing
            outcomes[key] = known
    ok, result = known
    if not ok:
        raise ValidationError(result.error_list)
    return result


def instance_clean_fields(obj: Model, names: Iterable[str]) -> None:
    """``obj.clean_fields()`` restricted to the fields ``names`` (the others are skipped as if excluded)."""
    checked = set(names)
    errors: dict[str, list] = {}
    for field in obj._meta.fields:
        if field.name not in checked or field.generated:
            continue
        raw = getattr(obj, field.attname)
        if field.blank and raw in field.empty_values:
            continue
        try:
            setattr(obj, field.attname, _clean(field, raw, obj))
        except ValidationError as exc:
            errors[field.name] = exc.error_list
    if errors:
        raise ValidationError(errors)
