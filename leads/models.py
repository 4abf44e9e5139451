"""Leads, accounts and engagement events: the data every later layer reads.

Field-local rules only; business logic lives in services.py. The score, band, stage, owner and queue columns are
written by the scoring and routing layers through their services, never typed in by hand.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from revops.base.history_records import HistoricalRecords

from .choices import (
    CLOSED_STAGES,
    Band,
    Consent,
    EnrichmentStatus,
    ImportStatus,
    MatchRule,
    Outcome,
    Queue,
    ReviewStatus,
    Stage,
)


class Account(models.Model):
    """A company, keyed by its web domain. Leads of the same domain share it; its owner wins account-based routing."""

    name = models.CharField(max_length=255)
    domain = models.CharField(max_length=255, unique=True)
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    country = models.CharField(max_length=2, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_accounts"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(no_db_index=["domain", "owner"])  # read by id and date only

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.domain})"


class LeadQuerySet(models.QuerySet):
    def live(self) -> "LeadQuerySet":
        """Leads that were not merged into another one."""
        return self.filter(merged_into__isnull=True)

#: Enrichment states that need a person (the admin's filter, the dashboard's count).
NEEDS_PERSON = [EnrichmentStatus.FAILED, EnrichmentStatus.PARTIAL]


class Lead(models.Model):
    """One person who may buy. Identity fields are stored normalized (lower-case email, E.164 phone, ISO country)."""

    # Identity and profile
    first_name = models.CharField(max_length=255, blank=True)
    last_name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=255, blank=True)  # indexed in Meta.indexes, as phone, domain and company_key
    phone = models.CharField(max_length=32, blank=True, help_text="E.164")
    phone_raw = models.CharField(max_length=255, blank=True, help_text="As received, when it could not be parsed.")
    company = models.CharField(max_length=255, blank=True)
    company_key = models.CharField(max_length=255, blank=True,
                                   help_text="Lower-case company name without legal suffixes, for matching.")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")
    website = models.CharField(max_length=255, blank=True)
    domain = models.CharField(max_length=255, blank=True)
    title = models.CharField(max_length=255, blank=True)
    seniority = models.CharField(max_length=20, blank=True)
    department = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 alpha-2")
    state = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    size_band = models.CharField(max_length=20, blank=True)
    annual_revenue = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    custom = models.JSONField(default=dict, blank=True, help_text="Columns outside the contract, kept as given.")
    flags = models.JSONField(default=list, blank=True, help_text="Data problems found at ingest or enrichment.")
    data_quality = models.PositiveSmallIntegerField(default=0, help_text="Completeness and validity, 0–100.")

    # Attribution
    source = models.CharField(max_length=100, blank=True)  # indexed by (source, external_id)
    external_id = models.CharField(max_length=255, blank=True)
    campaign = models.CharField(max_length=255, blank=True)
    utm_source = models.CharField(max_length=255, blank=True)
    utm_medium = models.CharField(max_length=255, blank=True)
    utm_campaign = models.CharField(max_length=255, blank=True)
    first_touch = models.JSONField(default=dict, blank=True)
    last_touch = models.JSONField(default=dict, blank=True)

    # Consent and outcome
    consent = models.CharField(max_length=10, choices=Consent.choices, default=Consent.UNKNOWN)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.OPEN)
    deal_value = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    # Enrichment
    enrichment_status = models.CharField(
        max_length=12, choices=EnrichmentStatus.choices, default=EnrichmentStatus.PENDING
    )
    enriched_at = models.DateTimeField(null=True, blank=True)

    # Written by the scoring layer
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.NEW)
    fit_score = models.IntegerField(null=True, blank=True)
    engagement_score = models.IntegerField(null=True, blank=True)
    predicted_probability = models.FloatField(null=True, blank=True)
    score = models.IntegerField(null=True, blank=True, db_index=True)
    band = models.CharField(max_length=2, blank=True, choices=Band.choices)
    score_reasons = models.JSONField(default=list, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)

    # Written by the routing layer
    owner = models.ForeignKey(  # indexed by (owner, stage)
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_leads",
        db_index=False,
    )
    queue = models.CharField(max_length=10, choices=Queue.choices, blank=True, default=Queue.NONE)
    queue_reason = models.CharField(max_length=500, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)

    # Indexed only where set (see Meta.indexes): an index holding every live lead under NULL made SQLite's planner
    # (which has no statistics) walk all live leads for "live leads with e-mail IN (...)".
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_leads", db_index=False
    )
    last_interaction_at = models.DateTimeField(null=True, blank=True)
    first_touched_at = models.DateTimeField(null=True, blank=True,
                                            help_text="The owner's first disposition or logged activity.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Every index costs each insert and each routing or scoring update. Lookups by owner, queue and source use the
    # composite indexes below (their first column); outcome and band (a handful of values each) are read by
    # whole-table aggregates, where an index does not help, and misled SQLite's planner (no statistics) into
    # walking them for selective queries.
    # The history table keeps only the indexes history is read by (the lead id, the date): indexing every copied
    # column doubled the pages a routing or scoring write touches.
    history = HistoricalRecords(
        excluded_fields=["updated_at"],
        no_db_index=["email", "phone", "domain", "company_key", "source", "outcome", "stage", "score", "band", "queue",
                     "created_at", "account", "owner", "merged_into"],
    )
    objects = LeadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The duplicate check's equality look-ups and the stage filters. Declared here rather than with
            # db_index=True, which on PostgreSQL adds a second, pattern-matching index per text column (for LIKE
            # 'prefix%', which nothing here asks): five more indexes for every insert and every routing or scoring
            # update of a lead to write (docs/benchmarks.md, twenty-sixth stop).
            models.Index(fields=["email"], name="lead_email"),
            models.Index(fields=["phone"], name="lead_phone"),
            models.Index(fields=["domain"], name="lead_domain"),
            models.Index(fields=["company_key"], name="lead_company_key"),
            models.Index(fields=["stage"], name="lead_stage"),
            models.Index(fields=["owner", "stage"]),
            models.Index(fields=["merged_into"], name="lead_merged_into", condition=Q(merged_into__isnull=False)),
            # The leads that count against a rep's capacity, counted on every routing decision (an index-only
            # count instead of visiting every lead the rep ever owned).
            models.Index(fields=["owner"], name="lead_open_by_owner",
                         condition=Q(merged_into__isnull=True, outcome="open")
                         & ~Q(stage__in=CLOSED_STAGES)),
            models.Index(fields=["queue", "created_at"]),
            # The dashboard's "needs manual enrichment" count reads the few leads concerned, not the table.
            models.Index(fields=["enrichment_status"], name="lead_needs_person",
                         condition=Q(enrichment_status__in=NEEDS_PERSON)),
            models.Index(fields=["source", "external_id"]),
            # The warehouse feed (GET /api/leads/?updated_since=…, export_leads --updated-since) pages by these two.
            models.Index(fields=["updated_at", "id"], name="lead_feed"),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return f"{name or self.email or self.phone or 'Lead'} #{self.pk}"

    def save(self, *args, **kwargs) -> None:
        # A partial save is still a change the warehouse feed must see: updated_at goes with every update_fields.
        fields = kwargs.get("update_fields")
        if fields:
            kwargs["update_fields"] = {*fields, "updated_at"}
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class SourceRecord(models.Model):
    """A source system's id for a lead. Every record merged into a lead keeps pointing at the survivor."""

    source = models.CharField(max_length=100)
    external_id = models.CharField(max_length=255)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="source_records")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="uniq_source_external_id")]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class LeadEvent(models.Model):
    """One engagement event (page view, e-mail open, form, webinar...). ``idempotency_key`` makes redelivery a no-op."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=50, db_index=True)
    occurred_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    source = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(no_db_index=["lead", "type", "idempotency_key"])  # read by id and date only

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["lead", "occurred_at"]), models.Index(fields=["lead", "type"]),
                   # Events are appended (a merge moves them, shown by the lead's merged_into): the feed pages by these.
                   models.Index(fields=["created_at", "id"], name="leadevent_feed")]

    def __str__(self) -> str:
        return f"{self.type} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class IndustryTerm(models.Model):
    """The controlled industry vocabulary: a synonym people type and the canonical industry it means."""

    synonym = models.CharField(max_length=100, unique=True, help_text="Matched case-insensitively.")
    canonical = models.CharField(max_length=100)
    is_default = models.BooleanField(default=False, help_text="Shipped with Leadflow (created by migrate); editable.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["canonical", "synonym"]

    def __str__(self) -> str:
        return f"{self.synonym} → {self.canonical}"

    def save(self, *args, **kwargs) -> None:
        self.synonym = " ".join(self.synonym.split()).lower()
        self.canonical = " ".join(self.canonical.split())
        super().save(*args, **kwargs)


class CompanyProfile(models.Model):
    """The company directory: firmographics by domain, loaded from CSV; the built-in enrichment provider."""

    domain = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=255, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    country = models.CharField(max_length=2, blank=True)
    state = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class MergeLog(models.Model):
    """One merge: which lead survived, the merged lead's full snapshot, every field decision; undoable.

    The merged lead is kept (hidden, ``merged_into`` set) so undo can bring it back exactly as it was, with the
    events and source records that moved to the survivor.
    """

    survivor = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="merges_as_survivor")
    merged = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="merges_as_merged")
    rule = models.CharField(max_length=40, choices=MatchRule.choices)
    similarity = models.FloatField(null=True, blank=True)
    survivor_before = models.JSONField(help_text="The survivor's fields before the merge.")
    merged_snapshot = models.JSONField(help_text="The merged lead exactly as it was.")
    decisions = models.JSONField(default=list, help_text="Per field: both values, the one kept and why.")
    moved_event_ids = models.JSONField(default=list)
    moved_source_record_ids = models.JSONField(default=list)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.merged_id} into #{self.survivor_id} ({self.rule})"


class DuplicateReview(models.Model):
    """A pair of leads that may be the same person, for a human to decide: merge, or not a duplicate (remembered)."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    other_lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    similarity = models.FloatField()
    reason = models.CharField(max_length=40, choices=MatchRule.choices)
    status = models.CharField(max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.OPEN,
                              db_index=True)
    found_by = models.CharField(max_length=20, default="ingest", help_text="ingest or scan")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["lead", "other_lead"], name="uniq_review_pair"),
            models.CheckConstraint(condition=models.Q(lead__lt=models.F("other_lead")), name="review_pair_ordered"),
        ]

    def __str__(self) -> str:
        return f"#{self.lead_id} ~ #{self.other_lead_id} ({self.similarity:.0f}%)"


class EnrichmentProvider(models.Model):
    """A configured enrichment provider: the company directory, or a generic HTTP JSON API.

    HTTP: ``url_template`` with ``{domain}``, ``{email}``, ``{company}`` placeholders; the auth header sent as is;
    ``field_map`` maps Leadflow fields to dotted paths in the JSON answer, e.g. {"employees": "company.size"}.
    """

    KIND_DIRECTORY = "directory"
    KIND_HTTP = "http"
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=[(KIND_DIRECTORY, "Company directory"), (KIND_HTTP, "HTTP JSON")])
    active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=10)
    url_template = models.CharField(max_length=500, blank=True)
    auth_header = models.CharField(max_length=100, blank=True, help_text="e.g. Authorization")
    auth_value = models.CharField(max_length=500, blank=True, help_text="e.g. Bearer sk-...")
    timeout_seconds = models.FloatField(default=5.0)
    retries = models.PositiveSmallIntegerField(default=2)
    field_map = models.JSONField(default=dict, blank=True)
    history = HistoricalRecords(excluded_fields=["auth_value"])

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class EnrichmentRequest(models.Model):
    """One paid look-up: unique per provider, lead and period, so a lead is never paid for twice."""

    provider = models.ForeignKey(EnrichmentProvider, on_delete=models.CASCADE)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="enrichment_requests")
    idempotency_key = models.CharField(max_length=200, unique=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.idempotency_key


class LeadImport(models.Model):
    """A CSV import started in the admin: the uploaded file, its progress, its counts and per-row errors."""

    file = models.FileField(upload_to="imports/")
    original_name = models.CharField(max_length=255)
    source = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    processed_rows = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    errors_file = models.FileField(upload_to="imports/errors/", blank=True)
    error_sample = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"


from .stage_models import StageMove, StageReach  # noqa: E402, F401 - registered
from .webform_models import WebForm, WebFormSubmission  # noqa: E402, F401 - registered with the app's models
