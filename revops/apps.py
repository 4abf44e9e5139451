from django.apps import AppConfig


class RevopsConfig(AppConfig):
    """Cross-cutting pieces: workflow switches, notifications, automation log; the project's urls and dashboards."""

    name = "revops"
    verbose_name = "Leadflow operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signal_handlers  # noqa: F401 - connects the receivers
