"""Business logic of the routing layer that reads."""

from django.db.models import Q, QuerySet

from .models import RoutingDecision, Task


def task_list_for(*, user) -> QuerySet[Task]:
    """The tasks a user may see: their own; a manager also their teams' reps'; a superuser everyone's."""
    queryset = Task.objects.select_related("lead", "assignee").order_by("status", "due_at", "id")
    if user.is_superuser:
        return queryset
    return queryset.filter(Q(assignee=user) | Q(assignee__rep__team__manager=user)).distinct()


def routing_decision_latest(*, lead_id: int) -> RoutingDecision | None:
    return RoutingDecision.objects.filter(lead_id=lead_id).select_related("rule", "rep__user").order_by(
        "-created_at", "-id"
    ).first()
