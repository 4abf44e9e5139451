"""Views of the routing API."""

from django.core.exceptions import ValidationError
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.api.views import FEED_PARAMETERS, LeadViewSet, feed_page_serializer, list_or_feed_page_serializer
from leads.filtersets import MAX_ID
from revops.base.feed import feed_requested, feed_response
from revops.base.roles import may_list, may_read_one

from ..models import Task
from ..scoping import decisions_visible_to, leads_visible_to, reps_visible_to, tasks_visible_to
from ..selectors import TaskQuery, task_list_for, task_queue
from ..services import (
    TaskActionRefused,
    leads_reassign,
    routing_decisions_undo,
    task_accept,
    task_complete,
    task_reassign_request,
    task_snooze,
)
from .serializers import (
    RoutedLeadSerializer,
    RoutingDecisionSerializer,
    TaskCompleteSerializer,
    TaskQuerySerializer,
    TaskReasonSerializer,
    TaskSerializer,
    TaskSnoozeSerializer,
)


class RoutedLeadViewSet(LeadViewSet):
    """Leads with the routing explanation ("why this owner")."""

    serializer_class = RoutedLeadSerializer

    @extend_schema(parameters=FEED_PARAMETERS,
                   responses={200: list_or_feed_page_serializer("RoutedLeadPage", RoutedLeadSerializer)})
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


def _refusal(exc: ValidationError) -> Response:
    """A service's refusal as a 400 naming the field."""
    body = exc.message_dict if hasattr(exc, "error_dict") else {"detail": " ".join(exc.messages)}
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


class ListsOrReadsOne(permissions.BasePermission):
    """A list (and the feed): a role that lists (not an Integration); one object or an action on it: any role but
    the Data reader. Which objects: the scoping functions of ``routing/scoping.py``."""

    def has_permission(self, request, view) -> bool:
        if getattr(view, "action", None) == "list":
            return may_list(request.user)
        return may_read_one(request.user)


class MayList(permissions.BasePermission):
    """A list (the feed): any role but the Integration."""

    def has_permission(self, request, view) -> bool:
        return may_list(request.user)


class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's tasks (a manager: the team's), with the queue's filters and sort, and the actions on a task."""

    serializer_class = TaskSerializer
    permission_classes = [permissions.IsAuthenticated, ListsOrReadsOne]
    lookup_value_regex = r"[0-9]{1,18}"  # anything else is a 404, not a database overflow
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Task.objects.none()
        if self.action != "list":
            return task_list_for(user=self.request.user)
        if feed_requested(self.request):  # the warehouse feed: every status, by (updated_at, id)
            return tasks_visible_to(self.request.user, Task.objects.select_related("lead", "assignee"))
        data = TaskQuerySerializer(data=self.request.query_params)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if values["status"] == "all":
            values["status"] = ""
        return task_queue(user=self.request.user, query=TaskQuery(**values), now=timezone.now())

    @extend_schema(parameters=[TaskQuerySerializer, *FEED_PARAMETERS],
                   responses={200: list_or_feed_page_serializer("TaskPage", TaskSerializer)})
    def list(self, request, *args, **kwargs):
        if feed_requested(request):
            return feed_response(request, self.get_queryset(), field="updated_at", serializer_class=TaskSerializer)
        return super().list(request, *args, **kwargs)

    # The actions take **kwargs: a format suffix (``/api/tasks/1/accept.json``) passes ``format`` to them.
    def _act(self, call) -> Response:
        try:
            task = call()
        except TaskActionRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        except ValidationError as exc:
            return _refusal(exc)
        return Response(TaskSerializer(task).data, status=status.HTTP_200_OK)

    @extend_schema(request=TaskCompleteSerializer, responses={200: TaskSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None, **kwargs):
        task = self.get_object()
        data = TaskCompleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._act(lambda: task_complete(task_id=task.pk, actor=request.user, **data.validated_data).task)

    @extend_schema(request=TaskSnoozeSerializer, responses={200: TaskSerializer})
    @action(detail=True, methods=["post"])
    def snooze(self, request, pk=None, **kwargs):
        task = self.get_object()
        data = TaskSnoozeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._act(lambda: task_snooze(task_id=task.pk, actor=request.user, **data.validated_data))

    @extend_schema(request=TaskReasonSerializer, responses={200: TaskSerializer})
    @action(detail=True, methods=["post"], url_path="reassign-request")
    def reassign_request(self, request, pk=None, **kwargs):
        task = self.get_object()
        data = TaskReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._act(lambda: task_reassign_request(task_id=task.pk, actor=request.user,
                                                       reason=data.validated_data["reason"]))

    @extend_schema(request=None, responses={200: TaskSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None, **kwargs):
        task = self.get_object()
        return self._act(lambda: task_accept(task_id=task.pk, actor=request.user))


class CanChangeLeads(permissions.BasePermission):
    """Moving leads between owners needs the right to change leads (RevOps admins and sales managers)."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perm("leads.change_lead"))


class LeadReassignView(APIView):
    """Give leads to one rep, with a reason: one routing decision per lead, open tasks move with them."""

    permission_classes = [permissions.IsAuthenticated, CanChangeLeads]

    class ReassignInputSerializer(serializers.Serializer):
        lead_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), min_length=1,
                                         max_length=1000)
        rep = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The rep's id.")
        reason = serializers.CharField(max_length=300)

    class ReassignOutputSerializer(serializers.Serializer):
        reassigned = serializers.IntegerField()
        decisions = serializers.ListField(child=serializers.IntegerField())
        skipped = serializers.ListField(child=serializers.CharField())
        warnings = serializers.ListField(child=serializers.CharField())

    @extend_schema(request=ReassignInputSerializer, responses={
        200: ReassignOutputSerializer, 404: OpenApiResponse(description="A lead the caller may not see: {lead_ids}")})
    def post(self, request):
        data = self.ReassignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # Reading and writing share the scope (routing/scoping.py): a lead or rep outside it does not exist here.
        wanted = set(data.validated_data["lead_ids"])
        unseen = wanted - set(leads_visible_to(request.user).filter(pk__in=wanted).values_list("pk", flat=True))
        if unseen:
            return Response({"lead_ids": [f"no such lead: {', '.join(map(str, sorted(unseen)))}"]},
                            status=status.HTTP_404_NOT_FOUND)
        if not reps_visible_to(request.user).filter(pk=data.validated_data["rep"]).exists():
            return Response({"rep": ["no such rep"]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            result = leads_reassign(lead_ids=data.validated_data["lead_ids"], rep_id=data.validated_data["rep"],
                                    reason=data.validated_data["reason"], user=request.user)
        except ValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(self.ReassignOutputSerializer({"reassigned": result.reassigned, "decisions": result.decisions,
                                               "skipped": result.skipped, "warnings": result.warnings}).data)


class RoutingUndoView(APIView):
    """Undo routing changes: previous owners and queues come back; decisions are marked undone."""

    permission_classes = [permissions.IsAuthenticated, CanChangeLeads]

    class UndoInputSerializer(serializers.Serializer):
        decision_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
                                             min_length=1, max_length=1000)

    class UndoOutputSerializer(serializers.Serializer):
        undone = serializers.ListField(child=serializers.IntegerField())
        skipped = serializers.ListField(child=serializers.CharField())

    @extend_schema(request=UndoInputSerializer, responses={
        200: UndoOutputSerializer, 404: OpenApiResponse(description="A decision the caller may not see")})
    def post(self, request):
        data = self.UndoInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        wanted = set(data.validated_data["decision_ids"])
        unseen = wanted - set(decisions_visible_to(request.user).filter(pk__in=wanted).values_list("pk", flat=True))
        if unseen:
            return Response({"decision_ids": [f"no such decision: {', '.join(map(str, sorted(unseen)))}"]},
                            status=status.HTTP_404_NOT_FOUND)
        result = routing_decisions_undo(decision_ids=data.validated_data["decision_ids"], user=request.user)
        return Response(self.UndoOutputSerializer({"undone": result.undone, "skipped": result.skipped}).data)


class RoutingDecisionFeedView(APIView):
    """``GET /api/routing/decisions/``: the routing decisions feed, by (updated_at, id) — a decision changes once,
    when it is undone. Read-only; the decisions of the leads the caller sees."""

    permission_classes = [permissions.IsAuthenticated, MayList]

    @extend_schema(parameters=[*FEED_PARAMETERS, OpenApiParameter("limit", int, required=False)],
                   responses={200: feed_page_serializer("RoutingDecisionFeedPage", RoutingDecisionSerializer)})
    def get(self, request):
        return feed_response(request, decisions_visible_to(request.user), field="updated_at",
                             serializer_class=RoutingDecisionSerializer)
