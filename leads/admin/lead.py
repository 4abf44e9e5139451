"""Admin of leads, their events and accounts; the lead changelist's merge and CSV export actions call services."""

import pycountry
from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from revops.base.automation import automation_log_for
from revops.base.boundary_forms import BoundaryModelForm
from revops.base.history_admin import ReadableHistoryAdmin
from revops.base.presentation import json_html, reasons_html
from revops.base.scoping import ScopedAdminMixin

from ..choices import MatchRule
from ..csv import leads_csv_response
from ..models import Account, Lead, LeadEvent, SourceRecord
from ..services import MergeError, industry_vocabulary, lead_merge, lead_update


@admin.action(description="Export selected leads as CSV", permissions=["view"])
def export_selected_leads_csv(modeladmin, request, queryset):
    """The selected live leads in the export format (docs/csv.md), streamed."""
    return leads_csv_response(queryset)


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


class MergedFilter(admin.SimpleListFilter):
    """Live leads by default: merged-away duplicates are hidden rows kept for undo, shown only when asked for."""

    title = "merged"
    parameter_name = "merged"
    LIVE, MERGED, ALL = "live", "merged", "all"

    def lookups(self, request, model_admin):
        return ((self.LIVE, "Live leads"), (self.MERGED, "Merged away (with their survivor)"), (self.ALL, "All"))

    def value(self):
        return super().value() or self.LIVE

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {"selected": self.value() == lookup, "display": title,
                   "query_string": changelist.get_query_string({self.parameter_name: lookup})}

    def queryset(self, request, queryset):
        if self.value() == self.MERGED:
            return queryset.filter(merged_into__isnull=False)
        if self.value() == self.ALL:
            return queryset
        return queryset.filter(merged_into__isnull=True)


class LeadAdminForm(BoundaryModelForm):
    """A country typed by hand is an ISO code and an industry a canonical one of the vocabulary, as ingest stores
    them (ingest normalizes and flags what it cannot place; a person editing is told at once); every text and the
    custom attributes pass the API's input boundary (``revops.base.boundary_forms``)."""

    class Meta:
        model = Lead
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose what is shown

    def clean_country(self) -> str:
        country = (self.cleaned_data.get("country") or "").strip().upper()
        if country and pycountry.countries.get(alpha_2=country) is None:
            raise forms.ValidationError(f"{country} is not an ISO 3166 alpha-2 country code (e.g. US, DE)")
        return country

    def clean_industry(self) -> str:
        industry = (self.cleaned_data.get("industry") or "").strip()
        if not industry:
            return industry
        vocabulary = industry_vocabulary()
        canonical = {name.lower(): name for name in vocabulary.values()}
        if industry.lower() in canonical:
            return canonical[industry.lower()]
        meant = vocabulary.get(industry.lower())
        raise forms.ValidationError(f"{industry} is a synonym: use {meant}" if meant else
                                    f"{industry} is not in the industry vocabulary")


def _lead_link(lead_id: int) -> str:
    return format_html('<a href="{}">#{}</a>', reverse("admin:leads_lead_change", args=[lead_id]), lead_id)


@admin.register(Lead)
class LeadAdmin(ScopedAdminMixin, ReadableHistoryAdmin):
    form = LeadAdminForm
    # Fits 1400 px beside the navigation and the filters: score with its band, the owner or else the queue; the
    # source and the date are filters (and the date hierarchy), not columns.
    list_display = ("__str__", "email", "company", "country", "score_display", "stage", "owner_display",
                    "merged_into_display")
    list_filter = (MergedFilter, "stage", "band", "queue", "outcome", "consent", "enrichment_status", "country",
                   "source")
    search_fields = ("email", "first_name", "last_name", "company", "phone", "domain")
    list_select_related = ("owner",)
    raw_id_fields = ("account", "owner", "merged_into")
    show_full_result_count = False
    date_hierarchy = "created_at"
    inlines = [SourceRecordInline, LeadEventInline]
    readonly_fields = ("fit_score", "engagement_score", "score", "band", "stage", "predicted_probability",
                       "score_reasons_display", "scored_at", "assigned_at", "data_quality", "flags_display",
                       "first_touch_display", "last_touch_display", "enrichment_status", "enriched_at", "created_at",
                       "updated_at", "last_interaction_at", "automation_display")
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
                                    "utm_campaign", "first_touch_display", "last_touch_display")}),
        ("Outcome", {"fields": ("outcome", "deal_value", "closed_at")}),
        ("Data", {"fields": ("custom", "flags_display", "data_quality", "enrichment_status", "enriched_at",
                             "merged_into", "last_interaction_at", "created_at", "updated_at")}),
        ("Automation", {"fields": ("automation_display",)}),
    )

    actions = ["merge_two", export_selected_leads_csv]

    def save_model(self, request, obj, form, change) -> None:
        # Through the service, so a changed scoring or routing input re-scores and re-routes the lead.
        lead_update(lead=obj, changed=form.changed_data if change else [], user=request.user)

    @admin.action(description="Merge the two selected leads (the older one survives)", permissions=["change"])
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

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("merged_into")

    @admin.display(description="Score", ordering="score")
    def score_display(self, obj: Lead) -> str:
        if obj.score is None:
            return "—"
        return f"{obj.score} ({obj.band})" if obj.band else str(obj.score)

    @admin.display(description="Owner or queue", ordering="owner__username")
    def owner_display(self, obj: Lead) -> str:
        if obj.owner_id:
            return obj.owner.get_full_name() or obj.owner.username
        return obj.get_queue_display().split(" (")[0] if obj.queue else "—"

    @admin.display(description="Merged into", ordering="merged_into")
    def merged_into_display(self, obj: Lead) -> str:
        return _lead_link(obj.merged_into_id) if obj.merged_into_id else ""

    @admin.display(description="Why this score")
    def score_reasons_display(self, obj: Lead) -> str:
        # The reasons sum to the score: each with its points as applied today, the model and caps on their own.
        return reasons_html(obj.score_reasons, score=obj.score) if obj.score_reasons else "—"

    @admin.display(description="First touch")
    def first_touch_display(self, obj: Lead) -> str:
        return json_html(obj.first_touch)

    @admin.display(description="Last touch")
    def last_touch_display(self, obj: Lead) -> str:
        return json_html(obj.last_touch)

    @admin.display(description="Flags")
    def flags_display(self, obj: Lead) -> str:
        return json_html(obj.flags)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # A merged-away lead says so at the top of its page, with a link to the lead it lives on in.
        extra_context = dict(extra_context or {})
        lead = Lead.objects.filter(pk=object_id).only("merged_into").first() if str(object_id).isdigit() else None
        if lead is not None and lead.merged_into_id:
            extra_context["merged_into_link"] = _lead_link(lead.merged_into_id)
        return super().change_view(request, object_id, form_url, extra_context)

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
class LeadEventAdmin(ScopedAdminMixin, ReadableHistoryAdmin):
    list_display = ("lead", "type", "occurred_at", "source", "idempotency_key")
    list_filter = ("type", "source")
    raw_id_fields = ("lead",)
    list_select_related = ("lead",)
    show_full_result_count = False
    search_fields = ("idempotency_key", "lead__email")


@admin.register(Account)
class AccountAdmin(ReadableHistoryAdmin):
    form = BoundaryModelForm  # the same input boundary as the API
    list_display = ("name", "domain", "industry", "employees", "country", "owner")
    search_fields = ("name", "domain")
    raw_id_fields = ("owner",)
    list_select_related = ("owner",)
