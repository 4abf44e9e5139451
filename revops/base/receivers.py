"""Receivers of the base layer."""

from django.db.models.signals import post_migrate
from django.dispatch import receiver

from .choices import Workflow
from .notifications import notifications_resend_pending
from .roles import roles_ensure
from .signals import workflow_resumed
from .switches import workflow_switches_ensure


@receiver(workflow_resumed)
def send_pending_after_resume(sender, workflow: str, **kwargs) -> None:
    if workflow == Workflow.NOTIFICATIONS:

        notifications_resend_pending()


@receiver(post_migrate)
def ensure_switches_and_roles(sender, app_config=None, **kwargs) -> None:
    """After migrate: one kill switch per workflow and the role groups, so a fresh install is complete."""
    if app_config is None or app_config.label != "routing":  # the last app: every permission exists by now
        return

    workflow_switches_ensure()
    roles_ensure()
