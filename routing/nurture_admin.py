"""Admin of nurture programs: programs with their steps inline (RevOps admins change them, managers view them), the
enrollments list (read-only, scoped like the other rows about a lead) with a "Stop" action, and the lead page's
enrollments. Registered from ``routing/admin.py``."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from revops.base.history_admin import ReadableHistoryAdmin
from revops.base.scoping import ScopedAdminMixin

from .choices import NurtureStatus
from .models import NurtureEnrollment, NurtureProgram, NurtureStep
from .services import nurture_enrollments_stop


class NurtureStepInline(admin.StackedInline):
    model = NurtureStep
    extra = 0
    min_num = 1
    validate_min = True
    fields = (("position", "delay_days"), "email_subject", "email_body")
    ordering = ("position",)
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 6, "cols": 60})},
        models.CharField: {"widget": forms.TextInput(attrs={"style": "width: 100%; max-width: 36em;"})},
    }


@admin.register(NurtureProgram)
class NurtureProgramAdmin(ReadableHistoryAdmin):
    list_display = ("name", "order", "active", "conditions", "send_window", "steps_count", "active_enrollments")
    list_display_links = ("name",)
    list_filter = ("active",)
    search_fields = ("name",)
    fieldsets = (
        (None, {"fields": ("name", "order", "active")}),
        ("Conditions (all must hold; empty ones test nothing)", {"fields": (
            "bands", "stages", "sources", "countries", "industries")}),
        ("Send window (in the lead's time zone, from its country and state)", {"fields": (
            "send_from_hour", "send_until_hour", "send_on_weekends")}),
    )
    inlines = [NurtureStepInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            steps_total=Count("steps", distinct=True),
            active_total=Count("enrollments", filter=Q(enrollments__status=NurtureStatus.ACTIVE), distinct=True))

    @admin.display(description="Conditions (all must hold)")
    def conditions(self, obj: NurtureProgram) -> str:
        return obj.conditions_text()

    @admin.display(description="Sends")
    def send_window(self, obj: NurtureProgram) -> str:
        return obj.send_window_text()

    @admin.display(description="Steps", ordering="steps_total")
    def steps_count(self, obj: NurtureProgram) -> int:
        return obj.steps_total

    @admin.display(description="Active enrollments", ordering="active_total")
    def active_enrollments(self, obj: NurtureProgram) -> str:
        url = (reverse("admin:routing_nurtureenrollment_changelist")
               + f"?program__id__exact={obj.pk}&status__exact={NurtureStatus.ACTIVE}")
        return format_html('<a href="{}">{}</a>', url, obj.active_total)


@admin.register(NurtureEnrollment)
class NurtureEnrollmentAdmin(ScopedAdminMixin, ReadableHistoryAdmin):
    # Status, next step and stop reason in one column: the list reads at 1400 px beside its filters.
    list_display = ("lead", "program", "state", "steps_sent", "enrolled")
    list_filter = ("status", "stop_reason", "program")
    list_select_related = ("lead", "program")
    search_fields = ("lead__email",)
    raw_id_fields = ("lead",)
    show_full_result_count = False
    date_hierarchy = "enrolled_at"
    readonly_fields = [f.name for f in NurtureEnrollment._meta.fields if f.name != "id"]
    actions = ["stop"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the record of what was sent stays; stop an enrollment instead

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Read-only: nothing to save (the "Stop" action is on the list).
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False,
                         "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="State", ordering="status")
    def state(self, obj: NurtureEnrollment) -> str:
        """"Active: step 2 due 2026-12-07 09:00", "Completed", "Stopped: got an owner"."""
        if obj.status == NurtureStatus.ACTIVE and obj.next_at:
            return f"Active: step {obj.next_position} due {timezone.localtime(obj.next_at):%Y-%m-%d %H:%M}"
        if obj.status == NurtureStatus.STOPPED:
            return f"Stopped: {obj.get_stop_reason_display().lower()}"
        return obj.get_status_display()

    @admin.display(description="Enrolled", ordering="enrolled_at")
    def enrolled(self, obj: NurtureEnrollment) -> str:
        return f"{timezone.localtime(obj.enrolled_at):%Y-%m-%d %H:%M}"

    @admin.action(description="Stop the selected enrollments (no further e-mail)", permissions=["change"])
    def stop(self, request, queryset) -> None:
        if not self.has_change_permission(request):
            raise PermissionDenied
        stopped = nurture_enrollments_stop(enrollment_ids=list(queryset.values_list("pk", flat=True)),
                                           user=request.user)
        if stopped:
            self.message_user(request, f"Stopped {stopped} enrollment{'s' if stopped != 1 else ''}: no further "
                                       "e-mail goes to those leads from their program.", messages.SUCCESS)
        else:
            self.message_user(request, "None of the selected enrollments was active.", messages.WARNING)


class NurtureEnrollmentInline(admin.TabularInline):
    """The lead page's nurture enrollments (read-only)."""

    model = NurtureEnrollment
    extra = 0
    fields = ("program", "status", "next_position", "next_at", "steps_sent", "enrolled_at", "stop_reason",
              "stop_detail")
    readonly_fields = fields
    can_delete = False
    show_change_link = True
    verbose_name_plural = "nurture enrollments"

    def has_add_permission(self, request, obj=None) -> bool:
        return False
