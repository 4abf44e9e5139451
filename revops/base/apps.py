from django.apps import AppConfig


class RevopsConfig(AppConfig):
    """The base layer: workflow switches, job runner, notifications, automation log, roles (app label ``revops``)."""

    name = "revops.base"
    label = "revops"
    verbose_name = "Leadflow operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the receivers
