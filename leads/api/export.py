"""``GET /api/leads/export/``: the lead CSV (docs/csv.md), streamed, with the filters of ``GET /api/leads/``."""

from __future__ import annotations

import csv
import io

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions
from rest_framework.renderers import BaseRenderer, JSONRenderer

from revops.base.apiclasses import BoundedFilterBackend
from revops.base.roles import may_export
from revops.base.scoping import scoped

from ..csv import leads_csv_response
from ..filtersets import LeadFilterSet
from ..models import Lead


class CSVRenderer(BaseRenderer):
    """Lets a client ask for ``Accept: text/csv``; error bodies (400, 403) come out as two-column CSV."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        out = io.StringIO()
        writer = csv.writer(out)
        items = data.items() if isinstance(data, dict) else [("detail", data)]
        writer.writerow(["field", "error"])
        for key, value in items:
            writer.writerow([key, "; ".join(map(str, value)) if isinstance(value, list) else str(value)])
        return out.getvalue().encode(self.charset)


class MayExport(permissions.BasePermission):
    """RevOps admins and managers (their teams' leads); never an Integration, a rep or a Data reader."""

    def has_permission(self, request, view) -> bool:
        return may_export(request.user)


class LeadExportView(generics.GenericAPIView):
    """Every live lead matching the filters that the caller may see, as CSV (the columns of docs/csv.md), streamed.

    RevOps admins and managers (``revops.base.roles.may_export``). Invalid filter values are a 400 with the field
    errors.
    """

    queryset = Lead.objects.live()
    filterset_class = LeadFilterSet
    filter_backends = [BoundedFilterBackend]
    strict_query_params = True  # an unknown parameter is a 400 naming it
    permission_classes = [permissions.IsAuthenticated, MayExport]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Lead.objects.none()
        return scoped(Lead.objects.live(), self.request.user)
    renderer_classes = [JSONRenderer, CSVRenderer]
    pagination_class = None

    def perform_content_negotiation(self, request, force=False):
        # The answer is always the CSV (errors as JSON): a ``?format=`` or Accept header naming no renderer is not a
        # 404 here, as DRF's negotiation would make it.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(filters=True, responses={(200, "text/csv"): OpenApiTypes.STR},
                   description="The lead CSV (docs/csv.md), streamed; the same filters as GET /api/leads/.")
    def get(self, request, *args, **kwargs):
        return leads_csv_response(self.filter_queryset(self.get_queryset()))
