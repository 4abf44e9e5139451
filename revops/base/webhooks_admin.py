"""Admin of outbound webhooks: subscriptions (URL, events, secret, on/off) and the delivery log with "re-send"."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from .choices import WebhookEvent
from .history_admin import ReadableHistoryAdmin
from .webhook_models import WebhookDelivery, WebhookSubscription
from .webhooks import webhook_deliveries_resend


class WebhookSubscriptionForm(forms.ModelForm):
    events = forms.MultipleChoiceField(choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple)
    url = forms.URLField(max_length=500, assume_scheme="https",
                         help_text="http:// or https:// only; answered within a few seconds.")

    class Meta:
        model = WebhookSubscription
        fields = ("name", "url", "events", "secret", "active")


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ReadableHistoryAdmin):
    """Subscriptions; the secret is shown only to those who may change them (it signs every delivery)."""

    form = WebhookSubscriptionForm
    list_display = ("name", "url", "event_list", "active", "failing_since", "last_success_at", "disabled_reason")
    list_filter = ("active",)
    search_fields = ("name", "url")
    readonly_fields = ("failing_since", "last_success_at", "disabled_at", "disabled_reason", "created_at")

    @admin.display(description="Events")
    def event_list(self, obj: WebhookSubscription) -> str:
        return ", ".join(obj.events or [])

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj)

    def save_model(self, request, obj, form, change) -> None:
        if obj.active and change and "active" in form.changed_data:  # switched on again: a fresh start
            obj.failing_since = obj.disabled_at = None
            obj.disabled_reason = ""
        obj._change_reason = "edited in the admin"
        super().save_model(request, obj, form, change)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: one row per event and subscription, with what the receiver answered."""

    list_display = ("created_at", "event_type", "event_id", "subscription", "status", "response_code",
                    "response_ms", "attempts", "next_attempt_at", "short_error")
    list_filter = ("status", "event_type", "subscription")
    search_fields = ("event_id",)
    list_select_related = ("subscription",)
    readonly_fields = ("subscription", "event_id", "event_type", "body", "status", "attempts", "response_code",
                       "response_ms", "last_error", "next_attempt_at", "retry_until", "created_at", "delivered_at")
    show_full_result_count = False
    date_hierarchy = "created_at"
    actions = ["resend"]

    @admin.display(description="Last error")
    def short_error(self, obj: WebhookDelivery) -> str:
        return obj.last_error[:120]

    def has_add_permission(self, request) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("revops.change_webhooksubscription")

    @admin.action(description="Re-send (same event id, a new day of retries)", permissions=["change"])
    def resend(self, request, queryset) -> None:
        scheduled, left = webhook_deliveries_resend(ids=list(queryset.values_list("pk", flat=True)),
                                                    now=timezone.now())
        self.message_user(request, f"Scheduled {scheduled} deliveries again.", messages.SUCCESS)
        if left:
            self.message_user(request, f"{left} left: sending now, or their subscription is switched off.",
                              messages.WARNING)
