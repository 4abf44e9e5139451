"""Configuration as code: the routing and scoring configuration as one YAML file, exported and imported back.

The file holds territories, teams, reps' routing attributes (by username), routing rules (by name), SLA policies and
scoring models with their rules (by name and version; rules by reason code). It lives here, at the top of the
layers, because it spans routing and scoring.

Import semantics:

- Objects are matched by natural key; a listed object is fully described by the file: a field left out takes the
  model's default (so deleting a condition from the file clears it). Objects the file does not list are left alone,
  except a scoring model's rules: the file lists all of them, and rules it no longer lists are deleted.
- A section left out of the file is not managed by it: nothing in it changes.
- Everything is validated (types, choices, references, each model's own ``clean()``); errors name their place in the
  file (``routing_rules[3].team: unknown team 'Enterprise'``) and nothing is written when there is any error: the
  import is one transaction.
- It is idempotent: an object whose fields already equal the file's is not saved (no history row, no signal).
- A dry run does the same work in a transaction that is rolled back and returns the diff: created, changed (with
  every field's old and new value), unchanged and deleted objects.
- Out-of-office windows are operational data kept in the admin, not configuration; they are neither exported nor
  touched. Users are not created: a rep's username must exist.
- A scoring model's ``status`` is applied last: retirements first, then activations through the scoring layer's
  ``scoring_model_activate`` (which retires the segment's previous version and schedules the rescore).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import time
from typing import Any

import yaml
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_time

from routing.models import Rep, RoutingRule, SlaPolicy, Team, Territory
from scoring.choices import ModelStatus
from scoring.models import ScoringModel, ScoringRule

FORMAT_VERSION = 1
SECTIONS = ("territories", "teams", "reps", "routing_rules", "sla_policies", "scoring_models")
CHANGE_REASON = "config import"

User = get_user_model()


class ConfigError(Exception):
    """The file cannot be imported; ``errors`` lists every problem with its place in the file."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


# --- YAML ---------------------------------------------------------------------------------------------------------
# YAML 1.1 reads `NO` (Norway) as false and `17:30` as the number 1050. A configuration file is full of country codes
# and working hours, so the loader knows only true/false as booleans and only plain numbers as numbers.


class _Loader(yaml.SafeLoader):
    pass


_BOOL, _INT, _FLOAT = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT, re.compile(r"^[-+]?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+]?[0-9]+)?)$"),
    list("-+0123456789."),
)


class _Dumper(yaml.SafeDumper):
    pass


# The dumper keeps the standard resolvers, so it quotes every string a YAML 1.1 reader would turn into something else
# ('NO', '17:30'): the file reads the same in any YAML tool. Short lists of plain values are written on one line.


def _represent_list(dumper: yaml.SafeDumper, items: list) -> yaml.Node:
    flow = bool(items) and all(isinstance(item, str | int | float) for item in items) and len(str(items)) < 80
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def config_load_yaml(text: str) -> Any:
    """Parse a configuration file (see the module notes on booleans and times)."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise ConfigError([f"not valid YAML: {exc}"]) from exc


def config_dump_yaml(data: dict) -> str:
    header = ("# Leadflow configuration: territories, teams, reps, routing rules, SLA policies, scoring models.\n"
              "# Import with: manage.py import_config FILE [--dry-run]. Fields left out take their defaults.\n")
    return header + yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


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


def _lookup(ref: tuple[type[models.Model], str], value: str):
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
))
REPS = Spec("reps", "rep", Rep, ("username",), (
    F("username", attr="user", kind="ref", ref=(User, "username")), F("team", kind="ref", ref=(Team, "name"),
                                                                     always=True),
    F("role", always=True), F("territories", kind="m2m", ref=(Territory, "name")), F("is_active"),
    F("time_zone"), F("working_hours_start", kind="time"), F("working_hours_end", kind="time"), F("capacity"),
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
SLA_POLICIES = Spec("sla_policies", "SLA policy", SlaPolicy, ("band", "stage"), (
    F("band", always=True), F("stage", always=True), F("minutes", always=True), F("escalate_after_minutes"),
), optional_keys=("band", "stage"))


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
SIMPLE_SPECS = (TERRITORIES, TEAMS, REPS, ROUTING_RULES, SLA_POLICIES)


# --- Export -------------------------------------------------------------------------------------------------------


def config_export() -> dict[str, Any]:
    """The whole routing and scoring configuration as plain data (YAML-ready)."""
    data: dict[str, Any] = {"version": FORMAT_VERSION}
    data["territories"] = [TERRITORIES.export(t) for t in Territory.objects.order_by("name")]
    data["teams"] = [TEAMS.export(t) for t in Team.objects.select_related("overflow_team", "manager").order_by("name")]
    data["reps"] = [REPS.export(r) for r in Rep.objects.select_related("user", "team")
                    .prefetch_related("territories").order_by("user__username")]
    data["routing_rules"] = [ROUTING_RULES.export(r) for r in RoutingRule.objects.select_related(
        "replaces", "territory", "rep__user", "team").order_by("order", "id")]
    data["sla_policies"] = [SLA_POLICIES.export(p) for p in SlaPolicy.objects.order_by("band", "stage")]
    models_data = []
    for model in ScoringModel.objects.prefetch_related("rules").order_by("segment_priority", "segment", "version"):
        entry = SCORING_MODELS.export(model)
        entry["rules"] = [SCORING_RULES.export(rule) for rule in
                          sorted(model.rules.all(), key=lambda r: (r.kind, r.order, r.pk))]
        models_data.append(entry)
    data["scoring_models"] = models_data
    return data


def config_export_yaml() -> str:
    return config_dump_yaml(config_export())


# --- Import -------------------------------------------------------------------------------------------------------


@dataclass
class Change:
    """What the import does to one object: created, changed (field → (old, new)), unchanged or deleted."""

    section: str
    key: str
    action: str
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass
class ImportReport:
    """Every object the file lists (and every scoring rule it deletes), with what the import did or would do."""

    dry_run: bool
    changes: list[Change] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        return Counter(change.action for change in self.changes)

    def as_text(self) -> str:
        lines: list[str] = []
        section = None
        marks = {"created": "+", "changed": "~", "unchanged": "=", "deleted": "-"}
        for change in self.changes:
            if change.section != section:
                section = change.section
                lines.append(f"{section}:")
            lines.append(f"  {marks[change.action]} {change.key} ({change.action})")
            for name, (old, new) in change.fields.items():
                lines.append(f"      {name}: {_show(old)} → {_show(new)}" if change.action == "changed"
                             else f"      {name}: {_show(new)}")
        counts = self.counts()
        summary = ", ".join(f"{counts.get(action, 0)} {action}" for action in marks)
        lines.append(summary + (" (dry run: nothing was written)" if self.dry_run else ""))
        return "\n".join(lines)


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return "(none)" if value is None or value == "" else str(value)


class _Import:
    """One import run: collects errors and changes while it applies the file inside the caller's transaction."""

    def __init__(self, user) -> None:
        self.user = user
        self.errors: list[str] = []
        self.report_changes: list[Change] = []

    # -- generic sections --

    def section(self, spec: Spec, entries: Any) -> None:
        if entries is None:
            return
        if not isinstance(entries, list):
            self.errors.append(f"{spec.section}: a list of {spec.label} entries")
            return
        seen: dict[tuple, int] = {}
        pending = []
        for index, entry in enumerate(entries):
            path = f"{spec.section}[{index}]"
            if not isinstance(entry, dict):
                self.errors.append(f"{path}: a mapping of fields")
                continue
            canonical = spec.from_entry(entry, path, self.errors)
            if canonical is None:
                continue
            key = tuple(canonical[k] for k in spec.keys)
            if key in seen:
                self.errors.append(f"{path}: {spec.label} {spec.key_label(canonical)} is already listed at "
                                   f"{spec.section}[{seen[key]}]")
                continue
            seen[key] = index
            pending.append((path, canonical, self.object(spec, path, canonical)))
        # Second pass: references to objects of the same section (overflow teams, replaced rules).
        for path, canonical, obj in pending:
            if obj is not None and any(f.deferred for f in spec.fields):
                self.apply_deferred(spec, path, canonical, obj)

    def object(self, spec: Spec, path: str, canonical: dict) -> models.Model | None:
        obj = spec.find(canonical)
        before = spec.from_object(obj) if obj is not None else None
        label = spec.key_label(canonical)
        if before is not None:
            changed = {f.key: (before[f.key], canonical[f.key]) for f in spec.fields
                       if before[f.key] != canonical[f.key]}
            if not changed:
                self.report_changes.append(Change(spec.section, label, "unchanged"))
                return obj
            self.report_changes.append(Change(spec.section, label, "changed", changed))
            deferred = {f.key for f in spec.fields if f.deferred}
            if set(changed) <= deferred:
                return obj  # only a same-section reference changed: the second pass saves it
        else:
            self.report_changes.append(Change(spec.section, label, "created", {
                f.key: (None, canonical[f.key]) for f in spec.fields
                if canonical[f.key] != spec.default(f) and f.key not in spec.keys}))
            obj = spec.model()
        if not self.assign(spec, path, canonical, obj, deferred=False):
            return None
        return obj if self.save(spec, path, canonical, obj) else None

    def assign(self, spec: Spec, path: str, canonical: dict, obj: models.Model, *, deferred: bool) -> bool:
        ok = True
        for f in spec.fields:
            if f.kind == "m2m" or f.deferred != deferred:
                continue
            value = canonical[f.key]
            if f.kind == "ref":
                target = _lookup(f.ref, value) if value is not None else None
                if value is not None and target is None:
                    self.errors.append(f"{path}.{f.key}: unknown {_ref_label(f)} {value!r}")
                    ok = False
                    continue
                setattr(obj, f.name, target)
            elif f.kind in ("csv", "csv_upper"):
                setattr(obj, f.name, ", ".join(value))
            elif f.kind == "time":
                setattr(obj, f.name, parse_time(value))
            else:
                setattr(obj, f.name, value)
        return ok

    def save(self, spec: Spec, path: str, canonical: dict, obj: models.Model,
             exclude_clean: Iterable[str] = ()) -> bool:
        obj._history_user = self.user
        obj._change_reason = CHANGE_REASON
        try:
            obj.full_clean(exclude=list(exclude_clean))
        except ValidationError as exc:
            self.validation_errors(spec, path, exc)
            return False
        try:
            with transaction.atomic():
                obj.save()
                for f in spec.fields:
                    if f.kind == "m2m":
                        targets = []
                        for name in canonical[f.key]:
                            target = _lookup(f.ref, name)
                            if target is None:
                                self.errors.append(f"{path}.{f.key}: unknown {_ref_label(f)} {name!r}")
                            else:
                                targets.append(target)
                        getattr(obj, f.name).set(targets)
        except IntegrityError as exc:
            self.errors.append(f"{path}: {exc}")
            return False
        return True

    def apply_deferred(self, spec: Spec, path: str, canonical: dict, obj: models.Model) -> None:
        before = {f.name: getattr(obj, f"{f.name}_id") for f in spec.fields if f.deferred}
        if not self.assign(spec, path, canonical, obj, deferred=True):
            return
        if any(getattr(obj, f"{name}_id") != value for name, value in before.items()):
            self.save(spec, path, canonical, obj)

    def validation_errors(self, spec: Spec, path: str, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            keys = {f.name: f.key for f in spec.fields}
            for name, problems in exc.message_dict.items():
                where = f"{path}.{keys.get(name, name)}" if name != "__all__" else path
                self.errors.extend(f"{where}: {problem}" for problem in problems)
        else:
            self.errors.extend(f"{path}: {problem}" for problem in exc.messages)

    # -- reps: the user must exist --

    def reps(self, entries: Any) -> None:
        if isinstance(entries, list):
            for index, entry in enumerate(entries):
                if isinstance(entry, dict) and entry.get("username") and not User.objects.filter(
                        username=entry["username"]).exists():
                    self.errors.append(f"reps[{index}].username: no user {entry['username']!r} (users are not "
                                       "created by a configuration import)")
        self.section(REPS, entries)

    # -- scoring models and their rules --

    def scoring_models(self, entries: Any) -> None:
        if entries is None:
            return
        if not isinstance(entries, list):
            self.errors.append("scoring_models: a list of scoring model entries")
            return
        statuses: list[tuple[str, ScoringModel, str]] = []
        seen: set[tuple] = set()
        for index, entry in enumerate(entries):
            path = f"scoring_models[{index}]"
            if not isinstance(entry, dict):
                self.errors.append(f"{path}: a mapping of fields")
                continue
            rules = entry.get("rules", [])
            canonical = SCORING_MODELS.from_entry({k: v for k, v in entry.items() if k != "rules"}, path,
                                                  self.errors)
            if canonical is None:
                continue
            key = (canonical["name"], canonical["version"])
            if key in seen:
                self.errors.append(f"{path}: scoring model {canonical['name']} v{canonical['version']} is listed "
                                   "twice")
                continue
            seen.add(key)
            if canonical["status"] not in ModelStatus.values:
                self.errors.append(f"{path}.status: one of {', '.join(ModelStatus.values)}")
                continue
            model = self.scoring_model(path, canonical)
            if model is None:
                continue
            self.scoring_rules(path, model, rules)
            statuses.append((path, model, canonical["status"]))
        self.scoring_statuses(statuses)

    def scoring_model(self, path: str, canonical: dict) -> ScoringModel | None:
        model = SCORING_MODELS.find(canonical)
        label = f"{canonical['name']} v{canonical['version']}"
        wanted_status = canonical["status"]
        if model is not None:
            before = SCORING_MODELS.from_object(model)
            changed = {k: (before[k], v) for k, v in canonical.items() if before[k] != v and k != "status"}
            if before["status"] != wanted_status:
                changed["status"] = (before["status"], wanted_status)
            self.report_changes.append(Change("scoring_models", label, "changed" if changed else "unchanged",
                                              changed))
            fields_changed = {k for k in changed if k != "status"}
            if not fields_changed:
                return model
        else:
            self.report_changes.append(Change("scoring_models", label, "created", {
                k: (None, v) for k, v in canonical.items()
                if k not in ("name", "version") and v != SCORING_MODELS.default(
                    next(f for f in SCORING_MODELS.fields if f.key == k))}))
            model = ScoringModel()
        current_status = model.status if model.pk else ModelStatus.DRAFT
        self.assign(SCORING_MODELS, path, canonical, model, deferred=False)
        model.status = current_status  # statuses change last, through the scoring layer
        return model if self.save(SCORING_MODELS, path, canonical, model) else None

    def scoring_rules(self, model_path: str, model: ScoringModel, entries: Any) -> None:
        if not isinstance(entries, list):
            self.errors.append(f"{model_path}.rules: a list of rules")
            return
        existing: dict[str, list[ScoringRule]] = {}
        for rule in model.rules.order_by("pk"):
            existing.setdefault(rule.reason_code, []).append(rule)
        seen: set[str] = set()
        label = f"{model.name} v{model.version}"
        for index, entry in enumerate(entries):
            path = f"{model_path}.rules[{index}]"
            if not isinstance(entry, dict):
                self.errors.append(f"{path}: a mapping of fields")
                continue
            canonical = SCORING_RULES.from_entry(entry, path, self.errors)
            if canonical is None:
                continue
            code = canonical["reason_code"]
            if code in seen:
                self.errors.append(f"{path}.reason_code: {code!r} is already used by another rule of this model")
                continue
            seen.add(code)
            rule = existing.get(code, [None]).pop(0) if existing.get(code) else None
            key = f"{label} / rule {code}"
            if rule is not None:
                before = SCORING_RULES.from_object(rule)
                changed = {k: (before[k], v) for k, v in canonical.items() if before[k] != v}
                self.report_changes.append(Change("scoring_models", key, "changed" if changed else "unchanged",
                                                  changed))
                if not changed:
                    continue
            else:
                self.report_changes.append(Change("scoring_models", key, "created", {
                    k: (None, v) for k, v in canonical.items() if k != "reason_code"
                    and v != SCORING_RULES.default(next(f for f in SCORING_RULES.fields if f.key == k))}))
                rule = ScoringRule(model=model)
            self.assign(SCORING_RULES, path, canonical, rule, deferred=False)
            self.save(SCORING_RULES, path, canonical, rule)
        for code, leftovers in existing.items():
            for rule in leftovers:
                self.report_changes.append(Change("scoring_models", f"{label} / rule {code}", "deleted"))
                rule._history_user = self.user
                rule._change_reason = CHANGE_REASON
                rule.delete()

    def scoring_statuses(self, statuses: list[tuple[str, ScoringModel, str]]) -> None:
        """Retire or draft first, then activate (through the scoring layer when it offers the service)."""
        now = timezone.now()
        for path, model, wanted in statuses:
            if wanted != ModelStatus.ACTIVE and model.status != wanted:
                model.status = wanted
                if wanted == ModelStatus.RETIRED:
                    model.retired_at = now
                self.save(SCORING_MODELS, path, {}, model)
        for path, model, wanted in statuses:
            if wanted == ModelStatus.ACTIVE and model.status != ModelStatus.ACTIVE:
                try:
                    self.activate(model)
                except ValidationError as exc:
                    self.validation_errors(SCORING_MODELS, path, exc)
                except Exception as exc:  # noqa: BLE001 - reported with its place in the file; nothing is written
                    self.errors.append(f"{path}.status: cannot activate: {exc}")

    def activate(self, model: ScoringModel) -> None:
        try:
            from scoring.services import scoring_model_activate
        except ImportError:
            scoring_model_activate = None
        if scoring_model_activate is not None:
            with transaction.atomic():
                scoring_model_activate(model_id=model.pk, user=self.user, reason=CHANGE_REASON)
            return
        with transaction.atomic():
            for current in ScoringModel.objects.select_for_update().filter(segment=model.segment,
                                                                            status=ModelStatus.ACTIVE):
                current.status, current.retired_at = ModelStatus.RETIRED, timezone.now()
                current._history_user, current._change_reason = self.user, f"{CHANGE_REASON}: replaced"
                current.save()
            model.status, model.activated_at = ModelStatus.ACTIVE, timezone.now()
            model._history_user, model._change_reason = self.user, CHANGE_REASON
            model.full_clean()
            model.save()


def _ref_label(f: F) -> str:
    model = f.ref[0]
    return "user" if model is User else model._meta.verbose_name


def config_import(data: Any, *, dry_run: bool = False, user=None) -> ImportReport:
    """Import a configuration (parsed YAML, or its text): validate everything, apply it in one transaction.

    Steps: check the top level; territories → teams → reps → routing rules → SLA policies → scoring models (with
    their rules, then their statuses), each object matched by natural key, validated, saved only when it differs;
    any error anywhere → ``ConfigError`` with every problem, and nothing written; a dry run is rolled back and
    returns the same report.
    """
    if isinstance(data, str):
        data = config_load_yaml(data)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(["the file must be a mapping with the sections " + ", ".join(SECTIONS)])
    errors = []
    unknown = sorted(set(data) - set(SECTIONS) - {"version"})
    if unknown:
        errors.append(f"unknown section{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                      f"(known: {', '.join(SECTIONS)})")
    if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
        errors.append(f"version: this Leadflow reads version {FORMAT_VERSION} files, not {data.get('version')!r}")
    if errors:
        raise ConfigError(errors)
    run = _Import(user)
    with transaction.atomic():
        run.section(TERRITORIES, data.get("territories"))
        run.section(TEAMS, data.get("teams"))
        run.reps(data.get("reps"))
        run.section(ROUTING_RULES, data.get("routing_rules"))
        run.section(SLA_POLICIES, data.get("sla_policies"))
        run.scoring_models(data.get("scoring_models"))
        if run.errors:
            raise ConfigError(run.errors)
        if dry_run:
            transaction.set_rollback(True)
    return ImportReport(dry_run=dry_run, changes=run.report_changes)
