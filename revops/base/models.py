"""Cross-cutting models: kill switches, the notification outbox and the automation log.

This is the base layer: it imports no Leadflow app. Objects of other apps are referred to by a label and a primary
key (``object_type`` / ``object_id``) so the base never depends on the layers above it.
"""

from django.conf import settings
from django.db import models

from revops.base.history_records import HistoricalRecords

from .choices import AutomationOutcome, Channel, IncidentKind, NotificationStatus, ReportKind, Workflow


class WorkflowSwitch(models.Model):
    """The kill switch of one workflow. Jobs read it when they start, so a flip takes effect for the next job."""

    workflow = models.CharField(max_length=40, choices=Workflow.choices, unique=True)
    enabled = models.BooleanField(default=True)
    note = models.CharField(max_length=255, blank=True, help_text="Why it was switched, for the next person.")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["workflow"]
        verbose_name = "workflow switch"
        verbose_name_plural = "workflow switches"

    def __str__(self) -> str:
        return f"{self.get_workflow_display()}: {'on' if self.enabled else 'OFF'}"


class Notification(models.Model):
    """One outgoing message (Slack DM or channel post): an outbox row, sent at most once thanks to ``dedup_key``."""

    dedup_key = models.CharField(max_length=200, unique=True, help_text="One message per key, however often asked.")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.SLACK)
    recipient = models.CharField(max_length=500, blank=True,
                                 help_text="Slack user id (DM) or channel; an e-mail address; a Teams webhook URL.")
    subject = models.CharField(max_length=200, blank=True, help_text="E-mail subject, Teams card title.")
    text = models.TextField(help_text="The plain text; Slack's fallback when blocks are sent, the e-mail's text part.")
    html = models.TextField(blank=True, help_text="The e-mail's HTML part.")
    unsubscribe_url = models.CharField(max_length=500, blank=True,
                                       help_text="An e-mail to a lead: its List-Unsubscribe address (one click).")
    blocks = models.JSONField(default=list, blank=True,
                              help_text="Slack Block Kit blocks, or a Teams Adaptive Card (empty: text only).")
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When the next retry is due.")
    status = models.CharField(max_length=20, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    slack_ts = models.CharField(max_length=64, blank=True)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(no_db_index=["dedup_key"])  # read by id and date only

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"]), models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.recipient[:60] or '(no recipient)'}: {self.text[:60]}"


class SlackInteraction(models.Model):
    """A signed Slack interactivity request already handled: a replay of the same request finds its key here and
    changes nothing."""

    key = models.CharField(max_length=64, unique=True,
                           help_text="SHA-256 of the click (trigger id, action time) or the modal's view.")
    action = models.CharField(max_length=40, blank=True)
    slack_user_id = models.CharField(max_length=50, blank=True)
    outcome = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The answer shown in Slack, posted by a job after the request has been acknowledged (Slack waits 3 s at most).
    channel = models.CharField(max_length=50, blank=True)
    message_ts = models.CharField(max_length=40, blank=True, help_text="The message whose buttons were clicked.")
    message_blocks = models.JSONField(default=list, blank=True)
    answer = models.CharField(max_length=600, blank=True)
    private = models.BooleanField(default=False, help_text="Answer to the clicking user only (a refusal).")
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} by {self.slack_user_id}: {self.outcome}"


class AutomationLog(models.Model):
    """What an automation did (or skipped, or failed at) to one object: the trail behind every job run."""

    workflow = models.CharField(max_length=40, choices=Workflow.choices)
    action = models.CharField(max_length=80)
    outcome = models.CharField(max_length=20, choices=AutomationOutcome.choices)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "created_at"])]

    def __str__(self) -> str:
        return f"{self.workflow}/{self.action}: {self.outcome}"


class ApiIdempotencyKey(models.Model):
    """An ``Idempotency-Key`` an API client sent, with the response it got, so a repeat returns the same answer.

    Claimed (``status_code`` empty) before the request runs, so a concurrent repeat sees it and gets 409; the hash of
    the request body is kept so the same key with another body gets 422 (``revops/base/idempotency.py``).
    """

    key = models.CharField(max_length=200)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    endpoint = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64, default="", help_text="SHA-256 of the first request's body.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty while the request runs.")
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "endpoint", "key"], name="uniq_idempotency_key")]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key}"


class PendingJob(models.Model):
    """A pipeline step that still has to run: the durable record behind every job the pipeline schedules.

    It is written in the same transaction as the change that needs the step, so it commits or rolls back with it,
    and it is deleted when the job has finished (done, skipped by its kill switch, or failed to a review queue).
    Enqueueing to Redis after commit is only the fast way to the worker: when Redis was unreachable, or a worker died
    mid-job, the row is still here and the sweeper (``revops.base.pending.pending_jobs_sweep``) enqueues it again.
    """

    function = models.CharField(max_length=200, help_text="Dotted path of the job function.")
    args = models.JSONField(default=list, blank=True)
    queue = models.CharField(max_length=40, default="default")
    created_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField(db_index=True, help_text="When the sweeper considers the job stuck and enqueues it.")
    attempts = models.PositiveIntegerField(default=0, help_text="How often the sweeper enqueued it again.")
    claimed_by = models.CharField(max_length=40, blank=True, default="",
                                  help_text="The drain running this step now (empty: waiting).")
    claimed_at = models.DateTimeField(null=True, blank=True)
    run_after = models.DateTimeField(null=True, blank=True, help_text="Retry not before this time (a drain's retry).")

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = "pending pipeline job"
        indexes = [models.Index(fields=["function", "queue", "claimed_by", "id"], name="pending_drain_idx")]

    def __str__(self) -> str:
        return f"{self.function}{tuple(self.args)}"


class WorkflowHourlyStat(models.Model):
    """Runs and failures of one workflow in one clock hour (UTC): the counter behind the workflow-health page and its
    rate alerts, upserted by one statement at the end of every job run (``revops/base/workflow_stats.py``)."""

    workflow = models.CharField(max_length=40, choices=Workflow.choices)
    hour = models.DateTimeField(help_text="The start of the hour (UTC).")
    runs = models.PositiveIntegerField(default=0, help_text="Job runs that were not skipped by the kill switch.")
    failures = models.PositiveIntegerField(default=0, help_text="Runs that failed (a retry counts again).")

    class Meta:
        ordering = ["-hour", "workflow"]
        constraints = [models.UniqueConstraint(fields=["workflow", "hour"], name="one_stat_per_workflow_hour")]
        indexes = [models.Index(fields=["hour"], name="workflow_stat_hour_idx")]

    def __str__(self) -> str:
        return f"{self.workflow} {self.hour:%Y-%m-%d %H:00}: {self.runs} runs, {self.failures} failed"


class WorkflowIncident(models.Model):
    """A workflow running far from its usual rate (or failing far more often): opened once, alerted once, closed
    with one recovery message. At most one open incident per workflow and kind."""

    workflow = models.CharField(max_length=40, choices=Workflow.choices)
    kind = models.CharField(max_length=10, choices=IncidentKind.choices)
    first_hour = models.DateTimeField(help_text="The first hour found off its usual rate.")
    last_hour = models.DateTimeField(help_text="The latest hour found off its usual rate.")
    detail = models.TextField(blank=True, help_text="What the alert said.")
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    recovery_detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["workflow", "kind"], condition=models.Q(resolved_at=None),
                                               name="one_open_incident_per_workflow_kind")]

    def __str__(self) -> str:
        return f"{self.workflow}: {self.get_kind_display()} ({'open' if self.resolved_at is None else 'resolved'})"


class SentReport(models.Model):
    """A scheduled report already sent for its period: the row that makes the report go out once per period."""

    kind = models.CharField(max_length=20, choices=ReportKind.choices)
    period_start = models.DateField(help_text="The day (daily report) or the Monday (weekly review).")
    recipients = models.PositiveIntegerField(default=0, help_text="Messages queued (Slack post and e-mails).")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start", "kind"]
        constraints = [models.UniqueConstraint(fields=["kind", "period_start"], name="one_report_per_period")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period_start}"
class ErasureRecord(models.Model):
    """One person's erasure request (``person_erase``): who asked, when, and how many rows of what were anonymised.

    Holds no personal data: the e-mail only as a keyed hash (HMAC-SHA256 with the install's own key,
    ``revops/base/privacy.py`` ``email_hash``), so a repeated request is recognised and a stale import of the same
    address is refused.
    """

    email_hash = models.CharField(max_length=64, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", help_text="Who asked (empty: a management command).")
    via = models.CharField(max_length=20, default="api", help_text="api or command")
    lead_ids = models.JSONField(default=list, blank=True, help_text="The anonymised leads (ids only).")
    counts = models.JSONField(default=dict, blank=True, help_text="Rows anonymised, purged or deleted, per table.")
    repeat = models.BooleanField(default=False, help_text="Nothing personal was left: an earlier request erased it.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"erasure #{self.pk} ({len(self.lead_ids)} lead(s))"


class InstallSecret(models.Model):
    """A random value made once per install (by its migration), kept in the database beside the data it protects, so
    it outlives a change of ``SECRET_KEY``: the key of the erasure e-mail hash (``revops/base/privacy.py``)."""

    name = models.CharField(max_length=50, primary_key=True)
    value = models.CharField(max_length=128)

    def __str__(self) -> str:
        return self.name


class SummaryMark(models.Model):
    """How far a summary table has read its source (revops/base/db/summary.py): every row up to ``settled_id``;
    ``refreshed_at``: when its rows were last written (by a refresh, or for some keys outside one)."""

    name = models.CharField(max_length=50, primary_key=True)
    settled_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.name}: settled at row {self.settled_id}"


from .webhook_models import WebhookDelivery, WebhookSubscription  # noqa: E402, F401 - registered with the app's models
