"""Admin of the scoring layer: model versions (activate, roll back, new version, preview), rules, the score-change
log, triggers, A/B experiments with their report, predictive models, and "score is wrong" feedback with its report.

Actions call services (rescoring a segment now enqueues its job); status fields are read-only so every switch goes
through a service and its history reason.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from revops.base.history_admin import ReadableHistoryAdmin
from revops.base.jobs import enqueue_after_commit
from revops.base.scoping import ScopedAdminMixin

from .choices import ModelStatus, PredictiveStatus, RuleKind
from .jobs import scoring_model_rescore_job
from .models import (
    PredictiveModel,
    ScoreChange,
    ScoreFeedback,
    ScoreTrigger,
    ScoringExperiment,
    ScoringModel,
    ScoringRule,
)
from .selectors import ScoringError, experiment_report, score_feedback_report, scoring_model_preview
from .services import (
    PredictiveError,
    experiment_start,
    experiment_stop,
    predictive_activate,
    predictive_rollback,
    predictive_train,
    score_feedback_create,
    scoring_model_activate,
    scoring_model_new_version,
    scoring_model_rollback,
)


def _error_message(exc: Exception) -> str:
    return "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


class ScoringRuleInline(admin.TabularInline):
    model = ScoringRule
    extra = 0
    fields = ("kind", "dimension", "reason_code", "label", "field", "operator", "value", "event_type",
              "property_key", "property_operator", "property_value", "points", "cap_points", "window_days",
              "frequency_count", "frequency_hours", "intent", "order", "active")

    def _editable(self, obj) -> bool:
        # A retired version is a record of what scored leads then: change a new version instead.
        return obj is None or obj.status != ModelStatus.RETIRED

    def has_change_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


@admin.register(ScoringModel)
class ScoringModelAdmin(ReadableHistoryAdmin):
    list_display = ("name", "segment", "version", "status", "is_default", "mql_threshold", "sql_threshold",
                    "min_fit", "decay_mode", "predictive_weight", "activated_at", "retired_at")
    list_filter = ("status", "segment", "is_default")
    inlines = [ScoringRuleInline]
    actions = ["preview_model", "activate_model", "rollback_segment", "new_version", "rescore_segment"]
    fieldsets = (
        (None, {"fields": ("name", "version", "status", "activated_at", "retired_at")}),
        ("Segment", {"fields": ("segment", "segment_priority", "segment_field", "segment_operator",
                                "segment_value")}),
        ("Thresholds", {"fields": ("band_a_min", "band_b_min", "band_c_min", "mql_threshold", "sql_threshold",
                                   "min_fit", "dimension_caps", "predictive_weight")}),
        ("Decay", {"fields": ("decay_mode", "decay_rate", "decay_step_days", "engagement_floor",
                              "engagement_ceiling")}),
        ("Triggers", {"fields": ("hot_points", "hot_window_hours", "cold_points", "cold_window_days")}),
    )
    readonly_fields = ("version", "status", "activated_at", "retired_at")

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            # A model added in the admin is the segment's next draft version; only activation makes it live.
            latest = ScoringModel.objects.filter(segment=obj.segment).aggregate(v=Max("version"))["v"] or 0
            obj.version, obj.status = latest + 1, ModelStatus.DRAFT
        super().save_model(request, obj, form, change)

    def get_urls(self):
        urls = super().get_urls()
        custom = [path("<path:object_id>/preview/", self.admin_site.admin_view(self.preview_view),
                       name="scoring_scoringmodel_preview")]
        return custom + urls

    def preview_view(self, request: HttpRequest, object_id: str):
        """The preview page: what activating the model would change; POST "activate" activates it."""
        model = get_object_or_404(ScoringModel, pk=object_id)
        if not self.has_change_permission(request, model):
            return HttpResponseRedirect(reverse("admin:index"))
        if request.method == "POST" and "activate" in request.POST:
            try:
                scoring_model_activate(model_id=model.pk, user=request.user)
            except Exception as exc:  # noqa: BLE001 - shown to the user, nothing half-done (one transaction)
                self.message_user(request, f"Not activated: {_error_message(exc)}", messages.ERROR)
            else:
                self.message_user(request, f"{model.name} v{model.version} is active; its segment is being "
                                           f"rescored.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:scoring_scoringmodel_changelist"))
        try:
            last_n = max(1, min(int(request.GET.get("last", 500)), 20_000))
        except ValueError:
            last_n = 500
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": f"Preview of {model}",
                   "preview": scoring_model_preview(model_id=model.pk, last_n=last_n), "last_n": last_n,
                   "can_activate": model.status != ModelStatus.ACTIVE}
        return TemplateResponse(request, "admin/scoring/scoringmodel/preview.html", context)

    @admin.action(description="Preview against recent leads (then activate)", permissions=["view"])
    def preview_model(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one model to preview.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:scoring_scoringmodel_preview", args=[queryset.get().pk]))

    @admin.action(description="Activate (retires the segment's active version, rescores its leads)",
                  permissions=["change"])
    def activate_model(self, request, queryset) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one model to activate.", messages.WARNING)
            return
        model = queryset.get()
        try:
            scoring_model_activate(model_id=model.pk, user=request.user)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.message_user(request, f"Not activated: {_error_message(exc)}", messages.ERROR)
            return
        self.message_user(request, f"{model.name} v{model.version} is active.", messages.SUCCESS)

    @admin.action(description="Roll back the segment to its previous version", permissions=["change"])
    def rollback_segment(self, request, queryset) -> None:
        for segment in sorted(set(queryset.values_list("segment", flat=True))):
            try:
                model = scoring_model_rollback(segment=segment, user=request.user)
            except ScoringError as exc:
                self.message_user(request, str(exc), messages.WARNING)
            else:
                self.message_user(request, f"{segment}: back to v{model.version}.", messages.SUCCESS)

    @admin.action(description="Copy as a new draft version", permissions=["change"])
    def new_version(self, request, queryset) -> None:
        for model in queryset:
            draft = scoring_model_new_version(model_id=model.pk, user=request.user)
            self.message_user(request, f"Created {draft.name} v{draft.version} (draft).", messages.SUCCESS)

    @admin.action(description="Rescore the segment's leads now (set-based, in the background)", permissions=["change"])
    def rescore_segment(self, request, queryset) -> None:
        active = list(queryset.filter(status=ModelStatus.ACTIVE))
        for model in active:
            enqueue_after_commit(scoring_model_rescore_job, model.pk)
        self.message_user(request, f"Scheduled rescoring of {len(active)} segment(s) (active models only).",
                          messages.SUCCESS)


@admin.register(ScoringRule)
class ScoringRuleAdmin(ReadableHistoryAdmin):
    # The condition in one compact column, label first and code second: a rule list reads at 1400 px.
    list_display = ("label", "reason_code", "model", "kind", "points", "condition_summary", "active")
    list_filter = ("model", "kind", "dimension", "active", "intent")
    list_select_related = ("model",)
    search_fields = ("reason_code", "label")

    @admin.display(description="When")
    def condition_summary(self, obj: ScoringRule) -> str:
        if obj.kind == RuleKind.FIT:
            return f"{obj.field} {obj.get_operator_display()} {obj.value}".strip()
        parts = [obj.event_type]
        if obj.property_key:
            parts.append(f"where {obj.property_key} {obj.get_property_operator_display()} {obj.property_value}")
        if obj.frequency_count and obj.frequency_hours:
            parts.append(f"{obj.frequency_count}× within {obj.frequency_hours} h")
        if obj.cap_points is not None:
            parts.append(f"capped at {obj.cap_points}")
        if obj.window_days:
            parts.append(f"last {obj.window_days} days")
        if obj.intent:
            parts.append("high intent")
        return ", ".join(parts)


@admin.register(ScoreChange)
class ScoreChangeAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("lead", "at", "cause", "old_score", "new_score", "delta", "band", "old_stage", "new_stage",
                    "variant")
    list_filter = ("cause", "band", "new_stage", "variant")
    raw_id_fields = ("lead", "model", "experiment")
    list_select_related = ("lead",)
    show_full_result_count = False
    date_hierarchy = "at"

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ScoreTrigger)
class ScoreTriggerAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("lead", "kind", "fired_at", "period_key", "cause", "model")
    list_filter = ("kind",)
    raw_id_fields = ("lead", "model")
    list_select_related = ("lead", "model")
    show_full_result_count = False
    date_hierarchy = "fired_at"
    search_fields = ("=lead__id", "lead__email")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


@admin.register(ScoringExperiment)
class ScoringExperimentAdmin(ReadableHistoryAdmin):
    list_display = ("name", "segment", "split_percent", "variant_b_model", "active", "started_at", "ended_at")
    list_filter = ("active", "segment")
    actions = ["start_experiment", "stop_experiment"]
    raw_id_fields = ("variant_b_model",)
    fieldsets = (
        (None, {"fields": ("name", "segment", "split_percent", "active", "started_at", "ended_at")}),
        ("Variant B", {"fields": ("variant_b_model", "b_mql_threshold", "b_sql_threshold", "b_band_a_min",
                                  "b_band_b_min", "b_band_c_min", "b_min_fit"),
                       "description": "Another model of the segment, or other thresholds (empty: as variant A)."}),
        ("Report", {"fields": ("report",)}),
    )

    def get_readonly_fields(self, request, obj=None):
        frozen = ("segment", "split_percent", "variant_b_model",
                  *(f"b_{name}" for name in ScoringExperiment.THRESHOLD_FIELDS))
        base = ("active", "started_at", "ended_at", "report")
        return base + frozen if obj is not None and obj.started_at else base

    @admin.display(description="Results per variant")
    def report(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "—"
        rows = experiment_report(obj.pk)["variants"]
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{} ({})</td><td>{} ({})</td><td>{} / {}</td>"
                                    "<td>{}</td><td>{}</td></tr>",
                                ((r["label"], r["leads"], r["mql"], _percent(r["mql_rate"]), r["sql"],
                                  _percent(r["sql_rate"]), r["won"], r["lost"], _percent(r["conversion"]),
                                  _percent(r["win_rate"])) for r in rows))
        return format_html("<table><thead><tr><th>Variant</th><th>Leads</th><th>Reached MQL</th>"
                           "<th>Reached SQL</th><th>Won / lost</th><th>Won of leads</th><th>Win rate</th></tr>"
                           "</thead><tbody>{}</tbody></table>", body)

    @admin.action(description="Start (rescores the segment with the variants)", permissions=["change"])
    def start_experiment(self, request, queryset) -> None:
        for experiment in queryset:
            try:
                experiment_start(experiment_id=experiment.pk, user=request.user)
            except Exception as exc:  # noqa: BLE001 - shown to the user
                self.message_user(request, f"{experiment.name}: {_error_message(exc)}", messages.ERROR)
            else:
                self.message_user(request, f"{experiment.name} started.", messages.SUCCESS)

    @admin.action(description="Stop (every lead back to the active model)", permissions=["change"])
    def stop_experiment(self, request, queryset) -> None:
        for experiment in queryset:
            experiment_stop(experiment_id=experiment.pk, user=request.user)
        self.message_user(request, "Stopped.", messages.SUCCESS)


@admin.register(PredictiveModel)
class PredictiveModelAdmin(ReadableHistoryAdmin):
    list_display = ("__str__", "segment", "version", "status", "algorithm", "auc_display", "training_size",
                    "positives", "trained_at", "refusal_reason")
    list_filter = ("status", "segment")
    actions = ["activate_model", "rollback_segment", "retrain_segment"]
    exclude = ("artefact",)
    readonly_fields = ("segment", "version", "algorithm", "status", "training_size", "positives", "trained_at",
                       "feature_version", "refusal_reason", "activated_at", "retired_at", "evaluation", "metrics")

    def has_add_permission(self, request) -> bool:
        return False  # models come from training (action, command or the weekly job)

    @admin.display(description="AUC")
    def auc_display(self, obj) -> str:
        return "—" if obj.auc is None else f"{obj.auc:.3f}"

    @admin.display(description="Evaluation")
    def evaluation(self, obj) -> str:
        metrics = obj.metrics or {}
        lift = metrics.get("lift_by_decile") or []
        if not lift:
            return obj.refusal_reason or "—"
        cells = format_html_join("", "<td>{}</td>", ((f"{v:.2f}",) for v in lift))
        heads = format_html_join("", "<th>{}</th>", ((f"D{i + 1}",) for i in range(len(lift))))
        feedback = metrics.get("feedback") or {}
        return format_html(
            "<p>AUC {} ({}); {} features; Brier {}.</p><p>Lift by decile (D1 = highest scores):</p>"
            "<table><tr>{}</tr><tr>{}</tr></table><p>Feedback read: {}; leads left out for wrong data: {}.</p>",
            f"{metrics.get('auc', 0):.3f}", metrics.get("evaluation", ""), metrics.get("features", "?"),
            f"{metrics.get('brier', 0):.3f}", heads, cells,
            ", ".join(f"{k} {v}" for k, v in feedback.items()) or "none", metrics.get("excluded_wrong_data", 0))

    @admin.action(description="Activate (retires the segment's live model, rescores)", permissions=["change"])
    def activate_model(self, request, queryset) -> None:
        for row in queryset:
            try:
                predictive_activate(model_id=row.pk, user=request.user)
            except Exception as exc:  # noqa: BLE001 - shown to the user
                self.message_user(request, f"{row}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{row} is active.", messages.SUCCESS)

    @admin.action(description="Roll back the segment to its previous predictive model", permissions=["change"])
    def rollback_segment(self, request, queryset) -> None:
        for segment in sorted(set(queryset.values_list("segment", flat=True))):
            try:
                row = predictive_rollback(segment=segment or None, user=request.user)
            except PredictiveError as exc:
                self.message_user(request, str(exc), messages.WARNING)
            else:
                self.message_user(request, f"{segment or 'all segments'}: "
                                           f"{f'back to v{row.version}' if row else 'predictive scoring off'}.",
                                  messages.SUCCESS)

    @admin.action(description="Train a new version for the segment now (activates when good enough)",
                  permissions=["change"])
    def retrain_segment(self, request, queryset) -> None:
        for segment in sorted(set(queryset.values_list("segment", flat=True))):
            row = predictive_train(segment=segment or None, activate=True, user=request.user)
            level = messages.SUCCESS if row.status == PredictiveStatus.ACTIVE else messages.WARNING
            self.message_user(request, f"{row}: {row.refusal_reason or 'trained and active'}", level)


@admin.register(ScoreFeedback)
class ScoreFeedbackAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("lead", "reason", "score", "band", "stage", "user", "created_at", "consumed_by")
    list_filter = ("reason", "band", ("consumed_by", admin.EmptyFieldListFilter))
    raw_id_fields = ("lead",)
    list_select_related = ("lead", "user", "consumed_by")
    fields = ("lead", "reason", "comment", "score", "band", "stage", "predicted_probability", "user", "created_at",
              "consumed_by")
    readonly_fields = ("score", "band", "stage", "predicted_probability", "user", "created_at", "consumed_by")
    date_hierarchy = "created_at"
    change_list_template = "admin/scoring/scorefeedback/change_list.html"

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = score_feedback_create(lead_id=obj.lead_id, user=request.user, reason=obj.reason,
                                        comment=obj.comment)
        obj.pk = created.pk

    def get_urls(self):
        urls = super().get_urls()
        return [path("report/", self.admin_site.admin_view(self.report_view),
                     name="scoring_scorefeedback_report")] + urls

    def report_view(self, request: HttpRequest):
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": "Score feedback report", "report": score_feedback_report()}
        return TemplateResponse(request, "admin/scoring/scorefeedback/report.html", context)
