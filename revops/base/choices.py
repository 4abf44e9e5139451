"""Choices shared by every layer: the workflows that can be switched off, notification and job outcomes."""

from django.db import models


class Workflow(models.TextChoices):
    """Every automated workflow; each has one kill switch (WorkflowSwitch) an admin flips without a deploy."""

    ENRICHMENT = "enrichment", "Enrichment"
    SCORING = "scoring", "Scoring"
    ROUTING = "routing", "Routing"
    TASKS = "tasks", "Follow-up tasks"
    NOTIFICATIONS = "notifications", "Notifications (Slack)"
    DECAY = "decay", "Score decay"
    DEDUP_SCAN = "dedup_scan", "Duplicate scan"
    RE_ENRICHMENT = "re_enrichment", "Re-enrichment"
    STALE_ALERTS = "stale_alerts", "Stale-lead alerts and escalation"
    PREDICTIVE = "predictive", "Predictive model training"
    DB_STATISTICS = "db_statistics", "Database statistics (SQLite query planner)"
    PENDING_SWEEP = "pending_sweep", "Pipeline sweeper (re-enqueue stuck pending jobs)"
    STAGE_SLA = "stage_sla", "Stage SLAs (time in stage: alerts and re-route)"
    RE_ENGAGEMENT = "re_engagement", "Re-engagement of inactive leads"
    EMAIL_DIGEST = "email_digest", "Daily e-mail digest to reps (08:00 their time)"
    HEALTH_ALERTS = "health_alerts", "Workflow-health alerts (rate-based, Slack and e-mail)"
    SCORING_REPORT = "scoring_report", "Daily scoring report (Slack and e-mail to managers)"
    WEEKLY_REVIEW = "weekly_review", "Weekly performance review (Slack and e-mail to managers)"
    WEBHOOKS = "webhooks", "Outbound webhooks"
    NURTURE = "nurture", "Nurture programs (e-mail steps to unowned nurture leads)"
    STAGE_SUMMARY = "stage_summary", "Dashboard summaries (funnel stages and first assignments, every minute)"


class Channel(models.TextChoices):
    """Where an outbox message goes."""

    SLACK = "slack", "Slack"
    EMAIL = "email", "E-mail"
    TEAMS = "teams", "Microsoft Teams"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    NOT_CONFIGURED = "not_configured", "Not configured (no Slack token or Teams webhook)"
    NO_RECIPIENT = "no_recipient", "No recipient"


class AutomationOutcome(models.TextChoices):
    DONE = "done", "Done"
    NOOP = "noop", "Nothing to do"
    SKIPPED = "skipped", "Skipped (kill switch off)"
    RETRY = "retry", "Failed, will retry"
    FAILED = "failed", "Failed"


class IncidentKind(models.TextChoices):
    """Why a workflow-health incident is open (revops/top/health_alerts.py)."""

    LOW = "low", "Runs far below its usual rate"
    HIGH = "high", "Runs far above its usual rate"
    FAILURES = "failures", "Failure rate jumped"


class ReportKind(models.TextChoices):
    """The scheduled reports (revops/top/reports_delivery.py)."""

    DAILY_SCORING = "daily_scoring", "Daily scoring report"
    WEEKLY_REVIEW = "weekly_review", "Weekly performance review"
class WebhookEvent(models.TextChoices):
    """The events a webhook subscription can receive (README "Webhooks")."""

    LEAD_CREATED = "lead.created", "Lead created"
    LEAD_SCORED = "lead.scored", "Lead scored (score, band or stage changed)"
    LEAD_ROUTED = "lead.routed", "Lead routed"
    LEAD_STAGE_CHANGED = "lead.stage_changed", "Lead stage changed"
    TASK_COMPLETED = "task.completed", "Task completed"
    LEAD_MERGED = "lead.merged", "Leads merged"


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending (waiting for its attempt)"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (retries spent)"
    CANCELLED = "cancelled", "Cancelled (subscription off)"
