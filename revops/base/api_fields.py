"""Serializer fields built once per class, and the output written without copying them.

A ``ModelSerializer`` works its fields out of the model on every instance (about 0.7 ms for the lead's 48 fields,
paid by every answer of ``POST /api/leads/``). For a serializer whose fields depend on its class alone (not on the
request, the user or the instance), :class:`FieldsBuiltOnce` builds them once and gives each instance deep copies, as
DRF itself does with declared fields, so no two instances share a bound field.

Writing an object out needs no copies at all: a field turns a value into its output without reading the serializer
it is bound to, but for a method field (which calls a method of the serializer at hand) and a field that needs the
request or nests a serializer. So ``to_representation`` runs over one set of fields bound once per class and calls
the method fields on the serializer at hand; a class with a field of the other kinds writes its output as DRF does.
The output is the same either way (tests/revops/test_api_fast_paths.py compares both over generated leads); the copies
were about a tenth of the web's CPU for a form (docs/benchmarks.md).

Reading input needs no copies either, for an input serializer whose fields read nothing of the serializer they are
bound to but whether it is partial and its context (:class:`InputFieldsBoundOnce`): the event API's seven declared
fields were deep-copied for every ``POST /api/events/`` (about 5 % of the web's CPU for a form).
"""

from __future__ import annotations

import copy

from rest_framework import relations, serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.utils.serializer_helpers import BindingDict

# Fields whose output needs the serializer they are bound to (its context: the request for a URL; or a nested
# serializer's): a class with one writes as DRF does.
_BOUND_TO_THEIR_SERIALIZER = (serializers.BaseSerializer, relations.HyperlinkedRelatedField,
                              serializers.HyperlinkedIdentityField, serializers.FileField)


def _needs_its_serializer(field) -> bool:
    """The field, or the child it writes each item with (a list, a dict, a to-many relation), reads its serializer."""
    if isinstance(field, _BOUND_TO_THEIR_SERIALIZER) or field.source == "*":
        return True
    child = getattr(field, "child", None) or getattr(field, "child_relation", None)
    return child is not None and _needs_its_serializer(child)


class FieldsBuiltOnce:
    """Mix in before the serializer class: ``class LeadSerializer(FieldsBuiltOnce, serializers.ModelSerializer)``.
    Only for serializers whose ``get_fields`` reads nothing but the class."""

    def get_fields(self):
        built = type(self).__dict__.get("_fields_built_once")
        if built is None:
            built = super().get_fields()
            type(self)._fields_built_once = built
        return copy.deepcopy(built)

    def to_representation(self, instance):
        plan = type(self).__dict__.get("_output_plan")
        if plan is None:
            plan = type(self)._output_plan = _output_plan(type(self))
        if not plan:
            return super().to_representation(instance)
        output = {}
        for name, field, method in plan:
            if method is not None:
                output[name] = getattr(self, method)(instance)
                continue
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            value = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            output[name] = None if value is None else field.to_representation(attribute)
        return output


class InputFieldsBoundOnce:
    """Mix in before ``serializers.Serializer`` for an input serializer of plain fields (no nested serializer, no
    field that reads the request): its declared fields are bound once per class, to an instance with no context that
    is not partial, and every instance validates with those. An instance made partial or given a context binds its
    own copies, as DRF does. DRF's fields keep no state between two validations (an error is raised, not stored)."""

    @property
    def fields(self):
        own = self.__dict__.get("_own_fields")
        if own is not None:
            return own
        if self.partial or self._context:
            own = self.__dict__["_own_fields"] = _fields_bound_to(self)
            return own
        bound = type(self).__dict__.get("_fields_bound_once")
        if bound is None:
            prototype = type(self)()
            bound = type(self)._fields_bound_once = _fields_bound_to(prototype)
        return bound


def _fields_bound_to(serializer):
    """What DRF's ``Serializer.fields`` builds: the declared fields deep-copied and bound to ``serializer``."""
    fields = BindingDict(serializer)
    for key, value in serializer.get_fields().items():
        fields[key] = value
    return fields


def _output_plan(serializer_class) -> list[tuple[str, object, str | None]]:
    """(name, field bound once, method name of a method field) per readable field, in order; empty when a field
    needs the serializer at hand (the class then writes its output as DRF does)."""
    plan = []
    for field in serializer_class()._readable_fields:
        if isinstance(field, serializers.SerializerMethodField):
            plan.append((field.field_name, field, field.method_name))
        elif _needs_its_serializer(field):
            return []
        else:
            plan.append((field.field_name, field, None))
    return plan
