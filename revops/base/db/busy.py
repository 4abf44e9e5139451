"""SQLite under saturation: a web request waits a short while for the write lock, then answers 503 with Retry-After.

SQLite has one writer at a time. The workers wait up to ``LEADFLOW_SQLITE_BUSY_TIMEOUT`` seconds for the write lock
(their work is worth the wait, and a lock error is retried); a web request waits only
``LEADFLOW_SQLITE_WEB_BUSY_TIMEOUT`` seconds and then answers **503** with ``Retry-After``
(``LEADFLOW_BUSY_RETRY_AFTER``) — in the API's JSON error format under ``/api/`` — instead of a 500 "database is
locked" after a long wait. The transaction rolls back: nothing is half-written, and the client's retry (with its
``Idempotency-Key``) is safe. PostgreSQL has no such lock; the middleware does nothing there.
"""

from __future__ import annotations

from django.conf import settings
from django.db import OperationalError, connection
from django.http import HttpResponse, JsonResponse

from .webfirst import web_writes

BUSY_CODE = "database_busy"
BUSY_DETAIL = "the database is busy; retry after a moment"


def database_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's "database is locked" (the write lock was not free within the busy timeout)."""
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)


def busy_response(*, api: bool) -> HttpResponse:
    """503 with Retry-After: the API's JSON error (``{"detail", "code": "database_busy"}``) or a short text."""
    if api:
        response = JsonResponse({"detail": BUSY_DETAIL, "code": BUSY_CODE}, status=503)
    else:
        response = HttpResponse(BUSY_DETAIL.capitalize() + ".", status=503, content_type="text/plain")
    response["Retry-After"] = str(settings.LEADFLOW_BUSY_RETRY_AFTER)
    return response


def sqlite_busy_timeout_set(seconds: float) -> None:
    """Set the busy timeout of this thread's SQLite connection (opening it when needed); nothing on PostgreSQL."""
    if connection.vendor != "sqlite":
        return
    connection.ensure_connection()
    connection.connection.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")


class SqliteWebBusyMiddleware:
    """Web requests wait ``LEADFLOW_SQLITE_WEB_BUSY_TIMEOUT`` for SQLite's write lock, ahead of the workers' next
    transaction (``web_writes``); a lock not had answers 503."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.sqlite = connection.vendor == "sqlite"

    def __call__(self, request):
        if not self.sqlite:
            return self.get_response(request)
        sqlite_busy_timeout_set(settings.LEADFLOW_SQLITE_WEB_BUSY_TIMEOUT)
        try:
            with web_writes():  # the workers let this request's writes go first (revops/base/db/webfirst.py)
                return self.get_response(request)
        finally:  # a connection kept open (CONN_MAX_AGE, a thread that also runs jobs) gets the longer wait back
            if connection.connection is not None:
                sqlite_busy_timeout_set(settings.LEADFLOW_SQLITE_BUSY_TIMEOUT)

    def process_exception(self, request, exception):
        if database_busy(exception):
            return busy_response(api=request.path.startswith("/api/"))
        return None
