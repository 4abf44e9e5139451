"""Export: the whole routing and scoring configuration (with the rep workspace's task templates, stage SLAs and
disqualification reasons, and the nurture programs with their steps) as plain data and as YAML."""

from typing import Any

from routing.models import (
    DisqualifyReason,
    NurtureProgram,
    Rep,
    RoutingRule,
    SlaPolicy,
    StageSla,
    TaskTemplate,
    Team,
    Territory,
)
from scoring.models import ScoringModel

from .specs import (
    DISQUALIFY_REASONS,
    FORMAT_VERSION,
    NURTURE_PROGRAMS,
    NURTURE_STEPS,
    REPS,
    ROUTING_RULES,
    SCORING_MODELS,
    SCORING_RULES,
    SLA_POLICIES,
    STAGE_SLAS,
    TASK_TEMPLATES,
    TEAMS,
    TERRITORIES,
)
from .yaml_io import config_dump_yaml

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
    data["sla_policies"] = [SLA_POLICIES.export(p) for p in SlaPolicy.objects.order_by("band", "stage", "source")]
    data["stage_slas"] = [STAGE_SLAS.export(s) for s in StageSla.objects.order_by("stage")]
    data["task_templates"] = [TASK_TEMPLATES.export(t) for t in TaskTemplate.objects.order_by("name")]
    data["disqualify_reasons"] = [DISQUALIFY_REASONS.export(r) for r in DisqualifyReason.objects.order_by("order",
                                                                                                        "name")]
    programs = []
    for program in NurtureProgram.objects.prefetch_related("steps").order_by("order", "name"):
        entry = NURTURE_PROGRAMS.export(program)
        entry["steps"] = [NURTURE_STEPS.export(step) for step in sorted(program.steps.all(), key=lambda s: s.position)]
        programs.append(entry)
    data["nurture_programs"] = programs
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

