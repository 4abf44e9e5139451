"""Choices of the routing layer."""

from django.db import models


class RepRole(models.TextChoices):
    SDR = "sdr", "SDR (qualification)"
    AE = "ae", "Account executive"
    SENIOR_AE = "senior_ae", "Senior AE"
    MANAGER = "manager", "Sales manager"


class RuleAction(models.TextChoices):
    ASSIGN_REP = "rep", "Assign to a rep"
    ASSIGN_TEAM = "team", "Assign to a team (strategy)"
    QUEUE = "queue", "Put in a queue"


class Strategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round robin"
    WEIGHTED = "weighted", "Weighted round robin"
    CAPACITY = "capacity", "Capacity (fewest open leads)"
    SKILLS = "skills", "Skills (industry, language), then round robin"
    PERFORMANCE = "performance", "Performance-weighted (recent conversion)"
    ACCOUNT = "account", "Account owner first, then round robin"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class TaskKind(models.TextChoices):
    FOLLOW_UP = "follow_up", "Follow up new lead"
    RE_ENGAGE = "re_engage", "Re-engage cold lead"
    HOT_LEAD = "hot_lead", "Hot lead: call now"


class Disposition(models.TextChoices):
    """How a rep closed a task (``routing.services.task_actions.task_complete``)."""

    CONTACTED = "contacted", "Contacted"
    NO_ANSWER = "no_answer", "No answer (retry a working day later)"
    MEETING_BOOKED = "meeting_booked", "Meeting booked"
    DISQUALIFIED = "disqualified", "Disqualified"
    CONVERTED = "converted", "Converted to an opportunity"


class NotifyChannel(models.TextChoices):
    """Where a rep's task messages go (a rep picks one or more)."""

    SLACK_DM = "slack_dm", "Slack direct message"
    TEAM_CHANNEL = "team_channel", "The team's Slack channel"
    EMAIL = "email", "E-mail"
    TEAMS = "teams", "Microsoft Teams (the team's channel)"


class NurtureStatus(models.TextChoices):
    """Where a lead's nurture enrollment stands (``routing/services/nurture.py``)."""

    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    STOPPED = "stopped", "Stopped"


class NurtureStopReason(models.TextChoices):
    """Why a nurture enrollment stopped before its last step."""

    OWNER = "owner", "Got an owner"
    REENGAGED = "re_engaged", "Re-engaged"
    CLOSED = "closed", "Closed (won, lost or disqualified)"
    MERGED = "merged", "Merged into another lead"
    CONSENT = "consent", "Opted out or suppressed"
    LEFT_QUEUE = "left_queue", "Left the nurture queue"
    NO_EMAIL = "no_email", "No e-mail address"
    PROGRAM_OFF = "program_off", "Program deactivated"
    MANUAL = "manual", "Stopped by hand"
