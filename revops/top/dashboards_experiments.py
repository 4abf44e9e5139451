"""A/B threshold experiments and "score is wrong" feedback.

Experiments: per experiment and variant, the leads scored under it (a lead belongs to the variant its score changes
were logged with; ``scoring.experiments`` never flips it), how many reached MQL, won and lost, the conversion (won of
the variant's leads) and a two-proportion test of B against A. Feedback: the flags of the period by reason, by band,
and by scoring rule (the reason codes on the flagged lead's score), the last one read from the JSON list in SQL.
One grouped query per table."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from leads.choices import Outcome
from scoring.choices import FeedbackReason, Variant
from scoring.models import ScoreFeedback, ScoringExperiment

from .dashboard_facts import lead_facts_refresh_quietly
from .dashboards_stats import json_objects, pct, two_proportion_test
from .experiment_summary import experiment_leads_refresh_quietly
from .models import ExperimentCount, ExperimentLead


def experiment_results(leads, limit: int = 10, *, narrow: bool = True) -> list[dict]:
    """The newest experiments (running first), each with its variants' figures and the significance note.
    ``leads``: every filter but the period (an experiment has its own dates); ``narrow=False``: they are every lead,
    so the figures are summed from the summary's counts. Otherwise counted from the experiments summary (one row per
    lead and variant, with its outcome: experiment_summary.py)."""
    experiments = list(ScoringExperiment.objects.order_by("-active", "-created_at", "-id")[:limit])
    if not experiments:
        return []
    lead_facts_refresh_quietly()
    experiment_leads_refresh_quietly()
    if narrow:
        figures = ExperimentLead.objects.filter(experiment__in=experiments, lead__in=leads.order_by().values("pk"))\
            .values("experiment_id", "variant").annotate(
                leads=Count("lead"), mql=Count("lead", filter=Q(qualified=True)),
                won=Count("lead", filter=Q(outcome=Outcome.WON)), lost=Count("lead", filter=Q(outcome=Outcome.LOST)),
            ).order_by()
    else:  # every lead: the summary's rows counted already, a few per variant
        figures = ExperimentCount.objects.filter(experiment__in=experiments).values("experiment_id", "variant")\
            .annotate(leads=Coalesce(Sum("n"), 0), mql=Coalesce(Sum("n", filter=Q(qualified=True)), 0),
                      won=Coalesce(Sum("n", filter=Q(outcome=Outcome.WON)), 0),
                      lost=Coalesce(Sum("n", filter=Q(outcome=Outcome.LOST)), 0)).order_by()
    by_experiment: dict[int, dict[str, dict]] = {}
    for row in figures:
        by_experiment.setdefault(row["experiment_id"], {})[row["variant"]] = row
    result = []
    for experiment in experiments:
        variants = []
        for variant in (Variant.A, Variant.B):
            row = by_experiment.get(experiment.pk, {}).get(variant, {})
            n, won = row.get("leads", 0), row.get("won", 0)
            variants.append({
                "experiment": experiment.name, "segment": experiment.segment, "variant": variant.value,
                "leads": n, "mql": row.get("mql", 0), "mql_pct": pct(row.get("mql", 0), n), "won": won,
                "lost": row.get("lost", 0), "conversion": pct(won, n),
                "win_rate": pct(won, won + row.get("lost", 0)),
            })
        a, b = variants
        test = two_proportion_test(a["won"], a["leads"], b["won"], b["leads"])
        result.append({
            "experiment": experiment, "variants": variants, "test": test,
            "note": test["text"] if test else "No leads scored under both variants yet.",
            "expected_b_pct": experiment.split_percent, "observed_b_pct": pct(b["leads"], a["leads"] + b["leads"]),
        })
    return result


def feedback_by_reason(feedback) -> list[dict]:
    """Flags per reason and band (A, B, C, D, none) with the total per reason."""
    counts = {(row["reason"], row["band"]): row["n"] for row in
              feedback.values("reason", "band").annotate(n=Count("id")).order_by()}
    bands = sorted({band for _, band in counts})
    rows = []
    for reason in FeedbackReason:
        per_band = {band or "—": counts.get((reason.value, band), 0) for band in bands}
        rows.append({"reason": reason.label, "code": reason.value, "flags": sum(per_band.values()),
                     **{f"band_{band}": n for band, n in per_band.items()}})
    return rows


def feedback_by_rule(feedback, limit: int = 15) -> list[dict]:
    """Flags per scoring rule (a reason code on the flagged lead's score) and reason, the most flagged first:
    which rules the people who flag scores disagree with."""
    ids, params = feedback.order_by().values("id").query.sql_with_params()
    score_reasons = json_objects("l.score_reasons")
    code = score_reasons.text("code")
    feedback_table = connection.ops.quote_name(ScoreFeedback._meta.db_table)
    lead_table = connection.ops.quote_name(ScoreFeedback._meta.get_field("lead").related_model._meta.db_table)
    reasons = ", ".join(f"SUM(CASE WHEN f.reason = '{reason}' THEN 1 ELSE 0 END)" for reason in FeedbackReason.values)
    sql = (f"SELECT {code} AS code, COUNT(*) AS flags, {reasons} FROM {feedback_table} f "
           f"JOIN {lead_table} l ON l.id = f.lead_id CROSS JOIN {score_reasons.elements} "
           f"WHERE f.id IN ({ids}) AND {code} IS NOT NULL GROUP BY {code} ORDER BY COUNT(*) DESC, {code} LIMIT %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        found = cursor.fetchall()
    return [{"rule": row[0], "flags": row[1],
             **{reason: n for reason, n in zip(FeedbackReason.values, row[2:], strict=True)}} for row in found]
