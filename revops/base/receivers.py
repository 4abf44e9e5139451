"""Receivers of the base layer."""

from django.contrib.auth.models import Group, User
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

from .apiclasses import api_tokens_forget
from .automation import automation_user_ensure, automation_user_id
from .choices import Workflow
from .notifications import notifications_resend_pending
from .roles import roles_ensure
from .signals import workflow_resumed
from .switches import workflow_switches_ensure
from .webhooks import webhook_deliveries_due


@receiver(workflow_resumed)
def send_pending_after_resume(sender, workflow: str, **kwargs) -> None:
    if workflow == Workflow.NOTIFICATIONS:

        notifications_resend_pending()
    elif workflow == Workflow.WEBHOOKS:  # the deliveries that waited go out now, not at the next minute
        webhook_deliveries_due()


@receiver(post_migrate)
def ensure_switches_and_roles(sender, app_config=None, **kwargs) -> None:
    """After migrate: one kill switch per workflow and the role groups, so a fresh install is complete."""
    if app_config is None or app_config.label != "routing":  # the last app: every permission exists by now
        return

    automation_user_ensure()  # first: the switches' history rows name it (after a flush its id is a new one)
    workflow_switches_ensure()
    roles_ensure()


@receiver(pre_create_historical_record)
def name_the_automation_user(sender, instance, history_instance, **kwargs) -> None:
    """A history row written with no person behind it (a job, a bulk write, a command, an anonymous form) names
    the automation user, so every row of the audit trail says who made the change."""
    if history_instance.history_user_id is not None:
        return
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return
    history_instance.history_user_id = automation_user_id()


# The API tokens a process keeps (revops.base.apiclasses) are forgotten when what they stand for changes here.
for _model in (Token, User):
    post_delete.connect(api_tokens_forget, sender=_model, dispatch_uid=f"api_tokens_forget_delete_{_model.__name__}")
post_save.connect(api_tokens_forget, sender=User, dispatch_uid="api_tokens_forget_user_saved")
for _through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
    m2m_changed.connect(api_tokens_forget, sender=_through, dispatch_uid=f"api_tokens_forget_{_through.__name__}")
