"""The dashboard pages as data: each page is a list of sections (a table, its CSV columns, a chart and notes) built
from the figures modules under the page's filters. The view renders every section, or one as CSV; a section is built
only when asked for, so a CSV download computes its own table alone.

Pages: ``scores`` (bands, deciles, calibration), ``funnel`` (cohort, activity, days between stages), ``speed``
(speed-to-lead), ``routing``, ``workload``, ``experiments`` (A/B results and feedback); see dashboards_pages_ops.py
for the last three."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from django.utils import timezone

from .dashboard_facts import live_facts
from .dashboards_bands import non_separating
from .dashboards_counts import bands_counted, cohort_from, lead_counts
from .dashboards_deciles import calibration_table, decile_table
from .dashboards_filters import DashboardFilters
from .dashboards_funnel import activity_funnel, cohort_rows, stage_times
from .dashboards_speed import (
    SpeedDigest,
    dispositions_by_rep,
    follow_ups_rolled_up,
    sla_counts,
    speed_by,
    speed_digest,
    speed_histograms,
)
from .dashboards_stats import HOURS_BUCKETS

BLUE, LIGHT_BLUE, GREEN, ORANGE, RED, GREY = "#2f80ed", "#c9dcf7", "#27ae60", "#f2994a", "#eb5757", "#9fb3c8"
PALETTE = [BLUE, GREEN, ORANGE, RED, "#9b51e0", GREY, "#56ccf2"]


@dataclass
class Section:
    """One card of a page: a table (``columns`` are (key, label) pairs, the CSV's too), a chart and notes."""

    key: str
    title: str
    columns: list[tuple[str, str]]
    rows: list[dict]
    chart: dict | None = None
    note: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class Page:
    slug: str
    title: str
    intro: str
    #: (CSV key or key prefix, builder): a builder returns the sections of one topic.
    parts: list[tuple[str, Callable[[], list[Section]]]]

    def sections(self, only: str | None = None) -> list[Section]:
        """Every section, or only the one keyed ``only`` (None if no part knows it); each builder runs once."""
        built, done = [], set()
        for key, build in self.parts:
            if id(build) in done or not (only is None or only == key or only.startswith(f"{key}-")):
                continue
            built.extend(build())
            done.add(id(build))
        return [section for section in built if only is None or section.key == only]


def dataset(label: str, data: list, color: str, **extra) -> dict:
    return {"label": label, "data": data, "color": color, **extra}


def bar_chart(labels: list, *datasets: dict, horizontal: bool = False, stacked: bool = False,
              y_max: float | None = None, title: str = "") -> dict:
    """A Chart.js bar chart spec (the page's script turns it into a chart; a dataset may set ``type: line``)."""
    return {"labels": [str(label) for label in labels], "datasets": list(datasets), "horizontal": horizontal,
            "stacked": stacked, "max": y_max, "title": title}


def column(rows: list[dict], key: str) -> list:
    return [row.get(key) for row in rows]


# --- Score bands, deciles, calibration -----------------------------------------------------------------------------

BAND_COLUMNS = [("band", "Band"), ("leads", "Leads"), ("won", "Won"), ("lost", "Lost"), ("open", "Open"),
                ("closed", "Closed"), ("conversion", "Conversion % (won / closed)"), ("ci_low", "95% CI low %"),
                ("ci_high", "95% CI high %"), ("avg_deal", "Average won deal value"),
                ("total_deal", "Total won deal value"), ("median_days_to_close", "Median days to close (won)")]
DECILE_COLUMNS = [("decile", "Decile (1 = highest scores)"), ("scores", "Scores"), *BAND_COLUMNS[1:]]
CALIBRATION_COLUMNS = [("decile", "Decile (1 = highest probability)"), ("range", "Predicted range"),
                       ("leads", "Closed leads"), ("won", "Won"), ("predicted", "Mean predicted %"),
                       ("observed", "Observed won %"), ("ci_low", "95% CI low %"), ("ci_high", "95% CI high %"),
                       ("gap", "Observed − predicted (points)")]


def _interval_dataset(rows: list[dict]) -> dict:
    return dataset("95 % interval", [[row["ci_low"], row["ci_high"]] if row["ci_low"] is not None else None
                                     for row in rows], LIGHT_BLUE)


def scores_page(filters: DashboardFilters) -> Page:
    leads = filters.apply(live_facts())

    def bands() -> list[Section]:  # counted from the daily roll-up, the medians from the facts
        rows = bands_counted(filters)
        return [Section("bands", "Conversion by score band", BAND_COLUMNS, rows, bar_chart(
            column(rows, "band"), dataset("Conversion % (won / closed)", column(rows, "conversion"), BLUE),
            _interval_dataset(rows), y_max=100), warnings=[w["text"] for w in non_separating(rows)])]

    def deciles() -> list[Section]:
        rows = decile_table(leads)
        return [Section("deciles", "Conversion by score decile", DECILE_COLUMNS, rows, bar_chart(
            column(rows, "decile"), dataset("Conversion % (won / closed)", column(rows, "conversion"), BLUE),
            _interval_dataset(rows), y_max=100),
            note="The scored leads ranked by score and cut into ten groups of equal size; a good score converts "
                 "best in decile 1 and worse in each decile after it.")]

    def calibration() -> list[Section]:
        rows = calibration_table(leads)
        warnings = [f"Decile {row['decile']}: predicted {row['predicted']} %, observed {row['observed']} % "
                    f"({row['won']}/{row['leads']}, 95 % CI {row['ci_low']}–{row['ci_high']} %)."
                    for row in rows if not row["within_interval"]]
        return [Section("calibration", "Calibration of the predicted win probability", CALIBRATION_COLUMNS, rows,
                        bar_chart(column(rows, "decile"), dataset("Observed won %", column(rows, "observed"), GREEN),
                                  dataset("Mean predicted %", column(rows, "predicted"), ORANGE, type="line"),
                                  y_max=100),
                        note="Closed leads with a stored win probability, in ten groups by that probability. A "
                             "calibrated model's predicted % falls inside the observed interval.",
                        warnings=[f"Outside the interval: {' '.join(warnings)}"] if warnings else [])]

    return Page("scores", "Score bands and deciles", "Leads created in the period.",
                [("bands", bands), ("deciles", deciles), ("calibration", calibration)])


# --- Funnel --------------------------------------------------------------------------------------------------------

COHORT_COLUMNS = [("stage", "Stage"), ("reached", "Leads that reached it"), ("reached_pct", "Share of cohort %"),
                  ("from_previous_pct", "Conversion from previous stage %")]
ACTIVITY_COLUMNS = [("stage", "Stage"), ("entered", "Leads that crossed into it in the period"),
                    ("from_previous_pct", "Against the previous stage %")]
STAGE_TIME_COLUMNS = [("step", "Step"), ("leads", "Leads that made it"), ("median_days", "Median days"),
                      ("p90_days", "90th percentile days")]


def funnel_page(filters: DashboardFilters) -> Page:
    cohort = filters.apply(live_facts())
    counted = cache(lambda: cohort_from(lead_counts(filters, "reached")))  # the daily roll-up, read once

    def by_cohort() -> list[Section]:
        rows = cohort_rows(*counted())
        return [Section("cohort", "Funnel by cohort (leads created in the period)", COHORT_COLUMNS, rows, bar_chart(
            column(rows, "stage"), dataset("Leads that reached the stage", column(rows, "reached"), GREEN),
            horizontal=True), note="A lead counts at every stage it ever reached (from its history), even if it "
                                   "later decayed, was disqualified or suppressed.")]

    def by_activity() -> list[Section]:
        start, end = filters.window()
        rows = activity_funnel(filters.apply_dimensions(live_facts()), start, end, narrow=filters.narrows_leads(),
                               created=counted()[0])  # "New": the leads created in the period, the cohort
        return [Section("activity", "Funnel by activity (moves made in the period)", ACTIVITY_COLUMNS, rows,
                        bar_chart(column(rows, "stage"), dataset("Leads that crossed into the stage",
                                                                 column(rows, "entered"), BLUE), horizontal=True),
                        note="Whenever the lead was created: a move from below a stage to it or past it, dated by "
                             "the history. New: leads created in the period.")]

    def times() -> list[Section]:
        rows = stage_times(cohort, filters)
        return [Section("stage-times", "Days between stages (leads created in the period)", STAGE_TIME_COLUMNS, rows,
                        bar_chart(column(rows, "step"), dataset("Median days", column(rows, "median_days"), BLUE),
                                  dataset("90th percentile days", column(rows, "p90_days"), LIGHT_BLUE),
                                  horizontal=True),
                        note="From the first time a lead reached a stage (or a later one) to the first time it "
                             "reached the next; each median and 90th percentile within 2.5 % of the exact value.")]

    return Page("funnel", "Funnel", "", [("cohort", by_cohort), ("activity", by_activity),
                                         ("stage-times", times)])


# --- Speed-to-lead -------------------------------------------------------------------------------------------------

SPEED_COLUMNS = [("leads", "Leads"), ("assigned", "Assigned"), ("assign_p50_h", "Median h to assignment"),
                 ("assign_p90_h", "p90 h to assignment"), ("touched", "Touched"),
                 ("touch_p50_h", "Median h to first touch"), ("touch_p90_h", "p90 h to first touch"),
                 ("tasks_due", "Follow-ups done or overdue"), ("on_time", "Done on time"),
                 ("sla_pct", "SLA attainment %")]
DISPOSITION_COLUMNS = [("rep", "Rep"), ("total", "Follow-ups done"), ("contacted", "Contacted"),
                       ("no_answer", "No answer"), ("meeting_booked", "Meeting booked"),
                       ("disqualified", "Disqualified"), ("converted", "Converted")]
HISTOGRAM_COLUMNS = [("bucket", "Time"), ("count", "Leads")]


def speed_page(filters: DashboardFilters) -> Page:
    leads = filters.apply(live_facts())
    now = timezone.now()

    @cache
    def follow_ups() -> list[tuple]:  # the follow-ups counted once, read by the SLA columns and the dispositions
        return follow_ups_rolled_up(filters, now)

    @cache
    def sla() -> dict:
        return sla_counts(leads, now, follow_ups())

    @cache
    def digest() -> SpeedDigest:  # the period's durations, bucketed: read by every table and histogram
        return speed_digest(filters)

    def summary() -> list[Section]:
        rows = speed_by(leads, None, now, sla(), digest())
        histograms = speed_histograms(leads, digest())
        labels = [label for label, _ in HOURS_BUCKETS]
        overall = rows[0] if rows else {}
        headline = (f"Median {overall.get('assign_p50_h')} h to assignment (p90 {overall.get('assign_p90_h')} h), "
                    f"median {overall.get('touch_p50_h')} h to first touch (p90 {overall.get('touch_p90_h')} h), "
                    f"SLA attainment {overall.get('sla_pct')} %.") if overall.get("assigned") else ""
        return [
            Section("speed-assignment", "Time to assignment", HISTOGRAM_COLUMNS, histograms["assignment"],
                    bar_chart(labels, dataset("Leads", column(histograms["assignment"], "count"), BLUE)),
                    note=f"From creation to the first owner. {headline}"),
            Section("speed-first-touch", "Time to first touch", HISTOGRAM_COLUMNS, histograms["first_touch"],
                    bar_chart(labels, dataset("Leads", column(histograms["first_touch"], "count"), GREEN)),
                    note="From the first assignment to the owner's first disposition or logged activity."),
        ]

    def by(dimension: str, title: str) -> Callable[[], list[Section]]:
        def build() -> list[Section]:
            rows = speed_by(leads, dimension, now, sla(), digest())
            return [Section(f"speed-{dimension}", f"Speed-to-lead by {title}", [(dimension, title.capitalize()),
                                                                                 *SPEED_COLUMNS], rows,
                            bar_chart(column(rows, dimension),
                                      dataset("Median h to assignment", column(rows, "assign_p50_h"), BLUE),
                                      dataset("Median h to first touch", column(rows, "touch_p50_h"), GREEN),
                                      dataset("SLA attainment %", column(rows, "sla_pct"), ORANGE, type="line")))]
        return build

    def dispositions() -> list[Section]:
        rows = dispositions_by_rep(leads, follow_ups())
        keys = DISPOSITION_COLUMNS[2:]
        return [Section("dispositions", "Dispositions by rep", DISPOSITION_COLUMNS, rows, bar_chart(
            column(rows, "rep"), *(dataset(label, column(rows, key), PALETTE[i]) for i, (key, label) in
                                   enumerate(keys)), stacked=True))]

    return Page("speed", "Speed-to-lead", "Leads created in the period; median and 90th percentile, not the mean, "
                "each within 2.5 % of the exact value (read from a maintained digest; counts are exact).",
                [("speed-assignment", summary), ("speed-first-touch", summary), ("speed-team", by("team", "team")),
                 ("speed-rep", by("rep", "rep")), ("speed-source", by("source", "source")),
                 ("speed-band", by("band", "band")), ("dispositions", dispositions)])
