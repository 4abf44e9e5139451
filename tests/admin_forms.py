"""What an admin change form posts back unchanged, for tests that edit an object through the admin."""

from __future__ import annotations

import json


def change_form_data(client, url: str) -> dict:
    """The change form at ``url`` as the browser would post it untouched: its fields (JSON values encoded) and every
    inline formset's management form and rows."""
    page = client.get(url)
    form = page.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        data[name] = json.dumps(value) if isinstance(value, dict | list) else "" if value is None else value
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for key in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS"):
            data[f"{management.prefix}-{key}"] = management[key].value()
        for inline_form in formset.formset.forms:
            for name in inline_form.fields:
                value = inline_form[name].value()
                data[inline_form.add_prefix(name)] = "" if value is None else value
    return data
