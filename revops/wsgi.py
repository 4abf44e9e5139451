"""WSGI entry point for Leadflow: the application, loaded before the process takes its first request."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings")
application = get_wsgi_application()


def warm_up() -> None:
    """Load the views and the country names before the first request (``revops.top.warm_up``)."""
    from revops.top.warm_up import process_warm_up

    process_warm_up()


warm_up()
