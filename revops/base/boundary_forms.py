"""The input boundary for forms a person fills in the admin (``revops.base.boundary``): the same rules as the API.

A lead or an account edited by hand enters the pipeline like one posted to the API, so its text is checked and
normalised the same way (no NUL or lone surrogate, Unicode NFC, at most ``LEADFLOW_MAX_TEXT_LENGTH`` characters in a
field without a length of its own) and its custom attributes are capped the same way (count, key length, nesting
depth, encoded size). A value over a cap is an error under its field naming the cap; nothing is saved.
"""

from __future__ import annotations

from django import forms

from .boundary import BoundaryError, attributes_check, json_clean, text_clean


class BoundaryModelForm(forms.ModelForm):
    """A ModelForm whose every text and JSON value passes the input boundary before the model's own validation."""

    # JSON fields holding custom attributes (a mapping of names to values): their keys are counted and capped too.
    attribute_fields: tuple[str, ...] = ("custom",)

    def clean(self) -> dict:
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            field = self.fields.get(name)
            try:
                if isinstance(value, str) and value:
                    own_cap = getattr(field, "max_length", None)
                    cleaned[name] = text_clean(value, field=name, max_length=0 if own_cap else None)
                elif isinstance(field, forms.JSONField) and value not in (None, "", {}, []):
                    if name in self.attribute_fields and isinstance(value, dict):
                        attributes_check(list(value), field=name)
                    cleaned[name] = json_clean(value, field=name)
            except BoundaryError as exc:
                self.add_error(name, exc.reason)
        return cleaned
