"""The lead layer's Django app: leads, accounts and engagement events."""

from django.apps import AppConfig


class LeadsConfig(AppConfig):
    """Leads, accounts and engagement events: ingestion, normalization, deduplication, merges and enrichment."""

    name = "leads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the receivers
