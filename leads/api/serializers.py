"""Serializers of the lead API. Input uses the CSV column names (docs/csv.md)."""

from rest_framework import serializers

from revops.base.api_fields import FieldsBuiltOnce, InputFieldsBoundOnce
from revops.base.boundary import BoundaryError, attributes_check, json_clean, key_clean, text_clean

from ..choices import Band
from ..filtersets import MAX_ID
from ..models import Lead, LeadEvent
from ..normalize import INPUT_COLUMNS

INPUT_COLUMN_SET = frozenset(INPUT_COLUMNS)


def _boundary(value, *, field: str, max_length: int | None = None) -> str:
    """A text value through the input boundary (revops/base/boundary.py), as a DRF field error."""
    try:
        return text_clean(value, field=field, max_length=max_length)
    except BoundaryError as exc:
        raise serializers.ValidationError(exc.reason) from exc


class LeadInputSerializer(serializers.Serializer):
    """Any subset of the CSV columns; extra keys become custom attributes. Validation is the normalizer's, after the
    input boundary: no NUL or lone surrogate anywhere (keys included), bounded lengths and custom-attribute count."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["a lead is a JSON object of column → value"]})
        cleaned, errors = {}, {}
        for key, value in data.items():
            try:
                name = key_clean(key)
            except BoundaryError as exc:
                errors[exc.field] = [exc.reason]
                continue
            if isinstance(value, dict | list):
                errors[name] = ["must be a plain value, not an object or a list"]
                continue
            if isinstance(value, str):
                try:
                    value = text_clean(value, field=name)
                except BoundaryError as exc:
                    errors[name] = [exc.reason]
                    continue
            cleaned[name] = "" if value is None else value
        try:
            attributes_check([k for k in cleaned if k not in INPUT_COLUMN_SET])
        except BoundaryError as exc:
            errors[exc.field] = [exc.reason]
        if errors:
            raise serializers.ValidationError(errors)
        return cleaned


def _lead_input_schema_fields() -> dict:
    fields = {name: serializers.CharField(required=False, allow_blank=True, max_length=255) for name in INPUT_COLUMNS}
    fields["email"] = serializers.CharField(required=False, max_length=255,
                                            help_text="An e-mail or a phone is required.")
    fields["phone"] = serializers.CharField(required=False, max_length=255,
                                            help_text="An e-mail or a phone is required.")
    return fields


# What the schema shows of a lead input (docs/csv.md): the contract columns; other keys become custom attributes.
LeadInputSchemaSerializer = type("LeadInput", (serializers.Serializer,), _lead_input_schema_fields())


class BulkItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    action = serializers.ChoiceField(choices=["created", "updated", "merged", "review", "rejected"])
    lead_id = serializers.IntegerField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class BulkResultSerializer(serializers.Serializer):
    counts = serializers.DictField(child=serializers.IntegerField())
    results = BulkItemResultSerializer(many=True)
    review_pairs_skipped = serializers.IntegerField(
        help_text="Possible-duplicate pairs not opened (LEADFLOW_DEDUP_MAX_PAIRS_PER_LEAD, strongest first).")


class LeadSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    owner = serializers.SerializerMethodField()
    band = serializers.ChoiceField(choices=[("", "not scored yet"), *Band.choices], read_only=True,
                                  help_text="The score band, A (best) to D; empty before the lead's first scoring.")
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
        known = self.context.get("external_ids")  # a lead the request just created: no need to read them back
        if known is not None:
            return known
        return [f"{r.source}:{r.external_id}" for r in obj.source_records.all()]


class EventInputSerializer(InputFieldsBoundOnce, serializers.Serializer):
    lead = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                    help_text="The lead's id; or give its e-mail.")
    email = serializers.CharField(required=False, max_length=255, help_text="The lead's e-mail; or give its id.")
    type = serializers.CharField(max_length=50)
    occurred_at = serializers.DateTimeField(required=False)
    properties = serializers.DictField(required=False, default=dict)
    idempotency_key = serializers.CharField(required=False, max_length=200)
    source = serializers.CharField(required=False, max_length=100, default="api")

    def validate_email(self, value):
        return _boundary(value, field="email")

    def validate_type(self, value):
        return _boundary(value, field="type")

    def validate_idempotency_key(self, value):
        return _boundary(value, field="idempotency_key")

    def validate_source(self, value):
        return _boundary(value, field="source")

    def validate_properties(self, value):
        try:
            return json_clean(value, field="properties")
        except BoundaryError as exc:
            raise serializers.ValidationError(f"{exc.field}: {exc.reason}") from exc

    def validate(self, attrs):
        if not attrs.get("lead") and not attrs.get("email"):
            raise serializers.ValidationError({"lead": ["give the lead id or its e-mail"]})
        return attrs


class EventSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = LeadEvent
        fields = ["id", "lead", "type", "occurred_at", "properties", "idempotency_key", "source", "created_at"]
        read_only_fields = fields


CSV_COLUMNS_HELP = ", ".join(INPUT_COLUMNS)
