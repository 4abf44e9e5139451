from django.apps import AppConfig


class TopConfig(AppConfig):
    """The top layer: workspace, dashboards, demo, configuration as code and the commands that run them."""

    name = "revops.top"
    label = "revops_top"
    verbose_name = "Leadflow workspace"

    def ready(self) -> None:
        from . import webhook_events  # noqa: F401 - connects the receivers that turn signals into webhook events
