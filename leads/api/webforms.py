"""``POST /api/forms/<form_key>/submit``: a website form's public intake (no user token: the form key names it).

CORS is answered by django-cors-headers for the form's own allowed origins (``leads.receivers``
``cors_allow_webform_origin``); here: per-IP and per-form rate limits, the honeypot (answered like a success,
nothing stored), the same input boundary as ``POST /api/leads/``, and field errors as JSON (docs/api.md).
JSON and form-encoded bodies are both accepted; a plain form post goes on to the form's ``success_url``.
"""

from django.conf import settings
from django.http import HttpResponseRedirect
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status, throttling
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from ..selectors import webform_active_get
from ..services import webform_honeypot_filled, webform_map, webform_submit
from .serializers import LeadInputSchemaSerializer, LeadInputSerializer

RECEIVED = {"status": "received"}


class WebFormIpThrottle(throttling.SimpleRateThrottle):
    """Submissions per visitor IP address, any form: ``LEADFLOW_WEBFORM_RATE_IP``."""

    scope = "webform_ip"

    def get_rate(self):
        return getattr(settings, "LEADFLOW_WEBFORM_RATE_IP", "10/minute") or None

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class WebFormThrottle(throttling.SimpleRateThrottle):
    """Submissions per form, every visitor together: ``LEADFLOW_WEBFORM_RATE_FORM``."""

    scope = "webform"

    def get_rate(self):
        return getattr(settings, "LEADFLOW_WEBFORM_RATE_FORM", "300/minute") or None

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": str(view.kwargs.get("form_key", ""))[:64]}


class WebFormReceivedSerializer(serializers.Serializer):
    status = serializers.CharField()


def _page_names(form, errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Errors named by the page's own field names (a renamed column is reported under the name the page uses)."""
    by_column = {column: name for name, column in form.mapping().items() if name != column}
    result: dict[str, list[str]] = {}
    for name, messages in errors.items():
        result.setdefault(by_column.get(name, name), []).extend(messages)
    return result


def _plain_form_post(request) -> bool:
    """A form posted by the browser itself (no script): it expects a page, not JSON."""
    return (request.content_type or "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")) \
        and "application/json" not in request.headers.get("Accept", "")


class WebFormSubmitView(APIView):
    """A website form's submission: the lead columns the form maps, ``consent`` (yes/no), the hidden honeypot."""

    authentication_classes: list = []  # public: no user, no session, so no CSRF token either
    permission_classes = [permissions.AllowAny]
    throttle_classes = [WebFormIpThrottle, WebFormThrottle]

    @extend_schema(request=LeadInputSchemaSerializer, auth=[],
                   responses={201: WebFormReceivedSerializer,
                              400: OpenApiResponse(description="Field errors: {field: [messages]} (docs/api.md)"),
                              404: OpenApiResponse(description="No active form with this key")})
    def post(self, request, form_key: str):
        form = webform_active_get(key=form_key)
        if form is None:
            raise NotFound("no active form with this key")
        payload = request.data
        if not hasattr(payload, "get"):
            return Response({"non_field_errors": ["send a JSON object or a form"]}, status=status.HTTP_400_BAD_REQUEST)
        if hasattr(payload, "dict"):  # a QueryDict (form-encoded): one value per field
            payload = payload.dict()
        if webform_honeypot_filled(form, payload):
            return Response(RECEIVED, status=status.HTTP_201_CREATED)  # a bot learns nothing
        mapped = webform_map(form, payload)
        checked = LeadInputSerializer(data=mapped.values)
        errors = dict(mapped.errors)
        if not checked.is_valid():
            for name, messages in checked.errors.items():
                errors.setdefault(name, []).extend(str(m) for m in messages)
        if errors:
            return Response(_page_names(form, errors), status=status.HTTP_400_BAD_REQUEST)
        result = webform_submit(form=form, values=checked.validated_data, consent_given=mapped.consent_given,
                                origin=request.headers.get("Origin", ""))
        if result.action == "rejected":
            errors = {}
            for error in result.errors:
                errors.setdefault(error.field, []).append(error.reason)
            return Response(_page_names(form, errors), status=status.HTTP_400_BAD_REQUEST)
        if form.success_url and _plain_form_post(request):
            return HttpResponseRedirect(form.success_url, status=303)
        return Response(RECEIVED, status=status.HTTP_201_CREATED)
