"""Serializers of the lead API. Input uses the CSV column names (docs/csv.md)."""

from rest_framework import serializers

from ..models import Lead, LeadEvent
from ..normalize import INPUT_COLUMNS


class LeadInputSerializer(serializers.Serializer):
    """Any subset of the CSV columns; extra keys become custom attributes. Validation is the normalizer's."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["a lead is a JSON object of column → value"]})
        cleaned = {}
        for key, value in data.items():
            if isinstance(value, dict | list):
                raise serializers.ValidationError({key: ["must be a plain value, not an object or a list"]})
            cleaned[str(key)] = "" if value is None else value
        return cleaned


class LeadSerializer(serializers.ModelSerializer):
    owner = serializers.SerializerMethodField()
    reasons = serializers.JSONField(source="score_reasons")
    external_ids = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = [
            "id", "first_name", "last_name", "email", "phone", "phone_raw", "company", "website", "domain", "title",
            "seniority", "department", "country", "state", "city", "postal_code", "industry", "employees",
            "size_band", "annual_revenue", "source", "external_ids", "campaign", "utm_source", "utm_medium",
            "utm_campaign", "consent", "outcome", "deal_value", "custom", "flags", "data_quality",
            "enrichment_status", "score", "fit_score", "engagement_score", "predicted_probability", "band", "stage",
            "reasons", "owner", "queue", "queue_reason", "assigned_at", "merged_into", "last_interaction_at",
            "created_at", "updated_at",
        ]
        read_only_fields = fields

    def get_owner(self, obj: Lead) -> dict | None:
        if obj.owner_id is None:
            return None
        return {"id": obj.owner_id, "email": obj.owner.email, "name": obj.owner.get_full_name()}

    def get_external_ids(self, obj: Lead) -> list[str]:
        return [f"{r.source}:{r.external_id}" for r in obj.source_records.all()]


class EventInputSerializer(serializers.Serializer):
    lead = serializers.IntegerField(required=False, min_value=1)
    email = serializers.CharField(required=False, max_length=255)
    type = serializers.CharField(max_length=50)
    occurred_at = serializers.DateTimeField(required=False)
    properties = serializers.DictField(required=False, default=dict)
    idempotency_key = serializers.CharField(required=False, max_length=200)
    source = serializers.CharField(required=False, max_length=100, default="api")

    def validate(self, attrs):
        if not attrs.get("lead") and not attrs.get("email"):
            raise serializers.ValidationError({"lead": ["give the lead id or its e-mail"]})
        return attrs


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadEvent
        fields = ["id", "lead", "type", "occurred_at", "properties", "idempotency_key", "source", "created_at"]
        read_only_fields = fields


CSV_COLUMNS_HELP = ", ".join(INPUT_COLUMNS)
