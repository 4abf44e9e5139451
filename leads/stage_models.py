"""The funnel's summary of the lead history, kept for the dashboards (leads/services/stage_summary.py).

``StageReach``: one row per lead, the first time it reached each funnel stage or a later one (a lead that decays out
of MQL keeps its ``mql_at``). ``StageMove``: the history rows where a lead's funnel rank changed (the row that
created the lead included), for "crossed into a stage during the period". How far the summary has read the history
is its ``SummaryMark`` (revops/base). Both tables are derived: rebuilt from the history at any time, never edited by
hand, so they carry no history of their own and no foreign-key constraint (a deleted lead's rows are never joined)."""

from django.db import models

from .choices import Stage

#: The funnel, in order: a lead's rank is its stage's position (0 = new … 5 = customer); other stages (nurture,
#: re-engaged, disqualified, suppressed) rank -1 and reach nothing.
FUNNEL_STAGES = [Stage.NEW, Stage.ENGAGED, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER]
#: StageReach's column for each rank from 1 (engaged) on.
REACHED_COLUMNS = ["engaged_at", "mql_at", "sql_at", "opportunity_at", "customer_at"]
#: StageMove's column for each rank from 1 on: the lead's previous crossing into that stage.
PREVIOUS_COLUMNS = [f"previous_{column}" for column in REACHED_COLUMNS]


class StageReach(models.Model):
    lead = models.OneToOneField("leads.Lead", primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False,
                                related_name="stage_reach")
    first_at = models.DateTimeField(help_text="The lead's first history row (its creation).")
    engaged_at = models.DateTimeField(null=True)
    mql_at = models.DateTimeField(null=True)
    sql_at = models.DateTimeField(null=True)
    opportunity_at = models.DateTimeField(null=True)
    customer_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = "stage reached (funnel summary)"

    def __str__(self) -> str:
        return f"lead {self.lead_id}: first reached each funnel stage"


class StageMove(models.Model):
    lead = models.ForeignKey("leads.Lead", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    at = models.DateTimeField()
    rank_before = models.SmallIntegerField(help_text="-1: the lead's creation, or a stage outside the funnel.")
    rank_now = models.SmallIntegerField()
    # Per funnel stage from engaged on: when this lead last crossed into it (from below it to it or past it) before
    # this move, empty if never. A move that crosses a stage is the lead's first crossing of it in a period when
    # that is empty or before the period: counting those counts distinct leads without sorting the period's moves.
    previous_engaged_at = models.DateTimeField(null=True)
    previous_mql_at = models.DateTimeField(null=True)
    previous_sql_at = models.DateTimeField(null=True)
    previous_opportunity_at = models.DateTimeField(null=True)
    previous_customer_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [models.Index(fields=["at"], name="leads_stagemove_at"),
                   models.Index(fields=["lead"], name="leads_stagemove_lead"),
                   # The activity funnel (revops/top/dashboards_funnel.py) reads the moves up the funnel of a period
                   # from this index alone on PostgreSQL (SQLite has no covering index: a partial one on the date).
                   models.Index(fields=["at"], name="stagemove_up",
                                include=["lead", "rank_before", "rank_now", *PREVIOUS_COLUMNS],
                                condition=models.Q(rank_now__gt=models.F("rank_before"), rank_now__gte=1))]

    def __str__(self) -> str:
        return f"lead {self.lead_id}: rank {self.rank_before} → {self.rank_now} at {self.at:%Y-%m-%d %H:%M}"
