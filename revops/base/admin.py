"""Admin of the cross-cutting models: kill switches, the notification outbox, the automation log."""

from django.contrib import admin, messages
from django.utils import timezone

from .history_admin import ReadableHistoryAdmin
from .models import AutomationLog, ErasureRecord, Notification, PendingJob, WorkflowSwitch
from .notifications import notifications_retry
from .pending import pending_jobs_sweep
from .roles import ROLE_REVOPS_ADMIN
from .scoping import ScopedAdminMixin
from .switches import workflow_switch_set

admin.site.site_header = "Leadflow administration"
admin.site.site_title = "Leadflow"
admin.site.index_title = "RevOps configuration and data"


@admin.register(WorkflowSwitch)
class WorkflowSwitchAdmin(ReadableHistoryAdmin):
    list_display = ("workflow", "enabled", "note", "updated_at")
    list_editable = ("enabled",)
    actions = ["switch_on", "switch_off"]

    def save_model(self, request, obj, form, change) -> None:
        # Through the service, so switching on sends workflow_resumed and the skipped work is caught up.
        workflow_switch_set(workflow=obj.workflow, enabled=obj.enabled, note=obj.note, user=request.user)

    @admin.action(description="Switch on", permissions=["change"])
    def switch_on(self, request, queryset) -> None:
        for switch in queryset:
            workflow_switch_set(workflow=switch.workflow, enabled=True, user=request.user)
        self.message_user(request, "Switched on.", messages.SUCCESS)

    @admin.action(description="Switch OFF (kill switch)", permissions=["change"])
    def switch_off(self, request, queryset) -> None:
        for switch in queryset:
            workflow_switch_set(workflow=switch.workflow, enabled=False, user=request.user)
        self.message_user(request, "Switched off.", messages.WARNING)


@admin.register(Notification)
class NotificationAdmin(ScopedAdminMixin, ReadableHistoryAdmin):
    """The outbox: every Slack, e-mail and Teams message with its status, attempts, last error and next attempt."""

    list_display = ("created_at", "channel", "short_recipient", "status", "attempts", "short_error",
                    "next_attempt_at", "sent_at", "short_text")
    list_filter = ("channel", "status", ("created_at", admin.DateFieldListFilter), "object_type")
    search_fields = ("recipient", "text", "dedup_key", "last_error")
    readonly_fields = ("slack_ts", "attempts", "sent_at", "created_at", "next_attempt_at")
    show_full_result_count = False
    date_hierarchy = "created_at"
    actions = ["retry_now"]

    @admin.display(description="Recipient")
    def short_recipient(self, obj: Notification) -> str:
        return obj.recipient[:50]

    @admin.display(description="Last error")
    def short_error(self, obj: Notification) -> str:
        return obj.last_error[:120]

    @admin.display(description="Text")
    def short_text(self, obj: Notification) -> str:
        return obj.text[:80]

    @admin.action(description="Retry now (failed, not configured, no recipient or waiting)", permissions=["change"])
    def retry_now(self, request, queryset) -> None:
        count = notifications_retry(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Scheduled {count} notifications.", messages.SUCCESS)


@admin.register(AutomationLog)
class AutomationLogAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "workflow", "action", "outcome", "object_type", "object_id", "short_detail")
    list_filter = ("workflow", "outcome", "action")
    search_fields = ("detail",)
    show_full_result_count = False

    @admin.display(description="Detail")
    def short_detail(self, obj: AutomationLog) -> str:
        return obj.detail[:120]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(PendingJob)
class PendingJobAdmin(admin.ModelAdmin):
    """Pipeline jobs not finished yet. Normally empty or short-lived; rows that stay say Redis or a worker is down."""

    list_display = ("function", "args", "created_at", "due_at", "attempts")
    list_filter = ("function",)
    readonly_fields = ("function", "args", "queue", "created_at", "due_at", "attempts")
    show_full_result_count = False
    actions = ["enqueue_now"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Enqueue the selected jobs now (if not queued or running)", permissions=["change"])
    def enqueue_now(self, request, queryset) -> None:
        queryset.update(due_at=timezone.now())
        self.message_user(request, pending_jobs_sweep(), messages.SUCCESS)


@admin.register(ErasureRecord)
class ErasureRecordAdmin(admin.ModelAdmin):
    """The erasure requests (``person_erase``): read-only; they hold no personal data (the e-mail only hashed)."""

    list_display = ("created_at", "user", "via", "lead_count", "repeat")
    list_filter = ("via", "repeat")
    search_fields = ("email_hash",)
    readonly_fields = ("created_at", "user", "via", "email_hash", "lead_ids", "counts", "repeat")

    @admin.display(description="Leads")
    def lead_count(self, obj: ErasureRecord) -> int:
        return len(obj.lead_ids)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        # Privacy requests are RevOps admins' business (managers have every view permission otherwise).
        user = request.user
        return user.is_active and (user.is_superuser or user.groups.filter(name=ROLE_REVOPS_ADMIN).exists())

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)


from .webhooks_admin import WebhookDeliveryAdmin, WebhookSubscriptionAdmin  # noqa: E402, F401 - registers them
