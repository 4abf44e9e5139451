"""Admin of the lead layer. Actions call services; large tables avoid per-row queries and full counts."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from revops.base.automation import automation_log_for

from .choices import MatchRule, ReviewStatus
from .merge import MergeError, lead_merge, merges_undo, review_dismiss, review_merge
from .models import (
    Account,
    CompanyProfile,
    DuplicateReview,
    EnrichmentProvider,
    EnrichmentRequest,
    IndustryTerm,
    Lead,
    LeadEvent,
    MergeLog,
    SourceRecord,
)
from .services import lead_update


class LeadEventInline(admin.TabularInline):
    model = LeadEvent
    extra = 0
    fields = ("type", "occurred_at", "properties", "source", "idempotency_key")
    readonly_fields = fields
    can_delete = False
    ordering = ("-occurred_at",)
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class SourceRecordInline(admin.TabularInline):
    model = SourceRecord
    extra = 0
    fields = ("source", "external_id", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Lead)
class LeadAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "email", "company", "country", "score", "band", "stage", "owner", "queue",
                    "source", "created_at")
    list_filter = ("stage", "band", "queue", "outcome", "consent", "enrichment_status", "country", "source")
    search_fields = ("email", "first_name", "last_name", "company", "phone", "domain")
    list_select_related = ("owner",)
    raw_id_fields = ("account", "owner", "merged_into")
    show_full_result_count = False
    date_hierarchy = "created_at"
    inlines = [SourceRecordInline, LeadEventInline]
    readonly_fields = ("fit_score", "engagement_score", "score", "band", "stage", "predicted_probability",
                       "score_reasons_display", "scored_at", "assigned_at", "data_quality", "flags",
                       "first_touch", "last_touch", "enrichment_status", "enriched_at", "created_at", "updated_at",
                       "last_interaction_at", "automation_display")
    fieldsets = (
        ("Person", {"fields": ("first_name", "last_name", "email", "phone", "phone_raw", "title", "seniority",
                               "department", "consent")}),
        ("Company", {"fields": ("company", "account", "website", "domain", "industry", "employees", "size_band",
                                "annual_revenue")}),
        ("Location", {"fields": ("country", "state", "city", "postal_code")}),
        ("Score", {"fields": ("score", "fit_score", "engagement_score", "band", "stage", "predicted_probability",
                              "score_reasons_display", "scored_at")}),
        ("Owner", {"fields": ("owner", "queue", "queue_reason", "assigned_at")}),
        ("Attribution", {"fields": ("source", "external_id", "campaign", "utm_source", "utm_medium",
                                    "utm_campaign", "first_touch", "last_touch")}),
        ("Outcome", {"fields": ("outcome", "deal_value", "closed_at")}),
        ("Data", {"fields": ("custom", "flags", "data_quality", "enrichment_status", "enriched_at", "merged_into",
                             "last_interaction_at", "created_at", "updated_at")}),
        ("Automation", {"fields": ("automation_display",)}),
    )

    actions = ["merge_two"]

    def save_model(self, request, obj, form, change) -> None:
        # Through the service, so a changed scoring or routing input re-scores and re-routes the lead.
        lead_update(lead=obj, changed=form.changed_data if change else [], user=request.user)

    @admin.action(description="Merge the two selected leads (the older one survives)")
    def merge_two(self, request, queryset) -> None:
        leads = list(queryset.order_by("created_at", "id"))
        if len(leads) != 2:
            self.message_user(request, "Select exactly two leads to merge.", messages.ERROR)
            return
        try:
            log = lead_merge(survivor_id=leads[0].pk, merged_id=leads[1].pk, rule=MatchRule.MANUAL,
                             user=request.user, reason=f"merged by {request.user}")
        except MergeError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"Merged #{leads[1].pk} into #{leads[0].pk} (merge #{log.pk}, undoable).",
                          messages.SUCCESS)

    @admin.display(description="Why this score")
    def score_reasons_display(self, obj: Lead) -> str:
        if not obj.score_reasons:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            # format_html escapes its arguments to text first: numbers and dates are formatted here.
            format_html_join("", "<li><b>{}</b> {} ({})</li>",
                             ((r.get("code", ""), r.get("label", ""), f"{int(r.get('points', 0)):+d}")
                              for r in obj.score_reasons)),
        )

    @admin.display(description="Automation log")
    def automation_display(self, obj: Lead) -> str:
        rows = automation_log_for(object_type="lead", object_id=obj.pk, limit=20) if obj.pk else []
        if not rows:
            return "—"
        return format_html(
            "<table><tr><th>When</th><th>Workflow</th><th>Action</th><th>Outcome</th><th>Detail</th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                             ((f"{timezone.localtime(r.created_at):%Y-%m-%d %H:%M:%S}", r.workflow, r.action,
                               r.outcome, r.detail[:200]) for r in rows)),
        )


@admin.register(LeadEvent)
class LeadEventAdmin(SimpleHistoryAdmin):
    list_display = ("lead", "type", "occurred_at", "source", "idempotency_key")
    list_filter = ("type", "source")
    raw_id_fields = ("lead",)
    list_select_related = ("lead",)
    show_full_result_count = False
    search_fields = ("idempotency_key", "lead__email")


@admin.register(Account)
class AccountAdmin(SimpleHistoryAdmin):
    list_display = ("name", "domain", "industry", "employees", "country", "owner")
    search_fields = ("name", "domain")
    raw_id_fields = ("owner",)
    list_select_related = ("owner",)


@admin.register(IndustryTerm)
class IndustryTermAdmin(SimpleHistoryAdmin):
    list_display = ("synonym", "canonical")
    search_fields = ("synonym", "canonical")


@admin.register(CompanyProfile)
class CompanyProfileAdmin(SimpleHistoryAdmin):
    list_display = ("domain", "name", "industry", "employees", "country")
    search_fields = ("domain", "name")

@admin.register(MergeLog)
class MergeLogAdmin(admin.ModelAdmin):
    list_display = ("created_at", "survivor", "merged", "rule", "similarity", "user", "undone_at")
    list_filter = ("rule", ("undone_at", admin.EmptyFieldListFilter))
    raw_id_fields = ("survivor", "merged", "user", "undone_by")
    list_select_related = ("survivor", "merged", "user")
    show_full_result_count = False
    actions = ["undo"]
    readonly_fields = ("survivor", "merged", "rule", "similarity", "decisions_display", "merged_snapshot",
                       "survivor_before", "moved_event_ids", "moved_source_record_ids", "user", "created_at",
                       "undone_at", "undone_by")
    exclude = ("decisions",)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="Field decisions")
    def decisions_display(self, obj: MergeLog) -> str:
        return format_html(
            "<table><tr><th>Field</th><th>Survivor had</th><th>Merged had</th><th>Kept</th><th>Why</th></tr>{}"
            "</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                             ((d["field"], d["survivor"], d["merged"], d["kept"], d["why"]) for d in obj.decisions)),
        )

    @admin.action(description="Undo the selected merges")
    def undo(self, request, queryset) -> None:
        undone, errors = merges_undo(merge_ids=list(queryset.values_list("pk", flat=True)), user=request.user)
        self.message_user(request, f"Undid {undone} merges.", messages.SUCCESS)
        for error in errors:
            self.message_user(request, error, messages.ERROR)


# Fields shown side by side on the review screen.
REVIEW_FIELDS = ("first_name", "last_name", "email", "phone", "phone_raw", "company", "domain", "title", "country",
                 "state", "city", "industry", "employees", "source", "external_id", "stage", "score", "owner",
                 "created_at", "data_quality")


@admin.register(DuplicateReview)
class DuplicateReviewAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "lead", "other_lead", "similarity", "reason", "status", "found_by", "created_at",
                    "review_link")
    list_filter = ("status", "reason", "found_by")
    raw_id_fields = ("lead", "other_lead", "decided_by")
    list_select_related = ("lead", "other_lead")
    show_full_result_count = False
    actions = ["dismiss"]

    def get_urls(self):
        return [path("<int:review_id>/compare/", self.admin_site.admin_view(self.compare_view),
                     name="leads_duplicatereview_compare")] + super().get_urls()

    @admin.display(description="")
    def review_link(self, obj: DuplicateReview) -> str:
        if obj.status != ReviewStatus.OPEN:
            return "—"
        return format_html('<a class="button" href="{}">Compare</a>',
                           reverse("admin:leads_duplicatereview_compare", args=[obj.pk]))

    @admin.action(description="Not duplicates (remembered)")
    def dismiss(self, request, queryset) -> None:
        for review in queryset.filter(status=ReviewStatus.OPEN):
            review_dismiss(review_id=review.pk, user=request.user)
        self.message_user(request, "Marked as not duplicates; these pairs will not come back.", messages.SUCCESS)

    def compare_view(self, request, review_id: int):
        """The two leads side by side with three decisions: keep left, keep right, not a duplicate."""
        review = get_object_or_404(DuplicateReview, pk=review_id)
        if not self.has_change_permission(request, review):
            raise PermissionDenied
        if request.method == "POST":
            decision = request.POST.get("decision")
            try:
                if decision == "not_duplicate":
                    review_dismiss(review_id=review.pk, user=request.user)
                    self.message_user(request, "Not a duplicate: remembered.", messages.SUCCESS)
                elif decision in ("keep_left", "keep_right"):
                    survivor = review.lead_id if decision == "keep_left" else review.other_lead_id
                    log = review_merge(review_id=review.pk, survivor_id=survivor, user=request.user)
                    self.message_user(request, f"Merged (merge #{log.pk}, undoable from Merge logs).",
                                      messages.SUCCESS)
            except MergeError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            return redirect("admin:leads_duplicatereview_changelist")
        left, right = review.lead, review.other_lead
        rows = []
        for name in REVIEW_FIELDS:
            a, b = getattr(left, name), getattr(right, name)
            rows.append({"field": Lead._meta.get_field(name).verbose_name, "left": a if a not in (None, "") else "",
                         "right": b if b not in (None, "") else "", "differs": a != b})
        context = {**self.admin_site.each_context(request), "title": f"Possible duplicate: {review}",
                   "review": review, "left": left, "right": right, "rows": rows, "opts": self.model._meta}
        return TemplateResponse(request, "admin/leads/duplicatereview/compare.html", context)


@admin.register(EnrichmentProvider)
class EnrichmentProviderAdmin(SimpleHistoryAdmin):
    list_display = ("name", "kind", "active", "order", "url_template", "timeout_seconds", "retries")
    list_editable = ("active", "order")


@admin.register(EnrichmentRequest)
class EnrichmentRequestAdmin(admin.ModelAdmin):
    list_display = ("created_at", "provider", "lead", "status_code", "error")
    raw_id_fields = ("lead",)
    list_filter = ("provider",)
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False


# CSV import and export screens (upload, preview, progress, per-row errors) live in their own module.
from . import admin_import  # noqa: E402, F401
