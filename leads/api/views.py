"""Views of the lead API: thin, each calls one service."""

from django.db import IntegrityError, transaction
from drf_spectacular.drainage import set_override
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, mixins, permissions, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from revops.base.feed import FEED_PARAMETERS as FEED_QUERY_PARAMETERS
from revops.base.feed import feed_requested, feed_response
from revops.base.idempotency import idempotent
from revops.base.jobs import jobs_run_inline
from revops.base.roles import may_list, may_read_one
from revops.base.scoping import scoped

from ..dedup.match import review_caps
from ..filtersets import LeadFilterSet
from ..models import Lead, LeadEvent
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


FEED_PARAMETERS = [
    OpenApiParameter("updated_since", OpenApiTypes.DATETIME, required=False,
                     description="The warehouse feed: rows changed at or after this ISO 8601 time, ordered by "
                                 "(time, id), with a `cursor` to ask again (README, Syncing a warehouse)."),
    OpenApiParameter("cursor", str, required=False,
                     description="The `cursor` of the previous feed page: the rows after it, none missed or repeated."),
]


def feed_page_serializer(name: str, item):
    """The schema of a feed page: results, the cursor after the last row, the next page's URL when more wait."""
    return inline_serializer(name, {"results": item(many=True), "cursor": serializers.CharField(),
                                    "next": serializers.URLField(allow_null=True)})


def list_or_feed_page_serializer(name: str, item):
    """A list endpoint's page: ``count``, ``next``, ``previous``, ``results`` (limit/offset), or with
    ``updated_since`` / ``cursor`` the feed's ``results``, ``cursor``, ``next``."""
    page = inline_serializer(name, {
        "count": serializers.IntegerField(required=False, help_text="Limit/offset pages only."),
        "next": serializers.URLField(allow_null=True, required=False),
        "previous": serializers.URLField(allow_null=True, required=False, help_text="Limit/offset pages only."),
        "cursor": serializers.CharField(required=False, help_text="Feed pages only: keep it to ask again."),
        "results": item(many=True, required=False)})
    set_override(page, "many", False)  # the page itself: not wrapped once more as a paginated list
    return page


class LeadPermission(permissions.BasePermission):
    """Creating needs ``add_lead``; listing a role that lists (not an Integration); reading one by id any role but the
    Data reader. Which leads: ``revops.base.scoping.scoped`` (``routing/scoping.py``)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if request.method == "POST":
            return user.has_perm("leads.add_lead")
        if request.method in permissions.SAFE_METHODS:
            return may_list(user) if getattr(view, "action", "list") == "list" else may_read_one(user)
        return False


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
    strict_query_params = True  # an unknown parameter is a 400 naming it (revops.base.apiclasses)
    extra_query_params = FEED_QUERY_PARAMETERS
    lookup_value_regex = r"[0-9]{1,18}"  # anything else is a 404, not a database overflow
    permission_classes = [permissions.IsAuthenticated, LeadPermission]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Lead.objects.none()
        queryset = self.queryset
        if self.action == "list" and feed_requested(self.request):
            # The feed carries merged leads too: their merged_into tells the warehouse where they went.
            queryset = Lead.objects.select_related("owner").prefetch_related("source_records")
        return scoped(queryset.all(), self.request.user)

    @extend_schema(parameters=FEED_PARAMETERS,
                   responses={200: list_or_feed_page_serializer("LeadPage", LeadSerializer)})
    def list(self, request, *args, **kwargs):
        if feed_requested(request):
            return feed_response(request, self.filter_queryset(self.get_queryset()), field="updated_at",
                                 serializer_class=self.get_serializer_class(),
                                 context=self.get_serializer_context())
        return super().list(request, *args, **kwargs)

    @extend_schema(request=LeadInputSchemaSerializer,
                   responses={201: LeadSerializer, 200: LeadSerializer, **ERROR_RESPONSES},
                   parameters=[IDEMPOTENCY_HEADER])
    @idempotent("leads.create")
    def create(self, request, *args, **kwargs):  # kwargs: a format suffix (/api/leads.json) passes ``format``
        data = LeadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # One transaction, lead_ingest's own: the record is normalized and checked before it begins (on SQLite the
        # BEGIN takes the one write lock), and nothing after it writes.
        result = lead_ingest(data=data.validated_data, source=data.validated_data.get("source") or "api",
                             user=request.user)
        if result.action == "rejected":
            return Response(_errors(result.errors), status=status.HTTP_400_BAD_REQUEST)
        serializer = self.get_serializer(result.lead)
        # A lead created by this request is routed after its commit, by a worker: nothing to look up yet.
        serializer.context["routed_later"] = result.action == "created" and not jobs_run_inline()
        serializer.context["external_ids"] = result.external_ids
        body = serializer.data
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

    @extend_schema(parameters=[*FEED_PARAMETERS, OpenApiParameter("limit", int, required=False)],
                   responses={200: feed_page_serializer("EventFeedPage", EventSerializer)}, operation_id="events_list",
                   description="The events feed, oldest first by (created_at, id); without updated_since or cursor "
                               "from the first event. Not for Integration accounts.")
    def get(self, request):
        if not may_list(request.user):
            return Response({"detail": "you may not list events", "code": "permission_denied"},
                            status=status.HTTP_403_FORBIDDEN)
        events = scoped(LeadEvent.objects.all(), request.user)
        return feed_response(request, events, field="created_at", serializer_class=EventSerializer)

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


class EventDetailPermission(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return may_read_one(request.user)


class EventDetailView(generics.RetrieveAPIView):
    """One event by id (an Integration reads back the events it recorded; ``routing/scoping.py``)."""

    serializer_class = EventSerializer
    permission_classes = [permissions.IsAuthenticated, EventDetailPermission]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LeadEvent.objects.none()
        return scoped(LeadEvent.objects.all(), self.request.user)
