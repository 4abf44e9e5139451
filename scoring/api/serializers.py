"""Serializers of the scoring API."""

from rest_framework import serializers

from ..models import ScoreChange


class ScoreChangeSerializer(serializers.ModelSerializer):
    """One score change as the feed gives it: old and new score, delta, band and stage, the reasons."""

    class Meta:
        model = ScoreChange
        fields = ["id", "lead", "model", "at", "cause", "old_score", "new_score", "delta", "fit_score",
                  "engagement_score", "band", "old_stage", "new_stage", "reasons", "experiment", "variant"]
        read_only_fields = fields
