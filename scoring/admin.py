"""Admin of the scoring layer: models with their rules inline, and the score-change log."""

from django.contrib import admin, messages
from simple_history.admin import SimpleHistoryAdmin

from .models import ScoreChange, ScoringModel, ScoringRule


class ScoringRuleInline(admin.TabularInline):
    model = ScoringRule
    extra = 0
    fields = ("kind", "dimension", "reason_code", "label", "field", "operator", "value", "event_type",
              "property_key", "property_operator", "property_value", "points", "cap_points", "window_days",
              "frequency_count", "frequency_hours", "order", "active")


@admin.register(ScoringModel)
class ScoringModelAdmin(SimpleHistoryAdmin):
    list_display = ("name", "segment", "version", "status", "mql_threshold", "sql_threshold", "min_fit",
                    "decay_mode", "activated_at")
    list_filter = ("status", "segment")
    inlines = [ScoringRuleInline]
    actions = ["rescore_matching_leads"]
    fieldsets = (
        (None, {"fields": ("name", "version", "status", "activated_at", "retired_at")}),
        ("Segment", {"fields": ("segment", "segment_priority", "segment_field", "segment_operator",
                                "segment_value")}),
        ("Thresholds", {"fields": ("band_a_min", "band_b_min", "band_c_min", "mql_threshold", "sql_threshold",
                                   "min_fit", "dimension_caps")}),
        ("Decay", {"fields": ("decay_mode", "decay_rate", "decay_step_days", "engagement_floor",
                              "engagement_ceiling")}),
        ("Triggers", {"fields": ("hot_points", "hot_window_hours", "cold_points", "cold_window_days")}),
    )
    readonly_fields = ("activated_at", "retired_at")

    @admin.action(description="Re-score every live lead now")
    def rescore_matching_leads(self, request, queryset) -> None:
        from .services import leads_rescore_schedule

        count = leads_rescore_schedule(cause="rescore from admin")
        self.message_user(request, f"Scheduled re-scoring of {count} leads.", messages.SUCCESS)


@admin.register(ScoringRule)
class ScoringRuleAdmin(SimpleHistoryAdmin):
    list_display = ("reason_code", "model", "kind", "dimension", "points", "field", "operator", "value",
                    "event_type", "active")
    list_filter = ("model", "kind", "dimension", "active")
    search_fields = ("reason_code", "label")


@admin.register(ScoreChange)
class ScoreChangeAdmin(admin.ModelAdmin):
    list_display = ("lead", "at", "cause", "old_score", "new_score", "delta", "band", "old_stage", "new_stage")
    list_filter = ("cause", "band", "new_stage")
    raw_id_fields = ("lead", "model")
    list_select_related = ("lead",)
    show_full_result_count = False
    date_hierarchy = "at"

    def has_change_permission(self, request, obj=None) -> bool:
        return False
