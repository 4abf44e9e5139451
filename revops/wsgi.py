"""WSGI entry point for Leadflow: the application, loaded before the process takes its first request."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings")
application = get_wsgi_application()


def warm_up() -> None:
    """Load now what the first request would otherwise load: every URL's view module, and the country names
    (pycountry's names in every language it ships, built into one table on first use: about 0.7 s). Without it the
    first lead a web process took after a start answered in 0.65 s, the next in 6 ms (docs/benchmarks.md)."""
    from django.urls import get_resolver

    from leads.normalize import normalize_country

    get_resolver().url_patterns  # noqa: B018 - the attribute's loading is the point
    normalize_country("United States")


warm_up()
