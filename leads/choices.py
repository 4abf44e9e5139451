"""Choices of the lead layer: lifecycle stages, queues, consent, outcomes, enrichment status."""

from django.db import models


class Stage(models.TextChoices):
    """Lifecycle stage. Scoring moves leads between new, engaged, MQL and SQL; sales moves them further."""

    NEW = "new", "New"
    ENGAGED = "engaged", "Engaged"
    MQL = "mql", "MQL"
    SQL = "sql", "SQL"
    OPPORTUNITY = "opportunity", "Opportunity"
    CUSTOMER = "customer", "Customer"
    NURTURE = "nurture", "Nurture"
    # New activity after a quiet spell (or in nurture): ``routing.services.stage_sla.lead_reengage`` moves it here.
    RE_ENGAGED = "re_engaged", "Re-engaged"
    DISQUALIFIED = "disqualified", "Disqualified"
    SUPPRESSED = "suppressed", "Suppressed"


STAGE_ORDER = {stage: index for index, stage in enumerate(Stage.values)}
# Stages after which a lead no longer counts against its owner's capacity.
CLOSED_STAGES = (Stage.CUSTOMER.value, Stage.DISQUALIFIED.value)


# Stages a lead does not leave by scoring: it was closed (or converted) by sales or suppressed.
CLOSED_FOR_WORK_STAGES = (Stage.CUSTOMER.value, Stage.DISQUALIFIED.value, Stage.SUPPRESSED.value)


class Transition(models.TextChoices):
    """A move of a lead's lifecycle that sales makes (``leads.services.lifecycle``): each but ``opportunity``
    closes the lead's open tasks."""

    WON = "won", "Won (customer)"
    LOST = "lost", "Lost"
    OPPORTUNITY = "opportunity", "Converted to an opportunity"
    DISQUALIFIED = "disqualified", "Disqualified"
    SUPPRESSED = "suppressed", "Suppressed (do not contact)"
    REOPENED = "reopened", "Reopened"


class Queue(models.TextChoices):
    """Where a lead waits when it has no owner. Never empty for a lead the pipeline could not place."""

    NONE = "", "—"
    HOLDING = "holding", "Holding (data missing)"
    REVIEW = "review", "Review (no rule matched or a step failed)"
    NURTURE = "nurture", "Nurture (no human assignment)"


class Consent(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    OPT_IN = "opt_in", "Opted in"
    OPT_OUT = "opt_out", "Opted out"


class Outcome(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class EnrichmentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Enriched"
    PARTIAL = "partial", "Partly enriched"
    NOT_FOUND = "not_found", "Nothing found"
    FAILED = "failed", "Failed (enrich by hand)"
    SKIPPED = "skipped", "Skipped (switch off)"


class EventType(models.TextChoices):
    """Engagement event types the scoring rules know by name (other types are stored and can be scored too)."""

    PAGE_VIEW = "page_view", "Page view"
    EMAIL_OPEN = "email_open", "E-mail open"
    EMAIL_CLICK = "email_click", "E-mail click"
    FORM_SUBMIT = "form_submit", "Form submitted"
    WEBINAR = "webinar_attended", "Webinar attended"
    DEMO_REQUEST = "demo_request", "Demo requested"
    CONTENT_DOWNLOAD = "content_download", "Content downloaded"
    MEETING = "meeting_booked", "Meeting booked"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribed"
    BOUNCE = "email_bounce", "E-mail bounced"


# Events that say "talk to me now": their rescoring, routing, task and message take the hot queue.
HOT_EVENT_TYPES = frozenset({EventType.DEMO_REQUEST, EventType.MEETING, EventType.FORM_SUBMIT})


class ReviewStatus(models.TextChoices):
    OPEN = "open", "Open"
    MERGED = "merged", "Merged"
    NOT_DUPLICATE = "not_duplicate", "Not a duplicate"


class MatchRule(models.TextChoices):
    """Why two records were taken for the same person (or sent to review)."""

    SOURCE_ID = "same_source_id", "Same source and external id"
    EMAIL = "same_email", "Same e-mail"
    PHONE_NAME = "same_phone_similar_name", "Same phone, similar name"
    PHONE_ONLY = "same_phone_different_name", "Same phone, different name (switchboard?)"
    NAME_COMPANY = "similar_name_same_company", "Similar name, same company"
    NAME_DOMAIN = "similar_name_same_domain", "Similar name, same company domain"
    MANUAL = "manual", "Merged by a person"


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded (preview)"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Band(models.TextChoices):
    """A lead's score band (scoring sets it from the active model's thresholds; ``scoring.choices`` re-exports it)."""

    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"
