"""Views of the lead API: thin, each calls one service."""

from django.db import IntegrityError, transaction
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from revops.base.idempotency import idempotent

from ..dedup.match import review_caps
from ..filtersets import LeadFilterSet
from ..models import Lead
from ..services import LeadInputError, event_record, lead_ingest
from .serializers import (
    BulkResultSerializer,
    EventInputSerializer,
    EventSerializer,
    LeadInputSchemaSerializer,
    LeadInputSerializer,
    LeadSerializer,
)

MAX_BULK_ITEMS = 1000
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="Send the same key again (same client, same endpoint, same body) to get the first answer back; "
                "nothing is written twice. Another body with the same key: 422; the first request still running: "
                "409; keys expire after LEADFLOW_IDEMPOTENCY_TTL_HOURS (docs/api.md).",
)
ERROR_RESPONSES = {
    400: OpenApiResponse(description="Field errors: {field: [messages]} (docs/api.md)"),
    409: OpenApiResponse(description="The first request with this Idempotency-Key is still running"),
    422: OpenApiResponse(description="This Idempotency-Key was used with another body"),
}


class LeadPermission(permissions.DjangoModelPermissions):
    """Reading needs view_lead, creating add_lead (the integration role has both)."""

    perms_map = {**permissions.DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}


def _errors(errors) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for error in errors:
        result.setdefault(error.field, []).append(error.reason)
    return result


class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Leads: create one (CSV column names), list with filters, read one with score, reasons and owner."""

    queryset = Lead.objects.live().select_related("owner").prefetch_related("source_records").order_by("-id")
    serializer_class = LeadSerializer
    filterset_class = LeadFilterSet
    lookup_value_regex = r"[0-9]{1,18}"  # anything else is a 404, not a database overflow
    permission_classes = [permissions.IsAuthenticated, LeadPermission]

    @extend_schema(request=LeadInputSchemaSerializer,
                   responses={201: LeadSerializer, 200: LeadSerializer, **ERROR_RESPONSES},
                   parameters=[IDEMPOTENCY_HEADER])
    @idempotent("leads.create")
    def create(self, request):
        data = LeadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():  # one request, one transaction: an error later writes nothing
            result = lead_ingest(data=data.validated_data, source=data.validated_data.get("source") or "api",
                                 user=request.user)
        if result.action == "rejected":
            return Response(_errors(result.errors), status=status.HTTP_400_BAD_REQUEST)
        body = self.get_serializer(result.lead).data
        body["action"] = result.action
        return Response(body, status=status.HTTP_201_CREATED if result.action == "created" else status.HTTP_200_OK)


class LeadBulkView(APIView):
    """Create many leads: a JSON list (at most 1000) of lead objects; one result per item, in order."""

    permission_classes = [permissions.IsAuthenticated, LeadPermission]
    queryset = Lead.objects.none()

    @extend_schema(request=LeadInputSchemaSerializer(many=True),
                   responses={200: BulkResultSerializer, **ERROR_RESPONSES}, parameters=[IDEMPOTENCY_HEADER])
    @idempotent("leads.bulk")
    def post(self, request):
        items = request.data
        if not isinstance(items, list):
            return Response({"non_field_errors": ["send a JSON list of leads"]}, status=status.HTTP_400_BAD_REQUEST)
        if len(items) > MAX_BULK_ITEMS:
            return Response({"non_field_errors": [f"at most {MAX_BULK_ITEMS} leads per request; got {len(items)}"]},
                            status=status.HTTP_400_BAD_REQUEST)
        # Every item is checked at the boundary first; then the good ones are stored, all in one transaction so an
        # unexpected failure (a 5xx, which is not stored under the Idempotency-Key) leaves nothing half-written.
        results: list[dict | None] = []
        accepted = []
        for index, item in enumerate(items):
            data = LeadInputSerializer(data=item)
            if data.is_valid():
                accepted.append((index, data.validated_data))
                results.append(None)
            else:
                results.append({"index": index, "action": "rejected", "lead_id": None, "errors": data.errors})
        skipped = 0
        _, review_budget = review_caps()
        with transaction.atomic():
            for index, values in accepted:
                result = lead_ingest(data=values, source=values.get("source") or "api", user=request.user,
                                     review_limit=review_budget)
                skipped += result.reviews_skipped
                review_budget -= result.reviews_opened
                results[index] = {"index": index, "action": result.action,
                                  "lead_id": result.lead.pk if result.lead else None, "errors": _errors(result.errors)}
        counts = {}
        for r in results:
            counts[r["action"]] = counts.get(r["action"], 0) + 1
        return Response({"counts": counts, "results": results, "review_pairs_skipped": skipped})


def _event_replayed(data, status_code):
    """A redelivered event answers 200 with ``"duplicate": true`` (README, HTTP API)."""
    if isinstance(data, dict) and status_code == 201:
        return {**data, "duplicate": True}, 200
    return data, status_code


class EventCreateView(APIView):
    """Record one engagement event. The ``Idempotency-Key`` header (or body field) makes redelivery a no-op."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=EventInputSerializer,
        responses={201: EventSerializer, 200: EventSerializer, **ERROR_RESPONSES},
        parameters=[IDEMPOTENCY_HEADER],
    )
    @idempotent("events.create", replayed=_event_replayed)
    def post(self, request):
        if not request.user.has_perm("leads.add_leadevent"):
            return Response({"detail": "you may not post events"}, status=status.HTTP_403_FORBIDDEN)
        data = EventInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        key = request.headers.get("Idempotency-Key") or values.get("idempotency_key")
        if key:
            # Event keys are stored per client: one client's key never swallows another client's event.
            key = f"{request.user.pk}:{key.strip()}"
        arguments = dict(lead_id=values.get("lead"), email=values.get("email", ""), type=values["type"],
                         occurred_at=values.get("occurred_at"), properties=values.get("properties"),
                         idempotency_key=key, source=values.get("source", "api"))
        try:
            try:
                event, created = event_record(**arguments)
            except IntegrityError:
                # The same body key stored by a concurrent delivery a moment ago: this one is its duplicate.
                event, created = event_record(**arguments)
        except LeadInputError as exc:
            return Response(_errors(exc.errors), status=status.HTTP_400_BAD_REQUEST)
        body = EventSerializer(event).data
        body["duplicate"] = not created
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
