"""Forms of routing objects shared by the admin and the workspace: the rep's notification channels as checkboxes
(stored comma-separated in ``Rep.notify_via``)."""

from __future__ import annotations

from django import forms

from .choices import NotifyChannel
from .models import Rep, split_csv


class NotifyViaField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("label", "Send my new tasks by")
        kwargs.setdefault("help_text", "One or more. Without a working channel the message comes by e-mail.")
        super().__init__(choices=NotifyChannel.choices, **kwargs)

    def prepare_value(self, value):
        return split_csv(value) if isinstance(value, str) else value

    def clean(self, value) -> str:
        return ", ".join(super().clean(value))


class RepNotifyForm(forms.ModelForm):
    """The rep's own settings page: where their messages go."""

    notify_via = NotifyViaField()

    class Meta:
        model = Rep
        fields = ["notify_via"]


class RepAdminForm(forms.ModelForm):
    notify_via = NotifyViaField(label="Notify via")

    class Meta:
        model = Rep
        # Every editable field: the admin shows the form's fields, so a shorter list would hide the rest.
        fields = ["user", "team", "role", "territories", "is_active", "out_of_office_from", "out_of_office_until",
                  "time_zone", "working_hours_start", "working_hours_end", "working_days", "country", "capacity",
                  "daily_cap", "weekly_cap", "weight", "skills", "languages", "slack_user_id", "notify_via"]
