"""The dashboards' summaries, kept from the lead history by revops/top/dashboard_facts.py: the per-lead facts (one
narrow row per lead with the columns the dashboards filter and count by) and the daily roll-up of those facts (one row
per day and combination of the dimensions, with counts). Derived and rebuilt at will: no history, no constraints."""

from django.conf import settings
from django.db import models


class FilterDimensions(models.Model):
    """What the dashboards filter leads by (and the speed page groups by), with the lead's names: the facts and the
    roll-ups share them, so the filters (dashboards_filters.py) apply to any of them."""

    source = models.CharField(max_length=100, blank=True)
    campaign = models.CharField(max_length=255, blank=True)
    segment = models.CharField(max_length=50, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, db_constraint=False,
                              related_name="+")
    band = models.CharField(max_length=2, blank=True)

    class Meta:
        abstract = True


class LeadDimensions(FilterDimensions):
    """The filters' dimensions and what the counted figures group by besides."""

    stage = models.CharField(max_length=20, blank=True)
    outcome = models.CharField(max_length=10, blank=True)

    class Meta:
        abstract = True


class LeadFacts(LeadDimensions):
    """A lead as the dashboards read it. The names are the lead's (``source``, ``band``, ``owner``…), so a figure
    counts these rows as it would count leads; the funnel's first times (``mql_at``…) and the first assignment come
    from their summaries, the segment from the lead's last scoring."""

    id = models.BigIntegerField(primary_key=True, help_text="The lead's id.")
    merged = models.BooleanField(default=False, help_text="Merged into another lead (not live).")
    created_at = models.DateTimeField()
    score = models.IntegerField(null=True)
    predicted_probability = models.FloatField(null=True)
    deal_value = models.DecimalField(max_digits=16, decimal_places=2, null=True)
    closed_at = models.DateTimeField(null=True)
    queue = models.CharField(max_length=10, blank=True)
    queue_reason = models.CharField(max_length=500, blank=True)
    assigned_at = models.DateTimeField(null=True)
    first_assigned_at = models.DateTimeField(null=True, help_text="The first routing decision that gave it an owner "
                                                                  "(or assigned_at, for an owner set by hand).")
    first_touched_at = models.DateTimeField(null=True)
    reached = models.SmallIntegerField(default=0, help_text="The furthest funnel stage ever reached (0 new … 5 "
                                                            "customer), from the first times below.")
    first_at = models.DateTimeField(null=True, help_text="The lead's first history row (the funnel's start).")
    engaged_at = models.DateTimeField(null=True)
    mql_at = models.DateTimeField(null=True)
    sql_at = models.DateTimeField(null=True)
    opportunity_at = models.DateTimeField(null=True)
    customer_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = "lead facts (dashboard summary)"
        verbose_name_plural = "lead facts (dashboard summary)"
        indexes = [
            models.Index(fields=["created_at"], name="leadfacts_created"),
            models.Index(fields=["owner"], name="leadfacts_owner"),
            models.Index(fields=["queue"], name="leadfacts_queued", condition=~models.Q(queue="")),
            models.Index(fields=["id"], name="leadfacts_merged", condition=models.Q(merged=True)),
            models.Index(fields=["created_at"], name="leadfacts_won",
                         condition=models.Q(outcome="won", merged=False)),
            # The calibration table reads the period's closed leads only (a tenth of them).
            models.Index(fields=["created_at"], name="leadfacts_closed",
                         condition=models.Q(outcome__in=["won", "lost"], merged=False)),
            # The deciles split a score's leads by id: its period's leads read in score order from the index alone.
            models.Index(fields=["score", "created_at"], name="leadfacts_scores", condition=models.Q(merged=False),
                         include=["id", "outcome", "deal_value"]),
        ]

    def __str__(self) -> str:
        return f"lead {self.id}: dashboard facts"


class LeadDay(LeadDimensions):
    """The live leads created on one day (the settings' time zone) with the same dimensions: how many, and their deal
    values. A dashboard sums these rows for whole days instead of counting a third of a million leads."""

    day = models.DateField()
    reached = models.SmallIntegerField(default=0)
    queue = models.CharField(max_length=10, blank=True)
    n = models.IntegerField(help_text="Leads.")
    deal_n = models.IntegerField(help_text="Leads with a deal value.")
    deal_sum = models.DecimalField(max_digits=18, decimal_places=2, null=True)

    class Meta:
        verbose_name = "leads per day (dashboard summary)"
        verbose_name_plural = "leads per day (dashboard summary)"
        indexes = [models.Index(fields=["day"], name="leadday_day")]

    def __str__(self) -> str:
        return f"{self.day}: {self.n} leads"


class DurationDay(FilterDimensions):
    """The durations' digest: the live leads created on one day (the settings' time zone) with the filters'
    dimensions, counted per bucket of one duration (``metric``: to the first assignment, from it to the first touch,
    or between two consecutive funnel stages). A bucket is 5 % wide (revops/top/duration_days.py): a median or 90th
    percentile read from the buckets is within 2.5 % of the exact one. ``hours`` is the speed page's histogram
    bucket, so its histograms are exact."""

    ASSIGNMENT, FIRST_TOUCH = 0, 1
    #: Between consecutive funnel stages: new → engaged (2), engaged → MQL (3), … opportunity → customer (6).
    STAGE_STEPS = (2, 3, 4, 5, 6)

    day = models.DateField()
    metric = models.SmallIntegerField(choices=[(ASSIGNMENT, "to assignment"), (FIRST_TOUCH, "to first touch"),
                                               (2, "new to engaged"), (3, "engaged to MQL"), (4, "MQL to SQL"),
                                               (5, "SQL to opportunity"), (6, "opportunity to customer")])
    bucket = models.SmallIntegerField(help_text="Bucket k ≥ 1 holds durations from 1.05^(k-1) to 1.05^k ms; -k the "
                                                "same negative; 0 under a millisecond.")
    hours = models.SmallIntegerField(help_text="The histogram bucket (revops/top/dashboards_stats.py HOURS_BUCKETS).")
    n = models.IntegerField(help_text="Leads.")

    class Meta:
        verbose_name = "durations per day (dashboard summary)"
        verbose_name_plural = "durations per day (dashboard summary)"
        indexes = [models.Index(fields=["day", "metric"], name="durationday_day")]

    def __str__(self) -> str:
        return f"{self.day}: {self.n} leads in bucket {self.bucket} of {self.get_metric_display()}"


class TaskDay(FilterDimensions):
    """The follow-ups (cancelled ones left out) of the live leads created on one day, with their lead's dimensions,
    counted by assignee, status and disposition: how many, and how many were done by their due time. An open one
    keeps the day it is due, so those overdue at a moment are summed from the days before it (and that day's are
    read from the tasks). The speed page's SLA columns and dispositions sum these rows (revops/top/task_days.py)."""

    day = models.DateField()
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, db_constraint=False,
                                 related_name="+")
    status = models.CharField(max_length=10)
    disposition = models.CharField(max_length=20, blank=True)
    due_day = models.DateField(null=True, help_text="An open follow-up's due day (the settings' time zone).")
    n = models.IntegerField(help_text="Follow-ups.")
    on_time = models.IntegerField(help_text="Of which done by their due time.")

    class Meta:
        verbose_name = "follow-ups per day (dashboard summary)"
        verbose_name_plural = "follow-ups per day (dashboard summary)"
        indexes = [models.Index(fields=["day"], name="taskday_day")]

    def __str__(self) -> str:
        return f"{self.day}: {self.n} follow-ups {self.status}"


class ExperimentLead(models.Model):
    """A lead scored under an A/B experiment's variant, whether one of those scorings made it MQL or better, and its
    outcome: the experiments page counts these (one row per lead and variant) instead of every score change, without
    joining the facts."""

    experiment = models.ForeignKey("scoring.ScoringExperiment", on_delete=models.DO_NOTHING, db_constraint=False,
                                   related_name="+")
    variant = models.CharField(max_length=1)
    lead = models.ForeignKey(LeadFacts, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    qualified = models.BooleanField(default=False)
    outcome = models.CharField(max_length=10, blank=True, help_text="The lead's outcome, copied from its facts "
                                                                    "whenever they are rebuilt.")

    class Meta:
        verbose_name = "lead in an experiment (dashboard summary)"
        verbose_name_plural = "leads in experiments (dashboard summary)"
        indexes = [models.Index(fields=["experiment", "variant"], name="experimentlead_variant"),
                   models.Index(fields=["lead"], name="experimentlead_lead")]

    def __str__(self) -> str:
        return f"lead {self.lead_id} in experiment {self.experiment_id} ({self.variant})"


class ExperimentCount(models.Model):
    """The experiments summary counted: per experiment, variant, whether qualified, and outcome, how many leads. The
    page reads these few rows instead of counting every lead of a large experiment (each scoring under a variant adds
    one); kept by the statements that write the summary, each change counted out and in again
    (revops/top/experiment_summary.py)."""

    experiment = models.ForeignKey("scoring.ScoringExperiment", on_delete=models.DO_NOTHING, db_constraint=False,
                                   related_name="+")
    variant = models.CharField(max_length=1)
    qualified = models.BooleanField(default=False)
    outcome = models.CharField(max_length=10, blank=True)
    n = models.IntegerField(default=0, help_text="Leads.")

    class Meta:
        verbose_name = "leads in an experiment, counted (dashboard summary)"
        verbose_name_plural = "leads in experiments, counted (dashboard summary)"
        constraints = [models.UniqueConstraint(fields=["experiment", "variant", "qualified", "outcome"],
                                               name="experimentcount_key")]

    def __str__(self) -> str:
        return f"experiment {self.experiment_id} ({self.variant}): {self.n} leads"
