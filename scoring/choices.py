"""Choices of the scoring layer."""

from django.db import models

from leads.choices import Band as Band  # the band lives on the lead; scoring sets it


class ModelStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class RuleKind(models.TextChoices):
    FIT = "fit", "Fit (who they are)"
    ENGAGEMENT = "engagement", "Engagement (what they did)"


class Dimension(models.TextChoices):
    COMPANY_SIZE = "company_size", "Company size"
    INDUSTRY = "industry", "Industry"
    TITLE = "title", "Title / seniority"
    GEOGRAPHY = "geography", "Geography"
    OTHER_FIT = "other", "Other fit"
    BEHAVIOUR = "behaviour", "Behaviour"
    NEGATIVE = "negative", "Negative signals"


class Operator(models.TextChoices):
    EQUALS = "equals", "equals"
    NOT_EQUALS = "not_equals", "does not equal"
    IN = "in", "is one of (comma-separated)"
    NOT_IN = "not_in", "is none of (comma-separated)"
    RANGE = "range", "is between (min..max, inclusive)"
    GTE = "gte", "is at least"
    LTE = "lte", "is at most"
    CONTAINS = "contains", "contains"
    REGEX = "regex", "matches regex"
    IS_EMPTY = "is_empty", "is empty"
    IS_NOT_EMPTY = "is_not_empty", "is not empty"


class DecayMode(models.TextChoices):
    NONE = "none", "No decay"
    LINEAR = "linear", "Linear (% per day)"
    HALF_LIFE = "half_life", "Exponential (half-life in days)"
    STEP = "step", "Step (% off every N days)"




class TriggerKind(models.TextChoices):
    """What a ScoreTrigger announces (see docs/scoring.md, "Automated transitions")."""

    MQL_UP = "mql_up", "Became MQL"
    MQL_DOWN = "mql_down", "Fell below MQL"
    SQL_UP = "sql_up", "Became SQL"
    SQL_DOWN = "sql_down", "Fell below SQL"
    HOT = "hot", "Hot (many points in a short time)"
    COLD = "cold", "Cold (few points for a long time)"
    HIGH_INTENT = "high_intent", "High intent (an intent frequency rule fired)"


class Variant(models.TextChoices):
    """The arm of an A/B scoring experiment a lead falls in (empty: no experiment)."""

    NONE = "", "—"
    A = "A", "A (the active model)"
    B = "B", "B (the challenger)"


class PredictiveStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"
    REFUSED = "refused", "Refused (not enough data)"


class FeedbackReason(models.TextChoices):
    """Why a person flagged a score as wrong."""

    TOO_HIGH = "too_high", "Score too high (not a real buyer)"
    TOO_LOW = "too_low", "Score too low (a real buyer we under-rated)"
    WRONG_DATA = "wrong_data", "The lead's data is wrong (keep it out of training)"
    OTHER = "other", "Other"
