from django.apps import AppConfig


class TopConfig(AppConfig):
    """The top layer: workspace, dashboards, demo, configuration as code and the commands that run them."""

    name = "revops.top"
    label = "revops_top"
    verbose_name = "Leadflow workspace"
