"""``GET /api/people/export/?email=`` and ``POST /api/people/erase/``: privacy requests, RevOps admins only."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from revops.base.boundary import text_problem
from revops.base.privacy import email_normalized

from .access import privacy_allowed
from .erase import person_erase
from .export import person_export


class PrivacyPermission(permissions.BasePermission):
    message = "privacy requests are for RevOps admins"

    def has_permission(self, request, view) -> bool:
        return privacy_allowed(request.user)


def _email_problem(email: str) -> Response | None:
    """A 400 naming ``email`` when it is missing, too long or not valid text; None when it can be looked up."""
    problem = ("give the person's e-mail" if not email else "at most 255 characters" if len(email) > 255
               else text_problem(email))
    if problem:
        return Response({"email": [problem]}, status=status.HTTP_400_BAD_REQUEST)
    return None


class PersonExportView(APIView):
    """Everything stored about one person, found by e-mail, as JSON (tables, rows, history rows)."""

    permission_classes = [permissions.IsAuthenticated, PrivacyPermission]

    @extend_schema(parameters=[OpenApiParameter("email", str, required=True)],
                   responses={200: OpenApiResponse(description="The person's data, one section per table"),
                              400: OpenApiResponse(description="email missing")})
    def get(self, request):
        email = email_normalized(request.query_params.get("email", ""))
        return _email_problem(email) or Response(person_export(email))


class PersonEraseView(APIView):
    """Erase one person, found by e-mail: anonymised, history and notifications purged, outcomes kept; idempotent."""

    permission_classes = [permissions.IsAuthenticated, PrivacyPermission]

    class InputSerializer(serializers.Serializer):
        email = serializers.CharField(max_length=255)

    @extend_schema(request=InputSerializer,
                   responses={200: OpenApiResponse(description="erasure id, leads, rows per table, repeat, detail"),
                              400: OpenApiResponse(description="email missing")})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email = email_normalized(data.validated_data["email"])
        if refused := _email_problem(email):
            return refused
        result = person_erase(email=email, user=request.user, via="api")
        return Response({"erasure": result.record.pk, "leads": len(result.lead_ids), "counts": result.counts,
                         "repeat": result.repeat, "detail": result.message})
