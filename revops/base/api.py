"""What every endpoint under ``/api/`` shares: JSON errors in one format, the body parser, pagination, throttles.

The error format (docs/api.md): every answer of 400 or more under ``/api/`` is a JSON object. Field errors are
``{"<field>": ["message", ...]}`` (``non_field_errors`` for the request as a whole); every other error is
``{"detail": "message", "code": "machine_readable_code"}``. That holds for DRF's own errors, for Django's 404 and 405
outside DRF, for a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413) and for an unexpected exception (500, logged).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from rest_framework.views import exception_handler

logger = logging.getLogger("leadflow.api")

API_PREFIX = "/api/"
# The largest integer a query parameter may carry (the databases' bigint).
MAX_QUERY_INT = 2**63 - 1

_CODES = {400: "bad_request", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
          405: "method_not_allowed", 406: "not_acceptable", 413: "request_too_large", 415: "unsupported_media_type",
          429: "throttled", 500: "server_error"}


def error_body(status: int, detail: str, code: str = "") -> dict:
    """The body of a request-level error."""
    return {"detail": detail, "code": code or _CODES.get(status, "error")}


def api_exception_handler(exc, context):
    """DRF's handler, plus 413 for a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` and a ``code`` beside ``detail``."""
    if isinstance(exc, RequestDataTooBig):
        return JsonResponse(error_body(413, "the request body is too large"), status=413)
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and set(response.data) == {"detail"}:
        detail = response.data["detail"]
        response.data = error_body(response.status_code, str(detail), getattr(detail, "code", ""))
    return response


class ApiJsonErrorsMiddleware:
    """Under ``/api/``: a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused with 413 before it is read, and Django's
    own HTML errors (an unknown path, a method outside DRF, an unexpected exception) become JSON errors."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        cap = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if cap is not None and length > cap:
            return JsonResponse(error_body(413, f"the request body is larger than {cap} bytes"), status=413)
        response = self.get_response(request)
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith(
            ("application/json", "application/vnd.oai.openapi", "text/csv")
        ):
            status = response.status_code
            reason = response.reason_phrase or "error"
            json_response = JsonResponse(error_body(status, reason.lower()), status=status)
            for header in ("Allow", "Retry-After"):
                if response.has_header(header):
                    json_response[header] = response[header]
            return json_response
        return response

    def process_exception(self, request, exception):
        if not request.path.startswith(API_PREFIX):
            return None
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse(error_body(413, "the request body is too large"), status=413)
        logger.exception("unexpected error on %s %s", request.method, request.path)
        return JsonResponse(error_body(500, "unexpected server error; it has been logged"), status=500)


ERROR_SCHEMA = {
    "type": "object",
    "description": "An API error (docs/api.md): {\"detail\": message, \"code\": code} for the request as a whole, "
                   "or {field: [messages]} for field errors.",
    "additionalProperties": True,
}


def schema_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: document the errors every operation can answer, in one format.

    401/403 (not signed in, not allowed), 429 (throttled) everywhere; 400 where there is input (a body or query
    parameters); 404 where the path names an object; 413 and 415 where there is a body.
    """
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    descriptions = {400: "Invalid input: field errors", 401: "Not signed in", 403: "Not allowed",
                    404: "No such object", 413: "Request body too large", 415: "Body not JSON (or a form)",
                    429: "Too many requests"}
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = [401, 403, 429]
            if "requestBody" in operation or operation.get("parameters"):
                codes.append(400)
            if "{" in path:
                codes.append(404)
            if "requestBody" in operation:
                codes += [413, 415]
            for code in codes:
                entry = operation["responses"].setdefault(str(code), {"description": descriptions[code]})
                entry.setdefault("content", {"application/json": {"schema": ref}})
    return result
