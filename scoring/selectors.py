"""Business logic of the scoring layer that only reads: model preview, experiment report, feedback report."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import numpy as np
from django.db.models import Count
from django.utils import timezone

from leads.choices import Outcome, Stage
from leads.models import Lead

from .bulk_engine import LeadColumns, score_batch
from .choices import Band, FeedbackReason, Variant
from .conditions import compile_condition
from .engine import compile_model
from .loaders import load_events, load_lead_columns
from .models import ScoreChange, ScoreFeedback, ScoringExperiment, ScoringModel
from .services.bulk import STORED, _assign, event_scope
from .services.config import SegmentConfig, scoring_config

PREVIEW_SCAN_LIMIT = 50_000
QUALIFIED = (Stage.MQL, Stage.SQL)
BAND_ORDER = [Band.A.value, Band.B.value, Band.C.value, Band.D.value, ""]
STAGE_ORDER = list(Stage.values)


def _matrix(pairs: Counter, order: list[str]) -> dict[str, Any]:
    """A from→to table for a template: the values that occur, in order, and the count of each pair."""
    present = [v for v in order if any(v in pair for pair in pairs)] + sorted(
        {v for pair in pairs for v in pair} - set(order))
    return {"labels": [v or "—" for v in present],
            "rows": [(a or "—", [pairs.get((a, b), 0) for b in present]) for a in present]}


def scoring_model_preview(*, model_id: int, last_n: int = 500, now: datetime | None = None,
                          sample_size: int = 20) -> dict[str, Any]:
    """What activating this model would do to the last ``last_n`` leads of its segment. Writes nothing.

    Steps: 1) compile the model and put it in its segment's place among the active models (so segment priorities
    decide as they would after activation); 2) walk the newest live leads until ``last_n`` belong to it; 3) score
    them with the vectorized engine (stored win probabilities, no experiment); 4) compare with their stored score,
    band and stage: counts, from→to matrices and a sample of leads that move.
    """
    now = now or timezone.now()
    model = ScoringModel.objects.get(pk=model_id)
    compiled = compile_model(model, list(model.rules.all()))
    segment_test = compile_condition(model.segment_operator, model.segment_value) if model.segment_operator else None
    candidate = SegmentConfig(model=model, segment_test=segment_test, compiled=compiled)
    configs = [c for c in scoring_config(fresh=True) if c.segment != model.segment] + [candidate]
    configs.sort(key=lambda c: (c.model.segment_priority, c.model.segment, -c.model.version))
    own = configs.index(candidate)
    fields = sorted({r.field for r in compiled.fit_rules} | {c.model.segment_field for c in configs
                                                             if c.model.segment_field} - set(STORED))
    recent = Lead.objects.live().order_by("-created_at", "-id").values_list("id", flat=True)
    chosen: list[int] = []
    for offset in range(0, PREVIEW_SCAN_LIMIT, 2000):
        batch = list(recent[offset:offset + 2000])
        if not batch:
            break
        ids, values = load_lead_columns(Lead.objects.filter(pk__in=batch), fields)
        members = ids[_assign(configs, values, int(ids.size)) == own]
        order = {pk: k for k, pk in enumerate(batch)}
        chosen.extend(sorted(members.tolist(), key=order.__getitem__)[:last_n - len(chosen)])
        if len(chosen) >= last_n:
            break
    ids, stored = load_lead_columns(Lead.objects.filter(pk__in=chosen), [*STORED, *fields, "first_name",
                                                                         "last_name", "email"])
    leads = LeadColumns(ids=ids, stage=stored["stage"], consent=stored["consent"],
                        values={name: stored[name] for name in fields},
                        probability=np.array([np.nan if p is None else p for p in stored["predicted_probability"]],
                                             dtype=np.float64))
    types, property_types, property_keys = event_scope([compiled])
    events = load_events(ids, types=types, property_types=property_types, property_keys=property_keys)
    result = score_batch(compiled, leads, events, now)
    bands, stages, sample = Counter(), Counter(), []
    before_scores = [s for s in stored["score"] if s is not None]
    for i in range(int(ids.size)):
        old_band, new_band = stored["band"][i] or "", str(result.band[i])
        old_stage, new_stage = stored["stage"][i], str(result.stage[i])
        bands[(old_band, new_band)] += 1
        stages[(old_stage, new_stage)] += 1
        if (old_band != new_band or old_stage != new_stage) and len(sample) < sample_size:
            name = f"{stored['first_name'][i]} {stored['last_name'][i]}".strip() or stored["email"][i]
            sample.append({"id": int(ids[i]), "name": name, "old_score": stored["score"][i],
                           "new_score": int(result.score[i]), "old_band": old_band, "new_band": new_band,
                           "old_stage": old_stage, "new_stage": new_stage,
                           "top_reasons": ", ".join(f"{r['code']} {r['points']:+d}" for r in result.reasons(i)[:3])})
    return {
        "model": model,
        "compared": int(ids.size),
        "requested": last_n,
        "band_changed": sum(n for (a, b), n in bands.items() if a != b),
        "stage_changed": sum(n for (a, b), n in stages.items() if a != b),
        "band_matrix": _matrix(bands, BAND_ORDER),
        "stage_matrix": _matrix(stages, STAGE_ORDER),
        "qualified_before": sum(1 for s in stored["stage"] if s in QUALIFIED),
        "qualified_after": int(sum(1 for s in result.stage.tolist() if s in QUALIFIED)),
        "mean_score_before": round(sum(before_scores) / len(before_scores), 1) if before_scores else None,
        "mean_score_after": round(float(result.score.mean()), 1) if ids.size else None,
        "sample": sample,
        "at": now,
    }


def experiment_report(experiment_id: int) -> dict[str, Any]:
    """Per variant: leads scored under the experiment, how many reached MQL and SQL, and how many were won or lost.

    A lead counts for its variant once any score change under the experiment was logged for it; it "reached MQL"
    when one of those changes left it MQL or SQL. Conversion = won / leads; win rate = won / (won + lost).
    """
    experiment = ScoringExperiment.objects.select_related("variant_b_model").get(pk=experiment_id)
    logged = ScoreChange.objects.filter(experiment=experiment)
    variants = []
    for variant in (Variant.A, Variant.B):
        lead_ids = logged.filter(variant=variant).values("lead_id")
        leads = Lead.objects.filter(pk__in=lead_ids)
        total = leads.count()
        mql = logged.filter(variant=variant, new_stage__in=QUALIFIED).aggregate(n=Count("lead", distinct=True))["n"]
        sql = logged.filter(variant=variant, new_stage=Stage.SQL).aggregate(n=Count("lead", distinct=True))["n"]
        outcomes = dict(leads.values_list("outcome").annotate(n=Count("id")))
        won, lost = outcomes.get(Outcome.WON, 0), outcomes.get(Outcome.LOST, 0)
        variants.append({
            "variant": variant.value, "label": variant.label, "leads": total, "mql": mql, "sql": sql, "won": won,
            "lost": lost, "mql_rate": mql / total if total else None, "sql_rate": sql / total if total else None,
            "conversion": won / total if total else None, "win_rate": won / (won + lost) if won + lost else None,
        })
    return {"experiment": experiment, "variants": variants,
            "expected_b_share": experiment.split_percent / 100,
            "observed_b_share": (variants[1]["leads"] / (variants[0]["leads"] + variants[1]["leads"])
                                 if variants[0]["leads"] + variants[1]["leads"] else None)}


def score_feedback_report(*, since: datetime | None = None) -> dict[str, Any]:
    """'Score is wrong' flags: per reason, per band and reason, consumed by a training or pending, the newest."""
    feedback = ScoreFeedback.objects.all()
    if since is not None:
        feedback = feedback.filter(created_at__gte=since)
    by_reason = dict(feedback.values_list("reason").annotate(n=Count("id")))
    by_band: dict[str, dict[str, int]] = {}
    for band, reason, n in feedback.values_list("band", "reason").annotate(n=Count("id")):
        by_band.setdefault(band or "—", {})[reason] = n
    reasons = FeedbackReason.values
    return {
        "total": sum(by_reason.values()),
        "reasons": [(FeedbackReason(r).label, by_reason.get(r, 0)) for r in reasons],
        "reason_labels": [FeedbackReason(r).label for r in reasons],
        "by_band": [(band, [by_band[band].get(r, 0) for r in reasons]) for band in sorted(by_band)],
        "pending": feedback.filter(consumed_by__isnull=True).count(),
        "consumed": feedback.filter(consumed_by__isnull=False).count(),
        "recent": list(feedback.select_related("lead", "user", "consumed_by")[:20]),
    }
