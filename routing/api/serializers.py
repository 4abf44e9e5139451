"""Serializers of the routing API, and the lead as the API shows it with its routing explanation."""

from django.utils import timezone
from rest_framework import serializers

from leads.api.serializers import LeadSerializer
from leads.choices import Stage

from ..choices import Disposition, TaskKind
from ..models import RoutingDecision, Task
from ..priority import task_priority
from ..selectors import TASK_SORTS, routing_decision_latest


class RoutedLeadSerializer(LeadSerializer):
    routing = serializers.SerializerMethodField()

    class Meta(LeadSerializer.Meta):
        fields = LeadSerializer.Meta.fields + ["routing"]
        read_only_fields = fields

    def get_routing(self, obj) -> dict | None:
        if self.context.get("routed_later"):  # created by this request: its routing runs after the commit
            return None
        decision = routing_decision_latest(lead_id=obj.pk)
        if decision is None:
            return None
        return {
            "summary": decision.summary,
            "rule": decision.rule.name if decision.rule else None,
            "rep": str(decision.rep) if decision.rep else None,
            "queue": decision.queue,
            "decided_at": decision.created_at,
            "cause": decision.cause,
            "rules_tried": decision.explanation.get("rules", []),
            "more_rules_not_matching": decision.explanation.get("more_rules"),
            "candidates": decision.explanation.get("candidates", []),
            "strategy_state": decision.explanation.get("strategy_state"),
        }


class TaskSerializer(serializers.ModelSerializer):
    lead_name = serializers.CharField(source="lead.__str__", read_only=True)
    assignee_email = serializers.CharField(source="assignee.email", read_only=True)
    overdue = serializers.SerializerMethodField()
    priority = serializers.SerializerMethodField()
    band = serializers.CharField(source="lead.band", read_only=True)
    score = serializers.IntegerField(source="lead.score", read_only=True)

    class Meta:
        model = Task
        fields = ["id", "lead", "lead_name", "assignee", "assignee_email", "kind", "title", "due_at", "status",
                  "completed_at", "outcome_note", "overdue", "priority", "band", "score", "disposition",
                  "disposition_reason", "attempt", "snooze_count", "accepted_at", "reassign_requested_at",
                  "reassign_reason", "created_at", "updated_at"]
        read_only_fields = fields

    def get_overdue(self, obj: Task) -> bool:
        return obj.status == "open" and obj.due_at < timezone.now()

    def get_priority(self, obj: Task) -> int:
        if getattr(obj, "priority", None) is not None:
            return obj.priority
        return task_priority(score=obj.lead.score, band=obj.lead.band, due_at=obj.due_at, now=timezone.now())


class TaskCompleteSerializer(serializers.Serializer):
    disposition = serializers.ChoiceField(choices=Disposition.choices, default=Disposition.CONTACTED)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    deal_value = serializers.DecimalField(max_digits=16, decimal_places=2, required=False, allow_null=True,
                                          min_value=0, default=None)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class TaskSnoozeSerializer(serializers.Serializer):
    until = serializers.DateTimeField(required=False, allow_null=True, default=None)
    minutes = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=43200, default=None)
    preset = serializers.ChoiceField(choices=["1h", "tomorrow"], required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if not (attrs["until"] or attrs["minutes"] or attrs["preset"]):
            raise serializers.ValidationError({"until": "give until (ISO 8601), minutes or preset (1h, tomorrow)"})
        return attrs


class TaskReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class TaskQuerySerializer(serializers.Serializer):
    """The filters and sort of ``GET /api/tasks/`` (the workspace queue's)."""

    status = serializers.ChoiceField(choices=["open", "done", "cancelled", "all"], default="all")
    band = serializers.ChoiceField(choices=["A", "B", "C", "D"], required=False, default="")
    stage = serializers.ChoiceField(choices=Stage.choices, required=False, default="")
    kind = serializers.ChoiceField(choices=TaskKind.choices, required=False, default="")
    disposition = serializers.ChoiceField(choices=Disposition.choices, required=False, default="")
    overdue = serializers.BooleanField(required=False, default=False)
    reassign_requested = serializers.BooleanField(required=False, default=False)
    assignee = serializers.IntegerField(required=False, allow_null=True, default=None)
    sort = serializers.ChoiceField(choices=list(TASK_SORTS), required=False, default="priority")


class RoutingDecisionSerializer(serializers.ModelSerializer):
    """A routing decision as the feed gives it (the explanation included)."""

    class Meta:
        model = RoutingDecision
        fields = ["id", "lead", "rule", "rep", "owner", "previous_owner", "queue", "previous_queue", "strategy",
                  "summary", "explanation", "cause", "user", "created_at", "undone_at", "undone_by", "updated_at"]
        read_only_fields = fields
