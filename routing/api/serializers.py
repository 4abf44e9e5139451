"""Serializers of the routing API, and the lead as the API shows it with its routing explanation."""

from django.utils import timezone
from rest_framework import serializers

from leads.api.serializers import LeadSerializer

from ..models import Task
from ..selectors import routing_decision_latest


class RoutedLeadSerializer(LeadSerializer):
    routing = serializers.SerializerMethodField()

    class Meta(LeadSerializer.Meta):
        fields = LeadSerializer.Meta.fields + ["routing"]
        read_only_fields = fields

    def get_routing(self, obj) -> dict | None:
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

    class Meta:
        model = Task
        fields = ["id", "lead", "lead_name", "assignee", "assignee_email", "kind", "title", "due_at", "status",
                  "completed_at", "outcome_note", "overdue", "created_at"]
        read_only_fields = fields

    def get_overdue(self, obj: Task) -> bool:
        return obj.status == "open" and obj.due_at < timezone.now()


class TaskCompleteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
