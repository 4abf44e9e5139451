"""Admin of website forms: key, allowed origins, consent text, field mapping, and the ready-to-paste snippet;
their submissions (read-only: which lead, the consent as given)."""

from django.contrib import admin
from django.db import models
from django.utils.html import format_html

from revops.base.history_admin import ReadableHistoryAdmin
from revops.base.scoping import ScopedAdminMixin

from ..webform_models import WebForm, WebFormSubmission
from ..webform_snippet import webform_snippet


@admin.register(WebForm)
class WebFormAdmin(ReadableHistoryAdmin):
    list_display = ("name", "key", "source", "origin_list", "active", "updated_at")
    list_filter = ("active",)
    search_fields = ("name", "key")
    readonly_fields = ("embed_snippet", "created_at", "updated_at")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("name", "key", "active", "source")}),
        ("Where it may be posted from", {"fields": ("allowed_origins",)}),
        ("Fields and consent", {"fields": ("fields", "field_mapping", "consent_text", "consent_required",
                                           "honeypot_field", "success_url")}),
        ("Ready-to-paste HTML", {"fields": ("embed_snippet",)}),
        (None, {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description="Allowed origins")
    def origin_list(self, obj: WebForm) -> str:
        return ", ".join(obj.origins()) or "none (browsers cannot post it)"

    @admin.display(description="HTML snippet")
    def embed_snippet(self, obj: WebForm) -> str:
        if obj.pk is None:
            return "Save the form to get its snippet."
        return format_html('<p>Paste this into the page (the page\'s origin must be in the list above).</p>'
                           '<textarea id="webform-snippet" readonly rows="24" '
                           'style="font-family:monospace;width:95%">{}</textarea>', webform_snippet(obj))

    def save_model(self, request, obj, form, change) -> None:
        obj._change_reason = "edited in the admin"
        super().save_model(request, obj, form, change)


@admin.register(WebFormSubmission)
class WebFormSubmissionAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "form", "lead", "action", "consent_given", "consented_at", "origin")
    list_filter = ("form", "consent_given", "action")
    list_select_related = ("form", "lead")
    raw_id_fields = ("lead",)
    readonly_fields = ("form", "lead", "action", "consent_given", "consent_text", "consented_at", "origin",
                       "created_at")
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
