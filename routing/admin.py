"""Admin of the routing layer, and the lead page's routing, scoring and task panels.

The lead admin is completed here (the top of the layers that know about leads), so the lead layer's admin never
imports the layers above it.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from leads.admin import LeadAdmin
from leads.models import Lead
from revops.base.history_admin import ReadableHistoryAdmin
from revops.base.roles import is_revops_admin
from revops.base.scoping import ScopedAdminMixin
from scoring.models import ScoreChange
from scoring.services import lead_score

from .forms import RepAdminForm
from .models import (
    DisqualifyReason,
    Rep,
    RoutingDecision,
    RoutingPointer,
    RoutingRule,
    SlaPolicy,
    StageSla,
    Task,
    TaskTemplate,
    Team,
    Territory,
)
from .nurture_admin import NurtureEnrollmentInline  # also registers the nurture programs' and enrollments' admins
from .scoping import reps_visible_to
from .services import (
    PREVIEW_MAX_LEADS,
    leads_reassign,
    leads_reroute,
    routing_decisions_undo,
    routing_preview,
    routing_rebalance,
    routing_rules_activate,
    territory_leads_reroute_request,
)
from .vocabulary import routing_rule_action_text, routing_rule_conditions_text


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
    fk_name = "lead"
    extra = 0
    fields = ("title", "assignee", "due_at", "status", "disposition", "completed_at", "outcome_note")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


SCORE_CHANGES_SHOWN = 20

admin.site.unregister(Lead)


@admin.register(Lead)
class RoutedLeadAdmin(LeadAdmin):
    inlines = LeadAdmin.inlines + [RoutingDecisionInline, TaskInline, NurtureEnrollmentInline]
    readonly_fields = LeadAdmin.readonly_fields + ("routing_display", "score_changes_display")
    fieldsets = LeadAdmin.fieldsets[:3] + (
        ("Score", {"fields": (*LeadAdmin.fieldsets[3][1]["fields"], "score_changes_display")}),
        ("Owner", {"fields": ("owner", "queue", "queue_reason", "assigned_at", "routing_display")}),
    ) + LeadAdmin.fieldsets[5:]

    @admin.display(description="Score changes")
    def score_changes_display(self, obj: Lead) -> str:
        """The latest score changes (a lead with daily decay gathers hundreds), a link to all of them and the
        "score is wrong" form for this lead."""
        if not obj.pk:
            return "—"
        latest = list(ScoreChange.objects.filter(lead=obj).order_by("-at", "-id")[:SCORE_CHANGES_SHOWN + 1])
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{} → {} ({})</td><td>{}</td><td>{}</td></tr>",
            ((f"{timezone.localtime(c.at):%Y-%m-%d %H:%M}", c.cause, "—" if c.old_score is None else c.old_score,
              c.new_score, f"{c.delta:+d}", c.band or "—",
              f"{c.old_stage} → {c.new_stage}" if c.old_stage != c.new_stage else c.new_stage)
             for c in latest[:SCORE_CHANGES_SHOWN]),
        )
        every = reverse("admin:scoring_scorechange_changelist") + f"?lead__id__exact={obj.pk}"
        wrong = reverse("admin:scoring_scorefeedback_add") + f"?lead={obj.pk}"
        more = (format_html(' <a href="{}">All score changes of this lead</a>.', every)
                if len(latest) > SCORE_CHANGES_SHOWN else "")
        return format_html(
            "<table><tr><th>When</th><th>Cause</th><th>Score</th><th>Band</th><th>Stage</th></tr>{}</table>"
            "<p>{}{} <a href=\"{}\">This score is wrong…</a></p>",
            rows, f"The latest {min(len(latest), SCORE_CHANGES_SHOWN)}." if latest else "No score change yet.", more,
            wrong,
        )
    actions = [*LeadAdmin.actions, "reroute", "reassign", "rescore"]

    @admin.display(description="Why this owner")
    def routing_display(self, obj: Lead) -> str:
        decision = obj.routing_decisions.order_by("-created_at", "-id").first() if obj.pk else None
        if decision is None:
            return "Not routed yet."
        rules = decision.explanation.get("rules", [])
        candidates = decision.explanation.get("candidates", [])
        more = decision.explanation.get("more_rules")
        more_text = ""
        if more:
            by_condition = ", ".join(f"{n} on {c}" for c, n in sorted(more["by_condition"].items()))
            more_text = f"… and {more['not_matching']} more rules did not match ({by_condition})."
        return format_html(
            "<p><b>{}</b> ({}, cause: {})</p><p>Rules tried:</p><ol>{}</ol><p>{}</p>"
            "<p>Candidates:</p><ul>{}</ul>",
            decision.summary, f"{timezone.localtime(decision.created_at):%Y-%m-%d %H:%M}", decision.cause,
            format_html_join("", "<li>{}: {}</li>", ((r["name"], r["detail"]) for r in rules)), more_text,
            format_html_join("", "<li>{} ({} open): {}</li>",
                             ((c["name"], c.get("open_leads", "?"), c["skipped"] or "available")
                              for c in candidates)) or "—",
        )

    @admin.action(description="Route again (clears owner and queue first)", permissions=["change"])
    def reroute(self, request, queryset) -> None:
        count = leads_reroute(lead_ids=list(queryset.values_list("pk", flat=True)), user=request.user,
                              reason="re-route from admin")
        self.message_user(request, f"Re-routed {count} leads.", messages.SUCCESS)

    @admin.action(description="Reassign to a rep… (with a reason)", permissions=["change"])
    def reassign(self, request, queryset):
        """Two steps: choose the rep and give a reason, then ``leads_reassign`` writes one decision per lead."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = ReassignForm(request.POST if "apply" in request.POST else None)
        form.fields["rep"].queryset = reps_visible_to(request.user, form.fields["rep"].queryset)  # a manager: theirs
        if "apply" in request.POST and form.is_valid():
            try:
                result = leads_reassign(lead_ids=list(queryset.values_list("pk", flat=True)),
                                        rep_id=form.cleaned_data["rep"].pk, reason=form.cleaned_data["reason"],
                                        user=request.user)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
                return None
            self.message_user(request, f"Reassigned {result.reassigned} leads to {form.cleaned_data['rep']} "
                                       "(undoable from Routing decisions).", messages.SUCCESS)
            for note in result.skipped + result.warnings:
                self.message_user(request, note, messages.WARNING)
            return None
        context = {**self.admin_site.each_context(request), "title": "Reassign leads", "form": form,
                   "leads": queryset[:50], "count": queryset.count(), "opts": self.model._meta,
                   "action": "reassign", "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
                   "select_across": request.POST.get("select_across", "0")}
        return TemplateResponse(request, "admin/routing/reassign.html", context)

    @admin.action(description="Score again", permissions=["change"])
    def rescore(self, request, queryset) -> None:
        for pk in queryset.values_list("pk", flat=True):
            lead_score(lead_id=pk, cause="rescore from admin")
        self.message_user(request, f"Re-scored {queryset.count()} leads.", messages.SUCCESS)


class ReassignForm(forms.Form):
    rep = forms.ModelChoiceField(queryset=Rep.objects.filter(is_active=True).select_related("user", "team"),
                                 help_text="Active reps only.")
    reason = forms.CharField(max_length=300, help_text="Kept in each lead's history and routing decision.")


@admin.register(Territory)
class TerritoryAdmin(ReadableHistoryAdmin):
    list_display = ("name", "countries", "states", "postal_prefixes", "active")
    search_fields = ("name", "countries")
    actions = ["reroute_leads"]

    @admin.action(description="Re-route open leads in this territory", permissions=["change"])
    def reroute_leads(self, request, queryset) -> None:
        for territory in queryset:
            territory_leads_reroute_request(territory_id=territory.pk)
        self.message_user(request, f"Re-routing scheduled for {queryset.count()} territories: leads whose owner "
                                   "still fits keep them; the others move (see Routing decisions, cause "
                                   "'territory change').", messages.SUCCESS)


@admin.register(Team)
class TeamAdmin(ReadableHistoryAdmin):
    list_display = ("name", "description", "overflow_team", "slack_channel", "teams_webhook_set", "manager")
    filter_horizontal = ("managers",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ["rebalance"]

    @admin.display(description="Teams webhook", boolean=True)
    def teams_webhook_set(self, obj: Team) -> bool:
        return bool(obj.teams_webhook_url)

    @admin.action(description="Rebalance workload (move open leads from overloaded reps)", permissions=["change"])
    def rebalance(self, request, queryset) -> None:
        for team in queryset:
            result = routing_rebalance(team_id=team.pk, user=request.user)
            self.message_user(request, str(result), messages.SUCCESS if result.moves else messages.INFO)


@admin.register(Rep)
class RepAdmin(ScopedAdminMixin, ReadableHistoryAdmin):
    form = RepAdminForm
    list_display = ("__str__", "team", "role", "is_active", "capacity", "daily_cap", "weight", "time_zone",
                    "country", "slack_user_id", "notify_via", "out_of_office_until")
    list_filter = ("team", "role", "is_active")
    list_select_related = ("user", "team")
    filter_horizontal = ("territories",)
    search_fields = ("user__username", "user__first_name", "user__last_name", "user__email")

    def get_readonly_fields(self, request, obj=None):
        # A manager edits their reps (hours, capacity, territories; a team among their own) but not whose login a
        # rep profile is.
        readonly = super().get_readonly_fields(request, obj)
        return readonly if is_revops_admin(request.user) or obj is None else (*readonly, "user")


@admin.register(RoutingRule)
class RoutingRuleAdmin(ReadableHistoryAdmin):
    # One compact column for the conditions and one for the action: a rule list reads at 1400 px.
    list_display = ("order", "name", "active", "draft", "conditions_summary", "action_summary")
    list_display_links = ("name",)
    list_editable = ("order", "active")
    list_filter = ("active", "draft", "action", "team")
    list_select_related = ("team", "rep__user", "territory", "replaces")
    raw_id_fields = ("replaces",)
    fieldsets = (
        (None, {"fields": ("name", "order", "active", "draft", "replaces")}),
        ("Conditions (all must hold; empty ones test nothing)", {"fields": (
            "territory", "countries", "min_employees", "max_employees", "industries", "seniorities", "min_score",
            "max_score", "bands", "stages", "sources", "languages")}),
        ("Action", {"fields": ("action", "rep", "team", "strategy", "rep_roles", "match_rep_territory", "queue")}),
    )
    actions = ["activate_drafts"]

    @admin.display(description="Conditions (all must hold)")
    def conditions_summary(self, obj: RoutingRule) -> str:
        return routing_rule_conditions_text(obj)

    @admin.display(description="Then")
    def action_summary(self, obj: RoutingRule) -> str:
        text = routing_rule_action_text(obj)
        return f"{text} (draft replacing {obj.replaces.name})" if obj.replaces_id else text

    def get_urls(self):
        return [path("preview/", self.admin_site.admin_view(self.preview_view),
                     name="routing_routingrule_preview")] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "preview_url": reverse("admin:routing_routingrule_preview")}
        return super().changelist_view(request, extra_context)

    @admin.action(description="Activate the selected drafts (deactivates the rules they replace)",
                  permissions=["change"])
    def activate_drafts(self, request, queryset) -> None:
        names = routing_rules_activate(rule_ids=list(queryset.values_list("pk", flat=True)), user=request.user)
        if names:
            self.message_user(request, f"Activated: {', '.join(names)}.", messages.SUCCESS)
        else:
            self.message_user(request, "None of the selected rules is a draft.", messages.WARNING)

    def preview_view(self, request):
        """Route the last N leads under the live rules, or with the drafts, and show what would change."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            last = max(1, min(int(request.GET.get("last", 200)), PREVIEW_MAX_LEADS))
        except ValueError:
            last = 200
        # The box is ticked by default; once the form was sent, an unticked box sends nothing.
        include_drafts = request.GET.get("drafts") == "1" if "run" in request.GET else True
        preview = routing_preview(last=last, include_drafts=include_drafts) if "run" in request.GET else None
        context = {**self.admin_site.each_context(request), "title": "Preview routing rules", "preview": preview,
                   "last": last, "include_drafts": include_drafts, "opts": self.model._meta,
                   "drafts": RoutingRule.objects.filter(draft=True).select_related("replaces"),
                   "max_leads": PREVIEW_MAX_LEADS}
        return TemplateResponse(request, "admin/routing/routingrule/preview.html", context)


@admin.register(RoutingDecision)
class RoutingDecisionAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "lead", "summary", "rep", "queue", "cause", "user", "undone_at")
    list_filter = ("queue", "strategy", "cause", ("undone_at", admin.EmptyFieldListFilter))
    raw_id_fields = ("lead", "rule", "rep", "owner", "previous_owner", "user", "undone_by")
    list_select_related = ("lead", "rep__user", "user")
    show_full_result_count = False
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in RoutingDecision._meta.fields]
    actions = ["undo"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Undo the selected routing changes (previous owners and queues come back)",
                  permissions=["change"])
    def undo(self, request, queryset) -> None:
        if not self.has_change_permission(request):
            raise PermissionDenied
        result = routing_decisions_undo(decision_ids=list(queryset.values_list("pk", flat=True)), user=request.user)
        self.message_user(request, f"Undid {len(result.undone)} routing decisions.",
                          messages.SUCCESS if result.undone else messages.INFO)
        for note in result.skipped:
            self.message_user(request, note, messages.WARNING)


@admin.register(RoutingPointer)
class RoutingPointerAdmin(admin.ModelAdmin):
    list_display = ("pool_key", "last_rep", "turns")


@admin.register(SlaPolicy)
class SlaPolicyAdmin(ReadableHistoryAdmin):
    list_display = ("__str__", "band", "stage", "source", "minutes", "escalate_after_minutes")
    list_filter = ("band", "stage", "source")


@admin.register(TaskTemplate)
class TaskTemplateAdmin(ReadableHistoryAdmin):
    list_display = ("name", "active", "source", "band", "stage", "title")
    list_filter = ("active", "band", "stage", "source")
    search_fields = ("name", "title")


@admin.register(StageSla)
class StageSlaAdmin(ReadableHistoryAdmin):
    list_display = ("stage", "days", "reroute_at_expiry", "active")
    list_editable = ("days", "reroute_at_expiry", "active")


@admin.register(DisqualifyReason)
class DisqualifyReasonAdmin(ReadableHistoryAdmin):
    list_display = ("name", "active", "order")
    list_editable = ("active", "order")


@admin.register(Task)
class TaskAdmin(ScopedAdminMixin, ReadableHistoryAdmin):
    list_display = ("title", "assignee", "kind", "due_at", "status", "disposition", "attempt", "snooze_count",
                    "reassign_requested_at", "completed_at", "escalated_at")
    list_filter = ("status", "kind", "disposition")
    raw_id_fields = ("lead", "assignee", "decision")
    list_select_related = ("assignee", "lead")
    show_full_result_count = False
    search_fields = ("title", "lead__email")
