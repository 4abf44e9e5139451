"""Field specifications of configuration as code: which fields of which model a section holds, how references
are written (natural keys) and how values are checked. Also the format version and the error type."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.dateparse import parse_time

from routing.models import (
    DisqualifyReason,
    NurtureProgram,
    NurtureStep,
    Rep,
    RoutingRule,
    SlaPolicy,
    StageSla,
    TaskTemplate,
    Team,
    Territory,
)
from scoring.models import ScoringModel, ScoringRule

FORMAT_VERSION = 1
SECTIONS = ("territories", "teams", "reps", "routing_rules", "sla_policies", "stage_slas", "task_templates",
            "disqualify_reasons", "nurture_programs", "scoring_models")
CHANGE_REASON = "config import"

User = get_user_model()


class ConfigError(Exception):
    """The file cannot be imported; ``errors`` lists every problem with its place in the file."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


# --- Field specifications -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class F:
    """One field of a section: its YAML key, the model attribute, how it is written in YAML, what it refers to."""

    key: str
    attr: str = ""
    kind: str = "value"  # value | csv | csv_upper | time | ref | m2m
    ref: tuple[type[models.Model], str] | None = None
    always: bool = False  # exported even when it holds the default
    deferred: bool = False  # a reference inside the same section: set in a second pass

    @property
    def name(self) -> str:
        return self.attr or self.key


def _by_username(model, value):
    return model.objects.filter(**{"user__username" if model is Rep else "username": value}).first()


def reference_lookup(ref: tuple[type[models.Model], str], value: str):
    model, key = ref
    if model is Rep or model is User:
        return _by_username(model, value)
    return model.objects.filter(**{key: value}).first()


def _natural(ref: tuple[type[models.Model], str], obj) -> str | None:
    if obj is None:
        return None
    model, key = ref
    if model is Rep:
        return obj.user.get_username()
    return getattr(obj, key)


def _split(value: str, upper: bool) -> list[str]:
    items = [part.strip() for part in (value or "").split(",") if part.strip()]
    return [item.upper() for item in items] if upper else items


def _time_text(value: time) -> str:
    return value.strftime("%H:%M" if value.second == 0 else "%H:%M:%S")


@dataclass
class Spec:
    """A section of the file: the model, its natural key and its fields."""

    section: str
    label: str
    model: type[models.Model]
    keys: tuple[str, ...]
    fields: tuple[F, ...]
    finder: Callable[[dict], models.Model | None] | None = None
    optional_keys: tuple[str, ...] = ()  # parts of the natural key that may be empty (an SLA for any band)

    def model_field(self, f: F) -> models.Field:
        return self.model._meta.get_field(f.name)

    def default(self, f: F) -> Any:
        if f.kind == "m2m":
            return []
        if f.kind == "ref":
            return None
        value = self.model_field(f).get_default()
        if f.kind in ("csv", "csv_upper"):
            return _split(value or "", f.kind == "csv_upper")
        if f.kind == "time":
            return _time_text(value)
        return value

    def from_object(self, obj: models.Model) -> dict[str, Any]:
        """The canonical form of a stored object (what export writes and what the diff compares)."""
        result: dict[str, Any] = {}
        for f in self.fields:
            if f.kind == "ref":
                result[f.key] = _natural(f.ref, getattr(obj, f.name))
            elif f.kind == "m2m":
                result[f.key] = sorted(_natural(f.ref, o) for o in getattr(obj, f.name).all())
            elif f.kind in ("csv", "csv_upper"):
                result[f.key] = _split(getattr(obj, f.name), f.kind == "csv_upper")
            elif f.kind == "time":
                result[f.key] = _time_text(getattr(obj, f.name))
            else:
                result[f.key] = getattr(obj, f.name)
        return result

    def export(self, obj: models.Model) -> dict[str, Any]:
        canonical = self.from_object(obj)
        return {f.key: canonical[f.key] for f in self.fields
                if f.always or f.key in self.keys or canonical[f.key] != self.default(f)}

    def from_entry(self, entry: dict, path: str, errors: list[str]) -> dict[str, Any] | None:
        """The canonical form of a file entry: types checked, defaults filled in; None when it has errors."""
        known = {f.key for f in self.fields}
        unknown = sorted(set(entry) - known)
        count = len(errors)
        if unknown:
            errors.append(f"{path}: unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                          f"(known: {', '.join(f.key for f in self.fields)})")
        for key in self.keys:
            if key not in self.optional_keys and entry.get(key) in (None, ""):
                errors.append(f"{path}.{key}: required")
        result: dict[str, Any] = {}
        for f in self.fields:
            raw = entry[f.key] if f.key in entry else self.default(f)
            try:
                result[f.key] = self._normalize(f, raw)
            except (ValidationError, ValueError, TypeError) as exc:
                message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                errors.append(f"{path}.{f.key}: {message}")
        return result if len(errors) == count else None

    def _normalize(self, f: F, raw: Any) -> Any:
        if f.kind in ("csv", "csv_upper"):
            if raw is None:
                return []
            if isinstance(raw, str):
                return _split(raw, f.kind == "csv_upper")
            if not isinstance(raw, list) or not all(isinstance(item, str | int) for item in raw):
                raise ValueError("a list of values (or one comma-separated string)")
            items = [str(item).strip() for item in raw if str(item).strip()]
            return [item.upper() for item in items] if f.kind == "csv_upper" else items
        if f.kind == "m2m":
            if raw is None:
                return []
            if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
                raise ValueError("a list of names")
            return sorted(raw)
        if f.kind == "ref":
            if raw is None or raw == "":
                return None
            if not isinstance(raw, str | int):
                raise ValueError("a name")
            return str(raw)
        if f.kind == "time":
            parsed = raw if isinstance(raw, time) else parse_time(str(raw)) if isinstance(raw, str) else None
            if parsed is None:
                raise ValueError(f"{raw!r} is not a time of day; write it in quotes, e.g. '09:00'")
            return _time_text(parsed)
        model_field = self.model_field(f)
        if raw is None and isinstance(model_field, models.CharField) and not model_field.null:
            return ""
        if isinstance(model_field, models.JSONField):
            return raw
        if isinstance(model_field, models.BooleanField) and not isinstance(raw, bool):
            raise ValueError("true or false")
        if isinstance(model_field, models.CharField):
            if isinstance(raw, bool) or not isinstance(raw, str | int | float):
                raise ValueError("text")
            raw = str(raw)
        value = model_field.to_python(raw)
        if isinstance(model_field, models.IntegerField) and isinstance(raw, float) and raw != int(raw):
            raise ValueError(f"{raw!r} is not a whole number")
        return value

    def find(self, canonical: dict) -> models.Model | None:
        if self.finder is not None:
            return self.finder(canonical)
        return self.model.objects.filter(**{k: canonical[k] for k in self.keys}).first()

    def key_label(self, canonical: dict) -> str:
        return " / ".join(str(canonical[k]) if canonical[k] not in ("", None) else "any" for k in self.keys)


def _csv(key: str, upper: bool = False) -> F:
    return F(key, kind="csv_upper" if upper else "csv")


TERRITORIES = Spec("territories", "territory", Territory, ("name",), (
    F("name"), _csv("countries", upper=True), _csv("states", upper=True), _csv("postal_prefixes", upper=True),
    F("active"),
))
TEAMS = Spec("teams", "team", Team, ("name",), (
    F("name"), F("description"), F("overflow_team", kind="ref", ref=(Team, "name"), deferred=True),
    F("slack_channel"), F("manager", kind="ref", ref=(User, "username")),
    F("managers", kind="m2m", ref=(User, "username")),
))
REPS = Spec("reps", "rep", Rep, ("username",), (
    F("username", attr="user", kind="ref", ref=(User, "username")), F("team", kind="ref", ref=(Team, "name"),
                                                                     always=True),
    F("role", always=True), F("territories", kind="m2m", ref=(Territory, "name")), F("is_active"),
    F("time_zone"), F("working_hours_start", kind="time"), F("working_hours_end", kind="time"), F("working_days"),
    F("country"), F("capacity"),
    F("daily_cap"), F("weekly_cap"), F("weight"), _csv("skills"), _csv("languages"), F("slack_user_id"),
), finder=lambda c: Rep.objects.filter(user__username=c["username"]).first())
ROUTING_RULES = Spec("routing_rules", "routing rule", RoutingRule, ("name",), (
    F("name"), F("order", always=True), F("active"), F("draft"),
    F("replaces", kind="ref", ref=(RoutingRule, "name"), deferred=True),
    F("territory", kind="ref", ref=(Territory, "name")), _csv("countries", upper=True), F("min_employees"),
    F("max_employees"), _csv("industries"), _csv("seniorities"), F("min_score"), F("max_score"),
    _csv("bands", upper=True), _csv("stages"), _csv("sources"), _csv("languages"),
    F("action", always=True), F("rep", kind="ref", ref=(Rep, "username")), F("team", kind="ref", ref=(Team, "name")),
    F("strategy"), _csv("rep_roles"), F("match_rep_territory"), F("queue"),
))
SLA_POLICIES = Spec("sla_policies", "SLA policy", SlaPolicy, ("band", "stage", "source"), (
    F("band", always=True), F("stage", always=True), F("source"), F("minutes", always=True),
    F("escalate_after_minutes"),
), optional_keys=("band", "stage", "source"))

STAGE_SLAS = Spec("stage_slas", "stage SLA", StageSla, ("stage",), (
    F("stage"), F("days", always=True), F("reroute_at_expiry"), F("active"),
))
TASK_TEMPLATES = Spec("task_templates", "task template", TaskTemplate, ("name",), (
    F("name"), F("active"), F("source"), F("band"), F("stage"), F("title", always=True), F("call_script"),
    F("email_subject"), F("email_body"),
))
DISQUALIFY_REASONS = Spec("disqualify_reasons", "disqualification reason", DisqualifyReason, ("name",), (
    F("name"), F("order", always=True), F("active"),
))

# A nurture program with its steps: the steps are a complete list keyed by position (as a scoring model's rules).
NURTURE_PROGRAMS = Spec("nurture_programs", "nurture program", NurtureProgram, ("name",), (
    F("name"), F("order", always=True), F("active"), _csv("bands", upper=True), _csv("stages"), _csv("sources"),
    _csv("countries", upper=True), _csv("industries"), F("send_from_hour"), F("send_until_hour"),
    F("send_on_weekends"),
))
NURTURE_STEPS = Spec("steps", "nurture step", NurtureStep, ("position",), (
    F("position"), F("delay_days", always=True), F("email_subject", always=True), F("email_body", always=True),
))


def _editable_fields(model: type[models.Model], exclude: set[str]) -> tuple[F, ...]:
    """Every configuration field of a scoring model or rule, so fields the scoring layer adds travel too."""
    result = []
    for model_field in model._meta.concrete_fields:
        if (model_field.name in exclude or not model_field.editable or model_field.primary_key
                or model_field.is_relation or isinstance(model_field, models.BinaryField | models.FileField)
                or getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False)):
            continue
        result.append(F(model_field.name, always=model_field.name in ("name", "version", "status", "segment")))
    return tuple(result)


SCORING_MODELS = Spec("scoring_models", "scoring model", ScoringModel, ("name", "version"),
                      _editable_fields(ScoringModel, {"activated_at", "retired_at"}))
SCORING_RULES = Spec("rules", "scoring rule", ScoringRule, ("reason_code",), _editable_fields(ScoringRule, set()))
SIMPLE_SPECS = (TERRITORIES, TEAMS, REPS, ROUTING_RULES, SLA_POLICIES, STAGE_SLAS, TASK_TEMPLATES, DISQUALIFY_REASONS)

