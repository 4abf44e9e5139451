"""WSGI entry point for Leadflow: the application, loaded before the process takes its first request."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings")
application = get_wsgi_application()

# The views and the country names, loaded before the first request (revops/top/warm_up.py).
from revops.top.warm_up import process_warm_up  # noqa: E402 - after the application is set up

process_warm_up()
