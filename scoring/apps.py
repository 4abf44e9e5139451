"""The scoring app's configuration: its receivers are connected when Django starts."""

from django.apps import AppConfig


class ScoringConfig(AppConfig):
    """Fit and engagement scoring, bands, lifecycle stages, decay, triggers and the predictive model."""

    name = "scoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the receivers
