"""Scoring configuration (models and rules, edited in the admin), the score-change log, triggers, A/B
experiments, the predictive models trained on closed leads and the "score is wrong" feedback."""

import pycountry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models

from leads.choices import Stage
from leads.models import IndustryTerm, Lead
from leads.normalize.title import SENIORITY_CHOICES
from revops.base.history_records import HistoricalRecords

from .choices import (
    DecayMode,
    Dimension,
    FeedbackReason,
    ModelStatus,
    Operator,
    PredictiveStatus,
    RuleKind,
    TriggerKind,
    Variant,
)
from .conditions import compile_condition

# Lead fields a rule or segment may test (``custom:NAME`` reads a custom attribute).
SCORABLE_FIELDS = (
    "country", "state", "city", "postal_code", "industry", "employees", "size_band", "annual_revenue", "title",
    "seniority", "department", "source", "campaign", "utm_source", "utm_medium", "utm_campaign", "company",
    "domain", "email", "phone", "consent", "data_quality",
)


def validate_field_name(value: str) -> None:
    if value and value not in SCORABLE_FIELDS and not value.startswith("custom:"):
        raise ValidationError(f"{value!r} is not a lead field; use one of {', '.join(SCORABLE_FIELDS)} or custom:NAME")


class ScoringModel(models.Model):
    """A versioned scoring model for one segment: its rules, thresholds (bands, MQL, SQL), fit gate and decay.

    One model is active per segment; leads take the active model of the first segment (by priority) they match.
    Versions of a segment are numbered; only ``scoring.services.scoring_model_activate`` / ``_rollback`` change
    which one is active (the admin shows status as read-only), so every switch is in the history with a reason.
    """

    name = models.CharField(max_length=100)
    segment = models.CharField(max_length=50, default="default", help_text="Segment name, e.g. SMB or Enterprise.")
    segment_priority = models.PositiveIntegerField(default=100, help_text="Lower is tried first.")
    segment_field = models.CharField(max_length=60, blank=True, validators=[validate_field_name],
                                     help_text="Leave empty for a model that takes every lead.")
    segment_operator = models.CharField(max_length=20, choices=Operator.choices, blank=True)
    segment_value = models.CharField(max_length=500, blank=True)
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, choices=ModelStatus.choices, default=ModelStatus.DRAFT, db_index=True)
    is_default = models.BooleanField(default=False, help_text="Shipped with Leadflow (created by migrate on a fresh "
                                     "install); an ordinary model: edit it or replace it.")

    band_a_min = models.IntegerField(default=80)
    band_b_min = models.IntegerField(default=50)
    band_c_min = models.IntegerField(default=25)
    mql_threshold = models.IntegerField(default=50)
    sql_threshold = models.IntegerField(default=80)
    min_fit = models.IntegerField(default=0, help_text="Fit gate: below this fit a lead never goes to sales.")

    decay_mode = models.CharField(max_length=10, choices=DecayMode.choices, default=DecayMode.HALF_LIFE)
    decay_rate = models.FloatField(default=30.0, help_text="Half-life in days, % per day, or % per step.")
    decay_step_days = models.PositiveIntegerField(default=30)
    engagement_floor = models.IntegerField(default=0)
    engagement_ceiling = models.IntegerField(default=100)
    dimension_caps = models.JSONField(default=dict, blank=True,
                                      help_text='Points cap per dimension, e.g. {"company_size": 20}.')

    hot_points = models.IntegerField(default=20, help_text="Hot: at least this many points ...")
    hot_window_hours = models.PositiveIntegerField(default=24, help_text="... within this many hours.")
    cold_points = models.IntegerField(default=5, help_text="Cold: fewer than this many points ...")
    cold_window_days = models.PositiveIntegerField(default=90, help_text="... within this many days.")
    predictive_weight = models.IntegerField(
        default=0, help_text="Points added as this many × the predicted win probability (0: the predictive model "
                             "only informs, it never moves the score).")

    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["segment_priority", "segment", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["segment"], condition=models.Q(status="active"),
                                    name="one_active_model_per_segment"),
            models.UniqueConstraint(fields=["segment", "version"], name="one_model_per_segment_version"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} [{self.segment}, {self.status}]"

    def clean(self) -> None:
        if bool(self.segment_field) != bool(self.segment_operator):
            raise ValidationError("Give both the segment field and its operator, or neither.")
        if self.segment_operator:
            compile_condition(self.segment_operator, self.segment_value)
        if not self.band_a_min >= self.band_b_min >= self.band_c_min:
            raise ValidationError("Band thresholds must descend: A ≥ B ≥ C.")
        if self.sql_threshold < self.mql_threshold:
            raise ValidationError("The SQL threshold cannot be below the MQL threshold.")
        if not isinstance(self.dimension_caps, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in self.dimension_caps.values()
        ):
            raise ValidationError({"dimension_caps": "A JSON object of dimension name → whole number of points."})
        if self.decay_mode == DecayMode.HALF_LIFE and self.decay_rate <= 0:
            raise ValidationError({"decay_rate": "A half-life must be more than 0 days."})
        if self.predictive_weight < 0:
            raise ValidationError({"predictive_weight": "The predictive weight cannot be negative."})


class ScoringRule(models.Model):
    """One rule of a scoring model: a fit condition on a lead field, or an engagement event pattern → points.

    Engagement rules may cap their points within a window (e-mail opens +1 each, at most 10 a month), give a
    frequency bonus instead (3 pricing visits within 48 hours → +15 once), or take points away (unsubscribe).
    """

    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=12, choices=RuleKind.choices)
    dimension = models.CharField(max_length=20, choices=Dimension.choices)
    reason_code = models.SlugField(max_length=60, help_text="Short code shown to reps, e.g. vp_or_above.")
    label = models.CharField(max_length=200, help_text="What the rule means, in words.")
    field = models.CharField(max_length=60, blank=True, validators=[validate_field_name],
                             help_text="Fit rules: the lead field tested.")
    operator = models.CharField(max_length=20, choices=Operator.choices, blank=True)
    value = models.CharField(max_length=500, blank=True)
    event_type = models.CharField(max_length=50, blank=True, help_text="Engagement rules: the event type.")
    property_key = models.CharField(max_length=100, blank=True, help_text="Optional event property filter.")
    property_operator = models.CharField(max_length=20, choices=Operator.choices, blank=True)
    property_value = models.CharField(max_length=500, blank=True)
    points = models.IntegerField(help_text="Negative points allowed.")
    cap_points = models.IntegerField(null=True, blank=True, help_text="At most this many points ...")
    window_days = models.PositiveIntegerField(null=True, blank=True,
                                              help_text="... from events of the last N days (empty: all time).")
    frequency_count = models.PositiveIntegerField(null=True, blank=True,
                                                  help_text="Bonus: points once when this many events ...")
    frequency_hours = models.PositiveIntegerField(null=True, blank=True, help_text="... fall within N hours.")
    intent = models.BooleanField(
        default=False, help_text="Frequency rules only: when it fires, the lead gets a high-intent trigger.")
    order = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["model", "kind", "order", "id"]

    def __str__(self) -> str:
        return f"{self.reason_code} ({self.points:+d})"

    def clean(self) -> None:
        if self.kind == RuleKind.FIT:
            if not self.field or not self.operator:
                raise ValidationError("A fit rule needs a field and an operator.")
            compile_condition(self.operator, self.value)
            if self.operator in (Operator.EQUALS, Operator.NOT_EQUALS, Operator.IN, Operator.NOT_IN):
                self._clean_vocabulary_values()
        else:
            if not self.event_type:
                raise ValidationError({"event_type": "An engagement rule needs an event type."})
            if self.property_key and not self.property_operator:
                raise ValidationError({"property_operator": "Give the operator of the property filter."})
            if self.property_operator:
                compile_condition(self.property_operator, self.property_value)
            if bool(self.frequency_count) != bool(self.frequency_hours):
                raise ValidationError("A frequency bonus needs both the count and the hours.")
            if self.cap_points is not None and self.cap_points < 0 <= self.points:
                raise ValidationError({"cap_points": "A cap on positive points must be positive."})
        if self.intent and not (self.kind == RuleKind.ENGAGEMENT and self.frequency_count):
            raise ValidationError({"intent": "Only an engagement rule with a frequency (count within hours) can "
                                             "flag high intent."})


    def _clean_vocabulary_values(self) -> None:
        """A fit rule on a field with a fixed vocabulary compares with values a lead can have (a typo would make
        a rule that never gives its points)."""
        values = [v.strip() for v in (self.value or "").split(",") if v.strip()]
        if self.field == "country":
            bad = [v for v in values if len(v) != 2 or pycountry.countries.get(alpha_2=v.upper()) is None]
            what = "not ISO 3166 alpha-2 country codes"
        elif self.field == "seniority":
            bad = [v for v in values if v.lower() not in {code for code, _ in SENIORITY_CHOICES}]
            what = f"unknown seniorities (use {', '.join(code for code, _ in SENIORITY_CHOICES)})"
        elif self.field == "stage":
            bad = [v for v in values if v.lower() not in Stage.values]
            what = f"unknown stages (use {', '.join(Stage.values)})"
        elif self.field == "industry":
            canonical = {c.lower() for c in IndustryTerm.objects.values_list("canonical", flat=True)}
            bad = [v for v in values if v.lower() not in canonical]
            what = "not canonical industries of the vocabulary"
        else:
            return
        if bad:
            raise ValidationError({"value": f"{what}: {', '.join(bad)}"})


class ScoreChange(models.Model):
    """A compact log of every score change: delta and reasons, so 'points in the last day' is a query."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="score_changes")
    model = models.ForeignKey(ScoringModel, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(db_index=True)
    cause = models.CharField(max_length=60)
    old_score = models.IntegerField(null=True, blank=True)
    new_score = models.IntegerField(null=True, blank=True)
    delta = models.IntegerField(default=0)
    fit_score = models.IntegerField(null=True, blank=True)
    engagement_score = models.IntegerField(null=True, blank=True)
    band = models.CharField(max_length=2, blank=True)
    old_stage = models.CharField(max_length=20, blank=True)
    new_stage = models.CharField(max_length=20, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    # No index of its own: the (experiment, variant) index below serves it, and every bulk insert pays per index.
    experiment = models.ForeignKey("ScoringExperiment", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="score_changes", db_index=False)
    variant = models.CharField(max_length=1, choices=Variant.choices, blank=True, default=Variant.NONE)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["lead", "at"]), models.Index(fields=["experiment", "variant"])]

    def __str__(self) -> str:
        return f"lead {self.lead_id}: {self.old_score} → {self.new_score} ({self.delta:+d})"


class ScoreTrigger(models.Model):
    """A threshold crossing, a hot or cold lead, or a high-intent streak, announced once per lead and period.

    ``period_key`` names the period (a day, or a cold spell); the unique constraint makes a second firing in the same
    period impossible, even from two workers at once. Creating one sends ``lead_triggered`` after commit.
    """

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="score_triggers")
    kind = models.CharField(max_length=20, choices=TriggerKind.choices)
    period_key = models.CharField(max_length=80)
    fired_at = models.DateTimeField(db_index=True)
    model = models.ForeignKey(ScoringModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    cause = models.CharField(max_length=60, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-fired_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["lead", "kind", "period_key"], name="one_trigger_per_lead_kind_period"),
        ]
        indexes = [models.Index(fields=["kind", "fired_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for lead {self.lead_id} ({self.period_key})"


class ScoringExperiment(models.Model):
    """An A/B test of a segment's scoring: variant B uses another model or other thresholds for a share of leads.

    A lead's variant comes from a hash of the experiment and lead ids (``scoring.experiments.variant_for``): it
    never flips while the experiment runs. Split and variant settings are frozen once the experiment started.
    """

    segment = models.CharField(max_length=50, default="default")
    name = models.CharField(max_length=100)
    variant_b_model = models.ForeignKey(
        ScoringModel, null=True, blank=True, on_delete=models.PROTECT, related_name="experiments_as_b",
        help_text="A model of the same segment (usually a draft) that scores variant B. Leave empty to test "
                  "thresholds only.")
    b_mql_threshold = models.IntegerField(null=True, blank=True)
    b_sql_threshold = models.IntegerField(null=True, blank=True)
    b_band_a_min = models.IntegerField(null=True, blank=True)
    b_band_b_min = models.IntegerField(null=True, blank=True)
    b_band_c_min = models.IntegerField(null=True, blank=True)
    b_min_fit = models.IntegerField(null=True, blank=True)
    split_percent = models.PositiveSmallIntegerField(
        default=50, validators=[MaxValueValidator(100)], help_text="Share of the segment's leads in variant B.")
    active = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    THRESHOLD_FIELDS = ("mql_threshold", "sql_threshold", "band_a_min", "band_b_min", "band_c_min", "min_fit")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["segment"], condition=models.Q(active=True),
                                    name="one_active_experiment_per_segment"),
        ]

    def __str__(self) -> str:
        return f"{self.name} [{self.segment}, {'running' if self.active else 'stopped'}]"

    def threshold_overrides(self) -> dict[str, int]:
        """Variant B's thresholds that differ from the active model's (field name → value)."""
        return {name: getattr(self, f"b_{name}") for name in self.THRESHOLD_FIELDS
                if getattr(self, f"b_{name}") is not None}

    FROZEN_ONCE_STARTED = ("segment", "variant_b_model_id", "split_percent",
                           *(f"b_{name}" for name in THRESHOLD_FIELDS))

    def clean(self) -> None:
        if self.pk and self.started_at:
            before = type(self).objects.filter(pk=self.pk).values(*self.FROZEN_ONCE_STARTED).first() or {}
            moved = [name for name, value in before.items() if getattr(self, name) != value]
            if moved:
                raise ValidationError(f"An experiment that has started keeps its split and variants (a lead's "
                                      f"variant must never flip); changed: {', '.join(moved)}. Create a new "
                                      f"experiment instead.")
        if self.variant_b_model_id is None and not self.threshold_overrides():
            raise ValidationError("Give variant B a model or at least one threshold.")
        if self.variant_b_model_id is not None and self.variant_b_model.segment != self.segment:
            raise ValidationError({"variant_b_model": "Variant B's model must belong to the experiment's segment."})
        if (self.b_mql_threshold is not None and self.b_sql_threshold is not None
                and self.b_sql_threshold < self.b_mql_threshold):
            raise ValidationError("Variant B's SQL threshold cannot be below its MQL threshold.")


class PredictiveModel(models.Model):
    """A win-probability model trained on a segment's closed leads (``segment`` empty: every segment).

    The artefact is ``scoring.predictive.TrainedModel.to_bytes()``; ``metrics`` its evaluation (AUC, lift by
    decile, calibration). A training that had too little data is kept with status *refused* and the reason, so the
    admin shows why nothing was activated.
    """

    segment = models.CharField(max_length=50, blank=True, help_text="Empty: a model for leads of every segment.")
    version = models.PositiveIntegerField(default=1)
    algorithm = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10, choices=PredictiveStatus.choices, default=PredictiveStatus.DRAFT,
                              db_index=True)
    metrics = models.JSONField(default=dict, blank=True)
    artefact = models.BinaryField(null=True, blank=True, editable=False)
    training_size = models.PositiveIntegerField(default=0)
    positives = models.PositiveIntegerField(default=0)
    trained_at = models.DateTimeField(null=True, blank=True)
    feature_version = models.PositiveIntegerField(default=0)
    refusal_reason = models.TextField(blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["artefact"])

    class Meta:
        ordering = ["segment", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["segment"], condition=models.Q(status="active"),
                                    name="one_active_predictive_model_per_segment"),
            models.UniqueConstraint(fields=["segment", "version"], name="one_predictive_model_per_segment_version"),
        ]

    def __str__(self) -> str:
        return f"predictive {self.segment or 'all segments'} v{self.version} [{self.status}]"

    @property
    def auc(self) -> float | None:
        return (self.metrics or {}).get("auc")


class ScoreFeedback(models.Model):
    """A person's flag that a lead's score is wrong, kept with the score it was about.

    The next predictive training reads open flags (leads flagged *wrong data* are left out of its rows) and marks
    them consumed by that training.
    """

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="score_feedback")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    reason = models.CharField(max_length=20, choices=FeedbackReason.choices)
    comment = models.TextField(blank=True)
    score = models.IntegerField(null=True, blank=True)
    band = models.CharField(max_length=2, blank=True)
    stage = models.CharField(max_length=20, blank=True)
    predicted_probability = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    consumed_by = models.ForeignKey(PredictiveModel, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="consumed_feedback")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "score feedback"

    def __str__(self) -> str:
        return f"lead {self.lead_id}: {self.get_reason_display()}"
