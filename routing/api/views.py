"""Views of the routing API."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from leads.api.views import LeadViewSet

from ..selectors import task_list_for
from ..services import task_complete
from .serializers import RoutedLeadSerializer, TaskCompleteSerializer, TaskSerializer


class RoutedLeadViewSet(LeadViewSet):
    """Leads with the routing explanation ("why this owner")."""

    serializer_class = RoutedLeadSerializer


class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's tasks (a manager: the team's)."""

    serializer_class = TaskSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_fields = ["status", "kind"]

    def get_queryset(self):
        return task_list_for(user=self.request.user)

    @extend_schema(request=TaskCompleteSerializer, responses={200: TaskSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        task = self.get_object()
        data = TaskCompleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = task_complete(task_id=task.pk, user=request.user, note=data.validated_data["note"])
        return Response(TaskSerializer(task).data, status=status.HTTP_200_OK)
