"""Values rendered for people: history diffs, score reasons and JSON fields, shared by the admin and the rep pages.

Every app's admin and the workspace use these renderers (with the template includes ``presentation/_reasons.html``,
``presentation/_json.html`` and ``presentation/_changes.html``), so the same value reads the same everywhere:

- :func:`person_name` — a user as a person's name ("Leadflow automation", "Rita Ruiz"), never a primary key;
- :func:`reason_lines` — score reasons as lines that add up to the score: human label first, points as applied
  today ("decayed from 35" where they did), the code last;
- :func:`json_rows` / :func:`json_html` — a JSON dict as a small two-column table, a list as a list;
- :func:`value_html` / :func:`history_changes` — one field's value, and the changes of a history row against the
  one before it, with owner names, choice labels, reasons as a list and JSON as tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import ForeignKey, JSONField, Model
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import capfirst

EMPTY = "—"
LONG_TEXT = 200


def person_name(user: Any) -> str:
    """A user as people call them: the full name, else the username; "—" for nobody."""
    if user is None:
        return EMPTY
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return full or getattr(user, "username", "") or str(user)


@dataclass(frozen=True)
class ReasonLine:
    """One line of "why this score": the label, the points as applied, a note (decay, cap), the machine code."""

    label: str
    points: int
    note: str
    code: str
    kind: str

    @property
    def points_text(self) -> str:
        return f"{self.points:+d}"


def reason_lines(reasons: list[dict[str, Any]] | None) -> list[ReasonLine]:
    """The stored reasons as lines for people, in the stored order (they sum to the score since the engine lists
    every point: the largest reasons, the smaller ones together, caps, rounding and the model as their own lines).

    A reason whose points were reduced shows the points it would have been worth ("decayed from 35"); the
    predictive model's features (0 points, for the why) keep their place after the points."""
    lines = []
    for reason in reasons or []:
        if not isinstance(reason, dict):
            continue
        points = int(reason.get("points") or 0)
        full = reason.get("full")
        note = ""
        if full is not None and int(full) != points:
            cap = reason.get("cap")
            if cap is not None and points == int(cap):
                note = f"capped at {cap}, from {full}"
            else:
                note = f"decayed from {full}"
        if reason.get("events") and int(reason["events"]) > 1:
            note = f"{reason['events']} events" + (f", {note}" if note else "")
        if "log_odds" in reason:
            note = f"raises the odds ({reason['log_odds']:+.2f})" if reason["log_odds"] >= 0 else \
                f"lowers the odds ({reason['log_odds']:+.2f})"
        lines.append(ReasonLine(label=str(reason.get("label") or reason.get("code") or ""), points=points,
                                note=note, code=str(reason.get("code") or ""), kind=str(reason.get("kind") or "")))
    return lines


def reasons_html(reasons: list[dict[str, Any]] | None, *, score: int | None = None) -> SafeString:
    """The reasons as the ``presentation/_reasons.html`` list (with the total when ``score`` is given)."""
    return render_to_string("presentation/_reasons.html", {"lines": reason_lines(reasons), "score": score})


def _scalar_text(value: Any) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        value = parse_datetime(value) or value  # an ISO date-time stored in JSON reads as a date-time
    if isinstance(value, datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if timezone.is_aware(value) else f"{value:%Y-%m-%d %H:%M}"
    text = str(value)
    return text if len(text) <= LONG_TEXT else text[:LONG_TEXT - 1] + "…"


def json_rows(value: dict[str, Any]) -> list[tuple[str, str]]:
    """A JSON object as (key, value) rows; nested values are shown compactly."""
    rows = []
    for key, item in value.items():
        if isinstance(item, dict):
            item = ", ".join(f"{k}: {_scalar_text(v)}" for k, v in item.items())
        elif isinstance(item, list):
            item = ", ".join(_scalar_text(v) for v in item)
        rows.append((capfirst(str(key).replace("_", " ")), _scalar_text(item)))
    return rows


def _is_reason_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(item, dict) and "points" in item and ("label" in item or "code" in item) for item in value)


def json_html(value: Any) -> SafeString:
    """A JSON value for people: reasons as a list, an object as a small table, a list as a list, "—" when empty."""
    if value in (None, "", {}, []):
        return format_html("{}", EMPTY)
    if _is_reason_list(value):
        return reasons_html(value)
    if isinstance(value, dict):
        return render_to_string("presentation/_json.html", {"rows": json_rows(value)})
    if isinstance(value, list):
        return render_to_string("presentation/_json.html", {
            "items": [", ".join(f"{k}: {_scalar_text(v)}" for k, v in item.items()) if isinstance(item, dict)
                      else _scalar_text(item) for item in value]})
    return format_html("{}", _scalar_text(value))


class _RelatedNames:
    """Names of related objects by primary key, read once per model and key while a page renders."""

    def __init__(self) -> None:
        self._cache: dict[tuple[type[Model], Any], str] = {}

    def name(self, model: type[Model], pk: Any) -> str:
        if pk in (None, ""):
            return EMPTY
        key = (model, pk)
        if key not in self._cache:
            obj = model._default_manager.filter(pk=pk).first()
            if obj is None:
                self._cache[key] = f"deleted {model._meta.verbose_name} #{pk}"
            elif isinstance(obj, get_user_model()):
                self._cache[key] = person_name(obj)
            else:
                self._cache[key] = str(obj)
        return self._cache[key]


def value_html(model: type[Model], field_name: str, value: Any, names: _RelatedNames | None = None) -> SafeString:
    """One stored value of ``model.field_name`` for people: a related object's name (a user's full name), a
    choice's label, reasons as a list, JSON as a table, dates in local time."""
    field = model._meta.get_field(field_name)
    if isinstance(field, ForeignKey):
        return format_html("{}", (names or _RelatedNames()).name(field.related_model, value))
    if isinstance(field, JSONField):
        return json_html(value)
    if field.choices and value not in (None, ""):
        return format_html("{}", dict(field.flatchoices).get(value, value))
    return format_html("{}", _scalar_text(value))


@dataclass(frozen=True)
class Change:
    field: str
    old: SafeString
    new: SafeString


def history_changes(new_record: Any, old_record: Any, names: _RelatedNames | None = None) -> list[Change]:
    """What changed from ``old_record`` to ``new_record`` (two history rows of one object), rendered for people."""
    model = new_record.instance_type
    names = names or _RelatedNames()
    delta = new_record.diff_against(old_record, foreign_keys_are_objs=False)
    return [Change(field=capfirst(model._meta.get_field(c.field).verbose_name),
                   old=value_html(model, c.field, c.old, names), new=value_html(model, c.field, c.new, names))
            for c in delta.changes]


def history_rows_annotate(records: list[Any]) -> None:
    """Set ``readable_changes`` (against the next older row) and ``changed_by`` on history rows, newest first."""
    names = _RelatedNames()
    for index, record in enumerate(records):
        older = records[index + 1] if index + 1 < len(records) else None
        record.readable_changes = history_changes(record, older, names) if older is not None else []
        record.changed_by = person_name(record.history_user) if record.history_user_id else EMPTY


def changes_html(changes: list[Change]) -> SafeString:
    """The ``presentation/_changes.html`` list of changes."""
    return render_to_string("presentation/_changes.html", {"changes": changes})
