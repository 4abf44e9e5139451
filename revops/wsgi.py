"""WSGI entry point for Leadflow."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings")
application = get_wsgi_application()
