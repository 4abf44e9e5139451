"""The routing app: its receivers are connected when Django is ready."""

from django.apps import AppConfig


class RoutingConfig(AppConfig):
    """Territories, teams, reps, routing rules and strategies, assignments, follow-up tasks and SLAs."""

    name = "routing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the receivers
        from .scoping import scopes_register

        scopes_register()  # the one rule per object type the lead and scoring layers' admin and API call
