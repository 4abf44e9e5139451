"""Benchmark of the scoring layer: one lead, a million leads (decay and rescore), training, batch prediction.

Runs on SQLite in a temporary database file built inside the script (settings from DATABASE_URL, migrated, filled
with synthetic leads and events by ``tests.synthetic.scoring``; data generation is not timed). Receivers of
``lead_scored`` / ``lead_triggered`` (routing) are disconnected: this measures scoring, not what routing does next.

Run: ``.venv/bin/python bench/bench_scoring.py`` (``--quick`` for smaller sizes).
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import setup_django, with_checkpointer  # noqa: E402

ONE_LEAD_P99_MS = 2.0
BULK_TARGET_S = 60.0
TRAIN_TARGET_S = 60.0
PREDICT_TARGET = 50_000


def _setup(db_path: str) -> None:
    setup_django(db_path)
    from scoring.signals import lead_scored, lead_triggered

    lead_scored.receivers.clear()
    lead_triggered.receivers.clear()
    lead_scored.sender_receivers_cache.clear()
    lead_triggered.sender_receivers_cache.clear()


def _verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def _hundred_rule_model(segment: str = "bench100"):
    """A model with 100 rules: 60 fit rules over 10 fields, 40 engagement rules (caps, windows, frequencies)."""
    from scoring.choices import ModelStatus
    from scoring.models import ScoringModel, ScoringRule

    model = ScoringModel.objects.create(name="100 rules", segment=segment, status=ModelStatus.ACTIVE,
                                        segment_field="source", segment_operator="equals", segment_value=segment,
                                        segment_priority=1, dimension_caps={"company_size": 25, "title": 25})
    fit_fields = [("employees", "range", "{}..{}"), ("country", "in", "US, CA, {}"), ("industry", "equals", "I{}"),
                  ("seniority", "in", "vp, c_level, s{}"), ("title", "regex", r"\b(head|vp|chief){}\b"),
                  ("department", "not_equals", "d{}"), ("annual_revenue", "gte", "{}000"), ("state", "is_empty", ""),
                  ("custom:plan", "equals", "p{}"), ("source", "contains", "web{}")]
    rules = []
    for i in range(60):
        field, operator, value = fit_fields[i % len(fit_fields)]
        value = value.format(i * 10, i * 10 + 500) if field == "employees" else value.format(i)
        dimension = ["company_size", "title", "industry", "other"][i % 4]
        rules.append(ScoringRule(model=model, kind="fit", dimension=dimension, reason_code=f"fit{i}",
                                 label=f"fit rule {i}", field=field, operator=operator, value=value,
                                 points=(i % 7) - 2, order=i))
    types = ["page_view", "email_open", "email_click", "webinar_attended", "demo_request", "form_submit"]
    for i in range(40):
        rule = dict(kind="engagement", dimension="behaviour", reason_code=f"eng{i}", label=f"engagement rule {i}",
                    event_type=types[i % len(types)], points=(i % 5) + 1, order=100 + i)
        if i % 4 == 0:
            rule.update(property_key="url", property_operator="contains", property_value=f"/p{i % 3}")
        if i % 3 == 0:
            rule.update(cap_points=10, window_days=30)
        if i % 10 == 9:
            rule.update(frequency_count=3, frequency_hours=48)
        rules.append(ScoringRule(model=model, **rule))
    ScoringRule.objects.bulk_create(rules)
    return model


def _realistic_model():
    """The default segment's model: the demo's rules (12 fit, 6 engagement incl. a frequency rule)."""
    from scoring.choices import ModelStatus
    from scoring.models import ScoringModel, ScoringRule

    model = ScoringModel.objects.create(name="Standard B2B", segment="default", status=ModelStatus.ACTIVE,
                                        band_a_min=75, band_b_min=50, band_c_min=25, mql_threshold=45,
                                        sql_threshold=75, min_fit=10, decay_rate=30, segment_priority=100,
                                        dimension_caps={"company_size": 20, "title": 20, "industry": 15})
    fit = [("company_size", "size_50_200", "employees", "range", "50..200", 10),
           ("company_size", "size_201_1000", "employees", "range", "201..1000", 15),
           ("company_size", "size_1000_plus", "employees", "gte", "1001", 20),
           ("company_size", "size_tiny", "employees", "lte", "9", -10),
           ("title", "vp_or_above", "seniority", "in", "vp, c_level", 15),
           ("title", "director", "seniority", "equals", "director", 10),
           ("title", "manager", "seniority", "equals", "manager", 5),
           ("title", "student", "title", "regex", r"\b(student|intern)\b", -15),
           ("industry", "target_industry", "industry", "in", "technology, financial services", 10),
           ("industry", "secondary", "industry", "in", "healthcare, manufacturing", 5),
           ("geography", "core_market", "country", "in", "US, CA, GB, DE, FR, NL", 5),
           ("other", "enterprise_plan", "custom:plan", "equals", "enterprise", 5)]
    rules = [ScoringRule(model=model, kind="fit", dimension=d, reason_code=c, label=c, field=f, operator=o, value=v,
                         points=p) for d, c, f, o, v, p in fit]
    rules += [
        ScoringRule(model=model, kind="engagement", dimension="behaviour", reason_code="pricing_visit",
                    label="Visited pricing", event_type="page_view", property_key="url", property_operator="contains",
                    property_value="/pricing", points=8, cap_points=24, window_days=30),
        ScoringRule(model=model, kind="engagement", dimension="behaviour", reason_code="pricing_streak",
                    label="3 pricing visits in 48 h", event_type="page_view", property_key="url",
                    property_operator="contains", property_value="/pricing", points=15, frequency_count=3,
                    frequency_hours=48, intent=True),
        ScoringRule(model=model, kind="engagement", dimension="behaviour", reason_code="email_open",
                    label="Opened e-mail", event_type="email_open", points=1, cap_points=10, window_days=30),
        ScoringRule(model=model, kind="engagement", dimension="behaviour", reason_code="demo_request",
                    label="Requested a demo", event_type="demo_request", points=30),
        ScoringRule(model=model, kind="engagement", dimension="behaviour", reason_code="webinar",
                    label="Attended a webinar", event_type="webinar_attended", points=10, cap_points=20),
        ScoringRule(model=model, kind="engagement", dimension="negative", reason_code="unsubscribed",
                    label="Unsubscribed", event_type="unsubscribe", points=-50),
    ]
    ScoringRule.objects.bulk_create(rules)
    return model


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _one_lead(quick: bool, db_path: str) -> dict[str, float]:
    """p50/p99 of scoring one lead with 100 rules: the pure engine, and ``lead_score`` with the database (with
    serve's SQLite checkpointer, as ``manage.py serve`` runs it; then more leads without it, as a diagnostic)."""
    import random

    from django.db import connection
    from django.utils import timezone

    from leads.models import Lead, LeadEvent
    from scoring.engine import EventView, compile_model, score_lead
    from scoring.services import lead_score, lead_values
    from tests.synthetic.scoring import EVENT_COLUMNS, insert_rows

    model = _hundred_rule_model()
    compiled = compile_model(model, list(model.rules.all()))
    rng = random.Random(1)
    now = timezone.now()
    kinds = ["page_view", "email_open", "email_click", "webinar_attended", "demo_request", "form_submit"]
    leads = []
    timed, diagnostic = (300, 150) if quick else (2000, 1000)
    for i in range(timed + diagnostic):
        leads.append(Lead(email=f"one{i}@example.com", source="bench100", employees=rng.randrange(1, 5000),
                          country=rng.choice(["US", "DE", "I3"]), industry=f"I{rng.randrange(60)}",
                          seniority=rng.choice(["vp", "manager", "s7"]), title=rng.choice(["VP Sales", "Head of X"]),
                          custom={"plan": f"p{rng.randrange(60)}"}))
    Lead.objects.bulk_create(leads, batch_size=1000)
    ids = list(Lead.objects.filter(source="bench100").values_list("id", flat=True))
    insert_rows(LeadEvent, EVENT_COLUMNS, (
        (lead_id, rng.choice(kinds), now - timedelta(hours=rng.uniform(0, 24 * 60)),
         {"url": f"https://a.example/p{rng.randrange(4)}"}, "bench")
        for lead_id in ids for _ in range(20)))
    sample = Lead.objects.get(pk=ids[0])
    values = lead_values(sample)
    events = [EventView(t, at, p) for t, at, p in
              LeadEvent.objects.filter(lead_id=sample.pk).values_list("type", "occurred_at", "properties")]
    engine_ms = []
    for _ in range(5000 if not quick else 1000):
        started = time.perf_counter()
        score_lead(compiled, values, events, now)
        engine_ms.append((time.perf_counter() - started) * 1000)
    for lead_id in ids[:20]:  # warm-up: configuration cache, statement caches
        lead_score(lead_id=lead_id, cause="bench")
    def first_scores(lead_ids: list[int]) -> list[float]:
        timings = []
        for lead_id in lead_ids:
            started = time.perf_counter()
            lead_score(lead_id=lead_id, cause="events", now=now)
            timings.append((time.perf_counter() - started) * 1000)
        return timings

    db_ms = with_checkpointer(db_path, lambda: first_scores(ids[20:timed]))
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        (autocheckpoint,) = cursor.fetchone()
    plain_ms = first_scores(ids[timed:])
    read_ms = []
    for lead_id in ids[20:timed]:  # the same moment again: read, score, compare, nothing to write
        started = time.perf_counter()
        lead_score(lead_id=lead_id, cause="events", now=now)
        read_ms.append((time.perf_counter() - started) * 1000)
    model.status = "retired"
    model.save()
    return {"engine_p50": statistics.median(engine_ms), "engine_p99": _percentile(engine_ms, 0.99),
            "db_p50": statistics.median(db_ms), "db_p99": _percentile(db_ms, 0.99), "db_n": len(db_ms),
            "plain_p50": statistics.median(plain_ms), "plain_p99": _percentile(plain_ms, 0.99),
            "plain_max": max(plain_ms), "plain_n": len(plain_ms), "autocheckpoint": autocheckpoint,
            "read_p50": statistics.median(read_ms), "read_p99": _percentile(read_ms, 0.99), "events": len(events)}


def _bulk(quick: bool) -> dict[str, object]:
    """The set-based paths on n leads: the first scoring of every lead, the next day's decay (twice), and a
    ``rescore_leads --all`` after a rule change."""
    from django.utils import timezone

    from scoring.models import ScoringRule
    from scoring.selectors import scoring_config_clear
    from scoring.services import leads_decay, leads_rescore_bulk
    from tests.synthetic.scoring import open_leads

    model = _realistic_model()
    n = 100_000 if quick else 1_000_000
    now = timezone.now()
    started = time.perf_counter()
    leads, events = open_leads(n, seed=11, now=now)
    fill_s = time.perf_counter() - started
    first = leads_rescore_bulk(cause="rescore", now=now)
    decay = leads_decay(now=now + timedelta(days=1))
    again = leads_decay(now=now + timedelta(days=1))
    ScoringRule.objects.filter(model=model, reason_code="core_market").update(points=8)  # +3 for core countries
    scoring_config_clear()
    rescore = leads_rescore_bulk(cause="rescore", now=now + timedelta(days=1))
    return {"n": leads, "events": events, "fill_s": fill_s, "first": first, "decay": decay, "again": again,
            "rescore": rescore}


def _training(quick: bool) -> dict[str, object]:
    from leads.models import Lead
    from scoring.choices import PredictiveStatus
    from scoring.models import PredictiveModel
    from scoring.selectors import scoring_config_clear
    from scoring.services import predictive_train
    from tests.synthetic.scoring import closed_leads

    n = 20_000 if quick else 100_000
    Lead.objects.filter(outcome__in=["won", "lost"]).delete()
    _, events = closed_leads(n, seed=5)
    started = time.perf_counter()
    row = predictive_train()
    seconds = time.perf_counter() - started
    if row.status == PredictiveStatus.DRAFT:
        # Made live directly: predictive_activate would schedule a rescore of every lead on a worker (Redis).
        PredictiveModel.objects.filter(pk=row.pk).update(status=PredictiveStatus.ACTIVE)
        row.refresh_from_db()
        scoring_config_clear()
    return {"n": n, "events": events, "seconds": seconds, "row": row}


def _prediction(quick: bool) -> dict[str, float]:
    """Batch prediction from the database (rows read, features built, model applied), probabilities only and with
    the top-3 reasons the scorer stores."""
    import numpy as np
    from django.utils import timezone

    from leads.models import Lead
    from scoring.selectors import scoring_config
    from scoring.services import predictions_for

    config = next(c for c in scoring_config(fresh=True) if c.predictive is not None)
    n = 50_000 if quick else 200_000
    ids = np.array(list(Lead.objects.filter(outcome="open", source__in=["webform", "event", "referral"])
                        .order_by("id").values_list("id", flat=True)[:n]))
    now = timezone.now()
    predictions_for(config.predictive, ids[:1000], now, with_features=False)  # warm-up
    started = time.perf_counter()
    for start in range(0, ids.size, 20_000):
        predictions_for(config.predictive, ids[start:start + 20_000], now, with_features=False)
    plain = ids.size / (time.perf_counter() - started)
    reasons_n = min(ids.size, 50_000)
    started = time.perf_counter()
    for start in range(0, reasons_n, 20_000):
        predictions_for(config.predictive, ids[start:min(start + 20_000, reasons_n)], now, with_features=True)
    with_reasons = reasons_n / (time.perf_counter() - started)
    return {"n": int(ids.size), "plain": plain, "with_reasons": with_reasons, "reasons_n": reasons_n}


def run(quick: bool = False) -> str:
    """Measure every scoring target and return the ``## Scoring`` Markdown section."""
    workdir = tempfile.mkdtemp(prefix="leadflow-bench-scoring-")
    load_before = os.getloadavg()[0]
    try:
        db_path = str(Path(workdir) / "bench.sqlite3")
        _setup(db_path)
        one = _one_lead(quick, db_path)
        bulk = _bulk(quick)
        training = _training(quick)
        prediction = _prediction(quick) if training["row"].status == "active" else None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    n = bulk["n"]
    first, rescore, decay, again = bulk["first"], bulk["rescore"], bulk["decay"], bulk["again"]
    row = training["row"]
    lines = [
        "## Scoring",
        "",
        f"SQLite in a temporary file; {os.cpu_count()} cores, Python {platform.python_version()}; 1-minute load "
        f"average before the run {load_before:.2f}." + (" **Quick run: reduced sizes.**" if quick else ""),
        "",
        "| what | measured | target | result |",
        "| --- | --- | --- | --- |",
        f"| score one lead, 100 rules, {one['events']} events — engine only | p50 {one['engine_p50']:.3f} ms, "
        f"p99 {one['engine_p99']:.3f} ms | p99 < {ONE_LEAD_P99_MS:.0f} ms | "
        f"{_verdict(one['engine_p99'] < ONE_LEAD_P99_MS)} |",
        f"| score one lead, 100 rules, 20 events — `lead_score` with the database, first score ({one['db_n']:,} "
        f"leads: lock and read the lead, its events, engine, write, history row, score log, crossing trigger, "
        f"commit; serve's SQLite checkpointer running) | p50 {one['db_p50']:.2f} ms, p99 {one['db_p99']:.2f} ms | "
        f"p99 < {ONE_LEAD_P99_MS:.0f} ms | {_verdict(one['db_p99'] < ONE_LEAD_P99_MS)} |",
        f"| without serve's checkpointer ({one['plain_n']:,} more leads; SQLite checkpoints inside a commit every "
        f"{one['autocheckpoint']:,} log pages) | p50 "
        f"{one['plain_p50']:.2f} ms, p99 {one['plain_p99']:.2f} ms, max {one['plain_max']:.1f} ms | — | — |",
        f"| the same, rescored with nothing changed (read, engine, compare, commit) | p50 {one['read_p50']:.2f} ms, "
        f"p99 {one['read_p99']:.2f} ms | p99 < {ONE_LEAD_P99_MS:.0f} ms "
        f"| {_verdict(one['read_p99'] < ONE_LEAD_P99_MS)} |",
        f"| daily decay, set-based, of {n:,} leads ({bulk['events']:,} events; {decay.considered:,} with "
        f"engagement) | {decay.seconds:.1f} s ({decay.changed:,} changed, {decay.stage_changes:,} stage changes, "
        f"{decay.triggers:,} triggers) | < {BULK_TARGET_S:.0f} s | {_verdict(decay.seconds < BULK_TARGET_S)} |",
        f"| the same decay run again at the same moment | {again.seconds:.1f} s, {again.changed} changed | 0 changed "
        f"| {_verdict(again.changed == 0)} |",
        f"| `rescore_leads --all` of {n:,} leads after a rule change (core market +3) | {rescore.seconds:.1f} s "
        f"({rescore.changed:,} changed, {rescore.stage_changes:,} stage changes) | < {BULK_TARGET_S:.0f} s "
        f"| {_verdict(rescore.seconds < BULK_TARGET_S)} |",
        f"| first scoring of {n:,} never-scored leads (every lead written, {first.stage_changes:,} stage changes "
        f"with their history rows, {first.triggers:,} triggers) | {first.seconds:.1f} s | - | info |",
        f"| train on {training['n']:,} closed leads ({training['events']:,} events), end to end: rows from the "
        f"database, training, artefact stored | {training['seconds']:.1f} s (AUC {row.auc or 0:.3f}) "
        f"| < {TRAIN_TARGET_S:.0f} s | {_verdict(training['seconds'] < TRAIN_TARGET_S)} |",
    ]
    if prediction is not None:
        lines += [
            f"| batch prediction from the database, {prediction['n']:,} open leads (probabilities) "
            f"| {prediction['plain']:,.0f} leads/s | ≥ {PREDICT_TARGET:,} leads/s "
            f"| {_verdict(prediction['plain'] >= PREDICT_TARGET)} |",
            f"| batch prediction with top-3 reasons (what rescoring stores), {prediction['reasons_n']:,} leads "
            f"| {prediction['with_reasons']:,.0f} leads/s | - | info |",
        ]
    else:
        lines.append(f"| batch prediction | not measured: training refused ({row.refusal_reason}) | ≥ "
                     f"{PREDICT_TARGET:,} leads/s | FAIL |")
    lines += [
        "",
        f"Synthetic data (not timed): {n:,} leads inserted in {bulk['fill_s']:.0f} s; the decay/rescore model has "
        "12 fit and 6 engagement rules (the demo's); half of the leads have 1–6 events of the last 120 days. "
        f"Decay summary: {decay}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv[1:]))
