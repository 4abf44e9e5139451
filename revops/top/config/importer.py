"""Import: validate a configuration file and apply it in one transaction (semantics in ``revops.top.config``)."""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_time

from scoring.choices import ModelStatus
from scoring.models import ScoringModel, ScoringRule
from scoring.services import scoring_model_activate

from .specs import (
    CHANGE_REASON,
    DISQUALIFY_REASONS,
    FORMAT_VERSION,
    NURTURE_PROGRAMS,
    NURTURE_STEPS,
    REPS,
    ROUTING_RULES,
    SCORING_MODELS,
    SCORING_RULES,
    SECTIONS,
    SLA_POLICIES,
    STAGE_SLAS,
    TASK_TEMPLATES,
    TEAMS,
    TERRITORIES,
    ConfigError,
    F,
    Spec,
    User,
    reference_lookup,
)
from .yaml_io import config_load_yaml

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
                target = reference_lookup(f.ref, value) if value is not None else None
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
                            target = reference_lookup(f.ref, name)
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

    # -- nurture programs and their steps --

    def nurture_programs(self, entries: Any) -> None:
        """Each program by name, then its ``steps``: a complete list keyed by position (steps the file no longer
        lists are deleted; a program needs at least one)."""
        if entries is None:
            return
        if not isinstance(entries, list):
            self.errors.append("nurture_programs: a list of nurture program entries")
            return
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            path = f"nurture_programs[{index}]"
            if not isinstance(entry, dict):
                self.errors.append(f"{path}: a mapping of fields")
                continue
            steps = entry.get("steps")
            if not isinstance(steps, list) or not steps:
                self.errors.append(f"{path}.steps: a list of at least one step (position, delay_days, "
                                   "email_subject, email_body)")
                continue
            canonical = NURTURE_PROGRAMS.from_entry({k: v for k, v in entry.items() if k != "steps"}, path,
                                                    self.errors)
            if canonical is None:
                continue
            if canonical["name"] in seen:
                self.errors.append(f"{path}: nurture program {canonical['name']} is listed twice")
                continue
            seen.add(canonical["name"])
            program = self.object(NURTURE_PROGRAMS, path, canonical)
            self.nurture_steps(path, program, steps)

    def nurture_steps(self, program_path: str, program: models.Model | None, entries: list) -> None:
        """The program's steps; when the program itself was refused, its steps are still checked (every problem
        of the file is reported at once)."""
        existing = {step.position: step for step in program.steps.all()} if program is not None else {}
        seen: set[int] = set()
        for index, entry in enumerate(entries):
            path = f"{program_path}.steps[{index}]"
            if not isinstance(entry, dict):
                self.errors.append(f"{path}: a mapping of fields")
                continue
            canonical = NURTURE_STEPS.from_entry(entry, path, self.errors)
            if canonical is None:
                continue
            position = canonical["position"]
            if position in seen:
                self.errors.append(f"{path}.position: {position} is already used by another step of this program")
                continue
            seen.add(position)
            if program is None:
                step = NURTURE_STEPS.model()
                self.assign(NURTURE_STEPS, path, canonical, step, deferred=False)
                try:
                    step.full_clean(exclude=["program"], validate_unique=False)
                except ValidationError as exc:
                    self.validation_errors(NURTURE_STEPS, path, exc)
                continue
            self.child_apply("nurture_programs", NURTURE_STEPS, path, f"{program.name} / step {position}",
                             canonical, existing.pop(position, None), lambda: NURTURE_STEPS.model(program=program),
                             created={k: (None, v) for k, v in canonical.items() if k != "position"})
        for position, step in sorted(existing.items()):
            self.child_delete("nurture_programs", f"{program.name} / step {position}", step)

    def child_apply(self, section: str, spec: Spec, path: str, key: str, canonical: dict,
                    stored: models.Model | None, make: Callable[[], models.Model], *, created: dict) -> None:
        """One row of a nested list (a scoring model's rule, a program's step): compared with its stored row and
        reported (``created`` lists what a new row reports), then saved when new or changed."""
        if stored is not None:
            before = spec.from_object(stored)
            changed = {k: (before[k], v) for k, v in canonical.items() if before[k] != v}
            self.report_changes.append(Change(section, key, "changed" if changed else "unchanged", changed))
            if not changed:
                return
            child = stored
        else:
            self.report_changes.append(Change(section, key, "created", created))
            child = make()
        self.assign(spec, path, canonical, child, deferred=False)
        self.save(spec, path, canonical, child)

    def child_delete(self, section: str, key: str, child: models.Model) -> None:
        """A stored row of a nested list the file no longer holds: deleted, in its history as the import's."""
        self.report_changes.append(Change(section, key, "deleted"))
        child._history_user = self.user
        child._change_reason = CHANGE_REASON
        child.delete()

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
            self.child_apply("scoring_models", SCORING_RULES, path, f"{label} / rule {code}", canonical, rule,
                             lambda: ScoringRule(model=model), created={
                                 k: (None, v) for k, v in canonical.items() if k != "reason_code"
                                 and v != SCORING_RULES.default(next(f for f in SCORING_RULES.fields if f.key == k))})
        for code, leftovers in existing.items():
            for rule in leftovers:
                self.child_delete("scoring_models", f"{label} / rule {code}", rule)

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
        """Through the scoring layer's service: it retires the segment's previous version and schedules the rescore."""
        with transaction.atomic():
            scoring_model_activate(model_id=model.pk, user=self.user, reason=CHANGE_REASON)


def _ref_label(f: F) -> str:
    model = f.ref[0]
    return "user" if model is User else model._meta.verbose_name


def config_import(data: Any, *, dry_run: bool = False, user=None) -> ImportReport:
    """Import a configuration (parsed YAML, or its text): validate everything, apply it in one transaction.

    Steps: check the top level; territories → teams → reps → routing rules → SLA policies → stage SLAs → task
    templates → disqualification reasons → nurture programs (with their steps) → scoring models (with
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
        run.section(STAGE_SLAS, data.get("stage_slas"))
        run.section(TASK_TEMPLATES, data.get("task_templates"))
        run.section(DISQUALIFY_REASONS, data.get("disqualify_reasons"))
        run.nurture_programs(data.get("nurture_programs"))
        run.scoring_models(data.get("scoring_models"))
        if run.errors:
            raise ConfigError(run.errors)
        if dry_run:
            transaction.set_rollback(True)
    return ImportReport(dry_run=dry_run, changes=run.report_changes)
