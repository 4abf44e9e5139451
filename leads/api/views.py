"""Views of the lead API: thin, each calls one service."""

import json

from django.db import IntegrityError, transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from revops.base.models import ApiIdempotencyKey

from ..filtersets import LeadFilterSet
from ..models import Lead
from ..services import LeadInputError, event_record, lead_ingest
from .serializers import EventInputSerializer, EventSerializer, LeadInputSerializer, LeadSerializer

MAX_BULK_ITEMS = 1000
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="Send the same key again (same user, same endpoint) to get the first answer back; nothing is "
                "written twice.",
)


def idempotent(endpoint: str):
    """Replay the stored answer when the caller repeats an ``Idempotency-Key``; store the first answer.

    Keys are scoped to the user and the endpoint. A request whose first attempt is still running gets 409.
    """

    def decorator(handler):
        def wrapper(self, request, *args, **kwargs):
            key = (request.headers.get("Idempotency-Key") or "").strip()[:200]
            if not key:
                return handler(self, request, *args, **kwargs)
            stored = ApiIdempotencyKey.objects.filter(user=request.user, endpoint=endpoint, key=key).first()
            if stored is not None:
                response = Response(stored.response, status=stored.status_code)
                response["Idempotent-Replayed"] = "true"
                return response
            response = handler(self, request, *args, **kwargs)
            if response.status_code < 500:
                try:
                    with transaction.atomic():
                        ApiIdempotencyKey.objects.create(
                            user=request.user, endpoint=endpoint, key=key, status_code=response.status_code,
                            response=json.loads(JSONRenderer().render(response.data)))
                except IntegrityError:
                    pass  # a concurrent duplicate stored it first; both answers describe the same lead
            return response

        wrapper.__name__ = handler.__name__
        wrapper.__doc__ = handler.__doc__
        return wrapper

    return decorator


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
    permission_classes = [permissions.IsAuthenticated, LeadPermission]

    @extend_schema(request=LeadInputSerializer, responses={201: LeadSerializer, 200: LeadSerializer},
                   parameters=[IDEMPOTENCY_HEADER])
    @idempotent("leads.create")
    def create(self, request):
        data = LeadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
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

    @extend_schema(request=LeadInputSerializer(many=True), responses={200: dict}, parameters=[IDEMPOTENCY_HEADER])
    @idempotent("leads.bulk")
    def post(self, request):
        items = request.data
        if not isinstance(items, list):
            return Response({"non_field_errors": ["send a JSON list of leads"]}, status=status.HTTP_400_BAD_REQUEST)
        if len(items) > MAX_BULK_ITEMS:
            return Response({"non_field_errors": [f"at most {MAX_BULK_ITEMS} leads per request; got {len(items)}"]},
                            status=status.HTTP_400_BAD_REQUEST)
        results = []
        for index, item in enumerate(items):
            data = LeadInputSerializer(data=item)
            if not data.is_valid():
                results.append({"index": index, "action": "rejected", "errors": data.errors})
                continue
            result = lead_ingest(data=data.validated_data, source=data.validated_data.get("source") or "api",
                                 user=request.user)
            results.append({"index": index, "action": result.action, "lead_id": result.lead.pk if result.lead else None,
                            "errors": _errors(result.errors)})
        counts = {}
        for r in results:
            counts[r["action"]] = counts.get(r["action"], 0) + 1
        return Response({"counts": counts, "results": results})


class EventCreateView(APIView):
    """Record one engagement event. The ``Idempotency-Key`` header (or body field) makes redelivery a no-op."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=EventInputSerializer,
        responses={201: EventSerializer, 200: EventSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
    )
    def post(self, request):
        if not request.user.has_perm("leads.add_leadevent"):
            return Response({"detail": "you may not post events"}, status=status.HTTP_403_FORBIDDEN)
        data = EventInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        key = request.headers.get("Idempotency-Key") or values.get("idempotency_key")
        try:
            event, created = event_record(
                lead_id=values.get("lead"), email=values.get("email", ""), type=values["type"],
                occurred_at=values.get("occurred_at"), properties=values.get("properties"), idempotency_key=key,
                source=values.get("source", "api"),
            )
        except LeadInputError as exc:
            return Response(_errors(exc.errors), status=status.HTTP_400_BAD_REQUEST)
        body = EventSerializer(event).data
        body["duplicate"] = not created
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
