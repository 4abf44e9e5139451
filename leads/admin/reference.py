"""Admin of the reference data behind normalization and enrichment: the industry vocabulary, the company
directory, the enrichment providers and their stored requests."""

from django.contrib import admin

from revops.base.history_admin import ReadableHistoryAdmin
from revops.base.scoping import ScopedAdminMixin

from ..models import CompanyProfile, EnrichmentProvider, EnrichmentRequest, IndustryTerm


@admin.register(IndustryTerm)
class IndustryTermAdmin(ReadableHistoryAdmin):
    list_display = ("synonym", "canonical", "is_default")
    list_filter = ("is_default", "canonical")
    search_fields = ("synonym", "canonical")


@admin.register(CompanyProfile)
class CompanyProfileAdmin(ReadableHistoryAdmin):
    list_display = ("domain", "name", "industry", "employees", "country")
    search_fields = ("domain", "name")


@admin.register(EnrichmentProvider)
class EnrichmentProviderAdmin(ReadableHistoryAdmin):
    list_display = ("name", "kind", "active", "order", "url_template", "timeout_seconds", "retries")
    list_editable = ("active", "order")


@admin.register(EnrichmentRequest)
class EnrichmentRequestAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "provider", "lead", "status_code", "error")
    raw_id_fields = ("lead",)
    list_filter = ("provider",)
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False
