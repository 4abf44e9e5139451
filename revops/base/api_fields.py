"""Serializer fields built once per class.

A ``ModelSerializer`` works its fields out of the model on every instance (about 0.7 ms for the lead's 48 fields,
paid by every answer of ``POST /api/leads/``). For a serializer whose fields depend on its class alone (not on the
request, the user or the instance), :class:`FieldsBuiltOnce` builds them once and gives each instance deep copies, as
DRF itself does with declared fields, so no two instances share a bound field.
"""

from __future__ import annotations

import copy


class FieldsBuiltOnce:
    """Mix in before the serializer class: ``class LeadSerializer(FieldsBuiltOnce, serializers.ModelSerializer)``.
    Only for serializers whose ``get_fields`` reads nothing but the class."""

    def get_fields(self):
        built = type(self).__dict__.get("_fields_built_once")
        if built is None:
            built = super().get_fields()
            type(self)._fields_built_once = built
        return copy.deepcopy(built)
