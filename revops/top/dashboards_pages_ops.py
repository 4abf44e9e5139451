"""The operational dashboard pages as data: routing, rep workload, experiments and feedback (see dashboards_pages.py
for the sections' shape)."""

from __future__ import annotations

from functools import cache

from scoring.models import ScoreFeedback

from . import dashboards_pages as pages
from . import dashboards_routing as routing
from .dashboard_facts import all_facts, live_facts
from .dashboards_experiments import experiment_results, feedback_by_reason, feedback_by_rule
from .dashboards_filters import DashboardFilters
from .dashboards_pages import Page, Section, bar_chart, column, dataset
from .dashboards_workload import workload_table

RULE_COLUMNS = [("rule", "Rule"), ("decisions", "Decisions"), ("leads", "Leads"), ("to_rep", "Given to a rep"),
                ("to_queue", "Sent to a queue")]
REP_COLUMNS = [("rep", "Rep"), ("team", "Team"), ("decisions", "Leads given"), ("leads", "Distinct leads"),
               ("reassigned_in", "Of which reassigned from another owner")]
QUEUE_COLUMNS = [("queue", "Queue"), ("waiting", "Waiting now"), ("oldest_h", "Oldest (h)"),
                 ("median_h", "Median age (h)"), ("p90_h", "p90 age (h)"),
                 *((label, label) for label, _ in routing.QUEUE_AGES)]
QUEUE_REASON_COLUMNS = [("queue", "Queue"), ("reason", "Why"), ("leads", "Leads")]
REROUTE_COLUMNS = [("cause", "Why"), ("decisions", "Decisions"), ("reassignments", "Owner changed"),
                   ("kept", "Owner kept"), ("from_queue", "Out of a queue"), ("manual", "By a person")]
FAIRNESS_COLUMNS = [("pool", "Pool"), ("rep", "Rep"), ("assigned", "Assigned"), ("pool_total", "Pool total"),
                    ("share", "Share %"), ("expected", "Expected share %"), ("gap", "Gap (points)")]
WORKLOAD_COLUMNS = [("rep", "Rep"), ("team", "Team"), ("active", "Active"), ("open_leads", "Open leads"),
                    ("capacity", "Capacity"), ("utilisation_pct", "Of capacity %"), ("open_tasks", "Open tasks"),
                    ("overdue_tasks", "Overdue tasks"), ("oldest_overdue_h", "Oldest overdue (h)")]
VARIANT_COLUMNS = [("variant", "Variant"), ("leads", "Leads scored"), ("mql", "Reached MQL"),
                   ("mql_pct", "MQL %"), ("won", "Won"), ("lost", "Lost"), ("conversion", "Conversion % (won / leads)"),
                   ("win_rate", "Win rate % (won / closed)")]
FEEDBACK_RULE_COLUMNS = [("rule", "Scoring rule (reason code)"), ("flags", "Flags"), ("too_high", "Too high"),
                         ("too_low", "Too low"), ("wrong_data", "Wrong data"), ("other", "Other")]


def routing_page(filters: DashboardFilters) -> Page:
    leads = filters.apply_dimensions(all_facts())
    live = filters.apply_dimensions(live_facts())
    # The period's decisions counted once (a few hundred grouped rows), read by every decisions table of the page.
    counted = cache(lambda: routing.decision_counts(routing.decisions_in(filters, leads), since=filters.window()[0]))

    def rules() -> list[Section]:
        rows = routing.per_rule(counted())
        return [Section("rules", "Decisions per rule", RULE_COLUMNS, rows, bar_chart(
            column(rows, "rule"), dataset("Given to a rep", column(rows, "to_rep"), pages.BLUE),
            dataset("Sent to a queue", column(rows, "to_queue"), pages.ORANGE), horizontal=True, stacked=True))]

    def reps() -> list[Section]:
        rows = routing.per_rep(counted())
        return [Section("reps", "Leads given per rep", REP_COLUMNS, rows, bar_chart(
            column(rows, "rep"), dataset("Leads given", column(rows, "decisions"), pages.BLUE),
            dataset("Of which reassigned in", column(rows, "reassigned_in"), pages.ORANGE)))]

    def queues() -> list[Section]:
        rows = routing.queue_ages(live)
        labels = [label for label, _ in routing.QUEUE_AGES]
        return [Section("queues", "Holding and review queues now", QUEUE_COLUMNS, rows, bar_chart(
            column(rows, "queue"), *(dataset(label, column(rows, label), color) for label, color in
                                     zip(labels, (pages.GREEN, pages.BLUE, pages.ORANGE, pages.RED), strict=True)),
            horizontal=True, stacked=True), note="Ages count from the lead's creation.")]

    def reasons() -> list[Section]:
        rows = routing.queue_reasons(live)
        return [Section("queue-reasons", "Why leads wait", QUEUE_REASON_COLUMNS, rows, bar_chart(
            [row["reason"][:40] for row in rows], dataset("Leads", column(rows, "leads"), pages.GREY),
            horizontal=True))]

    def moved() -> list[Section]:
        rows = routing.reroutes(counted())
        return [Section("reroutes", "Re-routes and reassignments, and why", REROUTE_COLUMNS, rows, bar_chart(
            [row["cause"][:40] for row in rows], dataset("Owner changed", column(rows, "reassignments"), pages.RED),
            dataset("Out of a queue", column(rows, "from_queue"), pages.BLUE),
            dataset("Owner kept", column(rows, "kept"), pages.GREY), horizontal=True, stacked=True))]

    def fair() -> list[Section]:
        rows = routing.fairness(counted())
        return [Section("fairness", "Round-robin fairness per pool", FAIRNESS_COLUMNS, rows, bar_chart(
            [f"{row['rep']} ({row['pool'].split(' · ')[0]})" for row in rows],
            dataset("Share %", column(rows, "share"), pages.BLUE), dataset("Expected share %", column(rows, "expected"),
                                                                     pages.LIGHT_BLUE)),
            note="Expected: an equal share of the team's active reps (round robin) or by weight (weighted). Time "
                 "off, caps and capacity move the real shares.")]

    return Page("routing", "Routing", "Decisions made in the period (undone ones left out); the queues now.",
                [("rules", rules), ("reps", reps), ("queues", queues), ("queue-reasons", reasons),
                 ("reroutes", moved), ("fairness", fair)])


def workload_page(filters: DashboardFilters) -> Page:
    def build() -> list[Section]:
        rows = workload_table(filters, filters.apply_dimensions(live_facts()))
        over = [f"{row['rep']} ({row['open_leads']}/{row['capacity']})" for row in rows if row["over_capacity"]]
        return [Section("workload", "Open leads and tasks against capacity", WORKLOAD_COLUMNS, rows, bar_chart(
            column(rows, "rep"), dataset("Open leads", column(rows, "open_leads"), pages.BLUE),
            dataset("Capacity", column(rows, "capacity"), pages.GREY, type="line"),
            dataset("Overdue tasks", column(rows, "overdue_tasks"), pages.RED)),
            warnings=[f"Over capacity: {', '.join(over)}."] if over else [])]

    return Page("workload", "Rep workload", "Now, whatever the period.", [("workload", build)])


def experiments_page(filters: DashboardFilters) -> Page:
    leads = filters.apply_dimensions(all_facts())

    def experiments() -> list[Section]:
        sections = []
        for result in experiment_results(leads, narrow=filters.narrows_leads()):
            experiment, rows = result["experiment"], result["variants"]
            sections.append(Section(
                f"experiment-{experiment.pk}", f"Experiment: {experiment}", VARIANT_COLUMNS, rows, bar_chart(
                    column(rows, "variant"), dataset("Conversion %", column(rows, "conversion"), pages.BLUE),
                    dataset("MQL %", column(rows, "mql_pct"), pages.LIGHT_BLUE), y_max=100),
                note=f"Split: {result['expected_b_pct']} % to B expected, {result['observed_b_pct']} % observed. "
                     f"{result['note']}"))
        if not sections:
            sections.append(Section("experiment-none", "Experiments", VARIANT_COLUMNS, [],
                                    note="No A/B threshold experiment yet (Scoring → Scoring experiments)."))
        return sections

    def feedback() -> list[Section]:
        flags = filters.in_window(filters.about(ScoreFeedback.objects.all(), leads), "created_at")
        rows = feedback_by_reason(flags)
        bands = sorted({key for row in rows for key in row if key.startswith("band_")})
        return [Section("feedback", "“Score is wrong” flags by reason and band",
                        [("reason", "Reason"), ("flags", "Flags"), *((key, f"Band {key[5:]}") for key in bands)],
                        rows, bar_chart(column(rows, "reason"), *(dataset(f"Band {key[5:]}", column(rows, key),
                                                                          pages.PALETTE[i % len(pages.PALETTE)])
                                                                  for i, key in enumerate(bands)),
                                        horizontal=True, stacked=True))]

    def by_rule() -> list[Section]:
        flags = filters.in_window(filters.about(ScoreFeedback.objects.all(), leads), "created_at")
        rows = feedback_by_rule(flags)
        return [Section("feedback-rules", "Flags by scoring rule", FEEDBACK_RULE_COLUMNS, rows, bar_chart(
            column(rows, "rule"), dataset("Too high", column(rows, "too_high"), pages.RED),
            dataset("Too low", column(rows, "too_low"), pages.GREEN), dataset("Wrong data", column(rows, "wrong_data"),
                                                                        pages.GREY), horizontal=True, stacked=True),
            note="The reason codes on the flagged lead's score: the rules people disagree with.")]

    return Page("experiments", "Experiments and feedback",
                "Experiments over their own dates; flags raised in the period.",
                [("experiment", experiments), ("feedback", feedback), ("feedback-rules", by_rule)])
