"""Admin of the routing layer, and the lead page's routing, scoring and task panels.

The lead admin is completed here (the top of the layers that know about leads), so the lead layer's admin never
imports the layers above it.
"""

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from leads.admin import LeadAdmin
from leads.models import Lead
from scoring.models import ScoreChange

from .models import Rep, RoutingDecision, RoutingPointer, RoutingRule, SlaPolicy, Task, Team, Territory


class RoutingDecisionInline(admin.TabularInline):
    model = RoutingDecision
    extra = 0
    fields = ("created_at", "summary", "cause", "rule", "rep", "queue", "undone_at")
    readonly_fields = fields
    can_delete = False
    ordering = ("-created_at",)
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class TaskInline(admin.TabularInline):
    model = Task
    extra = 0
    fields = ("title", "assignee", "due_at", "status", "completed_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ScoreChangeInline(admin.TabularInline):
    model = ScoreChange
    extra = 0
    fields = ("at", "cause", "old_score", "new_score", "delta", "band", "old_stage", "new_stage")
    readonly_fields = fields
    can_delete = False
    ordering = ("-at",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


admin.site.unregister(Lead)


@admin.register(Lead)
class RoutedLeadAdmin(LeadAdmin):
    inlines = LeadAdmin.inlines + [ScoreChangeInline, RoutingDecisionInline, TaskInline]
    readonly_fields = LeadAdmin.readonly_fields + ("routing_display",)
    fieldsets = LeadAdmin.fieldsets[:4] + (
        ("Owner", {"fields": ("owner", "queue", "queue_reason", "assigned_at", "routing_display")}),
    ) + LeadAdmin.fieldsets[5:]
    actions = ["reroute", "rescore"]

    @admin.display(description="Why this owner")
    def routing_display(self, obj: Lead) -> str:
        decision = obj.routing_decisions.order_by("-created_at", "-id").first() if obj.pk else None
        if decision is None:
            return "Not routed yet."
        rules = decision.explanation.get("rules", [])
        candidates = decision.explanation.get("candidates", [])
        return format_html(
            "<p><b>{}</b> ({:%Y-%m-%d %H:%M})</p><p>Rules tried:</p><ol>{}</ol><p>Candidates:</p><ul>{}</ul>",
            decision.summary, decision.created_at,
            format_html_join("", "<li>{}: {}</li>", ((r["name"], r["detail"]) for r in rules)),
            format_html_join("", "<li>{} ({} open): {}</li>",
                             ((c["name"], c.get("open_leads", "?"), c["skipped"] or "available")
                              for c in candidates)) or "—",
        )

    @admin.action(description="Route again (clears owner and queue first)")
    def reroute(self, request, queryset) -> None:
        from .services import leads_reroute

        count = leads_reroute(lead_ids=list(queryset.values_list("pk", flat=True)), user=request.user,
                              reason="re-route from admin")
        self.message_user(request, f"Re-routed {count} leads.", messages.SUCCESS)

    @admin.action(description="Score again")
    def rescore(self, request, queryset) -> None:
        from scoring.services import lead_score

        for pk in queryset.values_list("pk", flat=True):
            lead_score(lead_id=pk, cause="rescore from admin")
        self.message_user(request, f"Re-scored {queryset.count()} leads.", messages.SUCCESS)


@admin.register(Territory)
class TerritoryAdmin(SimpleHistoryAdmin):
    list_display = ("name", "countries", "states", "postal_prefixes", "active")
    search_fields = ("name", "countries")


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):
    list_display = ("name", "description", "overflow_team", "slack_channel", "manager")


@admin.register(Rep)
class RepAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "team", "role", "is_active", "capacity", "daily_cap", "weight", "time_zone",
                    "slack_user_id", "out_of_office_until")
    list_filter = ("team", "role", "is_active")
    list_select_related = ("user", "team")
    filter_horizontal = ("territories",)
    search_fields = ("user__username", "user__first_name", "user__last_name", "user__email")


@admin.register(RoutingRule)
class RoutingRuleAdmin(SimpleHistoryAdmin):
    list_display = ("order", "name", "active", "action", "team", "rep", "strategy", "queue", "territory",
                    "stages", "bands", "min_score")
    list_display_links = ("name",)
    list_editable = ("order", "active")
    list_filter = ("active", "action", "team")
    list_select_related = ("team", "rep__user", "territory")
    fieldsets = (
        (None, {"fields": ("name", "order", "active")}),
        ("Conditions (all must hold; empty ones test nothing)", {"fields": (
            "territory", "countries", "min_employees", "max_employees", "industries", "seniorities", "min_score",
            "max_score", "bands", "stages", "sources")}),
        ("Action", {"fields": ("action", "rep", "team", "strategy", "match_rep_territory", "queue")}),
    )


@admin.register(RoutingDecision)
class RoutingDecisionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "lead", "summary", "rep", "queue", "cause", "undone_at")
    list_filter = ("queue", "strategy", "cause")
    raw_id_fields = ("lead", "rule", "rep", "owner", "previous_owner")
    list_select_related = ("lead", "rep__user")
    show_full_result_count = False
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in RoutingDecision._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(RoutingPointer)
class RoutingPointerAdmin(admin.ModelAdmin):
    list_display = ("pool_key", "last_rep", "turns")


@admin.register(SlaPolicy)
class SlaPolicyAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "band", "stage", "minutes", "escalate_after_minutes")


@admin.register(Task)
class TaskAdmin(SimpleHistoryAdmin):
    list_display = ("title", "assignee", "kind", "due_at", "status", "completed_at", "escalated_at")
    list_filter = ("status", "kind")
    raw_id_fields = ("lead", "assignee", "decision")
    list_select_related = ("assignee", "lead")
    show_full_result_count = False
    search_fields = ("title", "lead__email")
