"""Benchmark for predictive lead scoring: training time, batch scoring throughput and AUC on synthetic leads.

Run from the repository root: ``.venv/bin/python bench/bench_predictive.py`` (``--quick`` trains on 20,000 leads).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import django
import sklearn
from sklearn.metrics import roc_auc_score

# Runs as a plain script from the repository root, where the project packages are not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# The data generator lives with the tests and imports the lead models: Django is set up (settings only, the
# benchmark reads and writes no database).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revops.settings")
django.setup()

from scoring.predictive import predict, predict_proba, train_model  # noqa: E402
from tests.synthetic.scoring import synthetic_closed_leads  # noqa: E402

TRAIN_TARGET_S = 60.0
THROUGHPUT_TARGET = 50_000
AUC_TARGET = 0.70
SCORE_ROWS = 200_000
REASON_ROWS = 20_000


def _verdict(ok: bool) -> str:
    """Table cell for a target check."""
    return "pass" if ok else "FAIL"


def run(quick: bool = False) -> str:
    """Measure training and scoring and return a Markdown ``## Predictive model`` section.

    Steps: 1) generate closed leads (100,000, or 20,000 when ``quick``) and time :func:`train_model` on them;
    2) generate 200,000 fresh leads, warm up, and time :func:`predict_proba` on all of them at once; 3) compute the
    AUC of those scores against the fresh leads' outcomes (a true hold-out); 4) time :func:`predict` with reason
    codes on 20,000 leads for information. Data generation is not timed.
    """
    n_train = 20_000 if quick else 100_000
    load_before = os.getloadavg()[0]
    rows, outcomes = synthetic_closed_leads(n_train, seed=1)
    started = time.perf_counter()
    model = train_model(rows, outcomes)
    train_s = time.perf_counter() - started

    score_rows, score_outcomes = synthetic_closed_leads(SCORE_ROWS, seed=2)
    predict_proba(model, score_rows[:1_000])  # first call pays one-off thread-pool and import costs
    started = time.perf_counter()
    probabilities = predict_proba(model, score_rows)
    score_s = time.perf_counter() - started
    throughput = SCORE_ROWS / score_s
    holdout_auc = float(roc_auc_score(score_outcomes, probabilities))

    started = time.perf_counter()
    predict(model, score_rows[:REASON_ROWS], top_n=3)
    reasons_rate = REASON_ROWS / (time.perf_counter() - started)

    metrics = model.metrics
    cv = ", ".join(f"{name} {auc:.3f}" for name, auc in metrics.cv_auc.items())
    lines = [
        "## Predictive model",
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, scikit-learn {sklearn.__version__}; "
        f"1-minute load average before the run {load_before:.2f}.",
        "",
        "| what | measured | target | result |",
        "| --- | --- | --- | --- |",
        f"| training on {n_train:,} closed leads ({metrics.features} model features) | {train_s:.1f} s "
        f"| < {TRAIN_TARGET_S:.0f} s | {_verdict(train_s < TRAIN_TARGET_S)} |",
        f"| batch scoring of {SCORE_ROWS:,} leads (`predict_proba`) | {throughput:,.0f} leads/s ({score_s:.2f} s) "
        f"| >= {THROUGHPUT_TARGET:,} leads/s | {_verdict(throughput >= THROUGHPUT_TARGET)} |",
        f"| AUC on the {SCORE_ROWS:,} unseen leads | {holdout_auc:.3f} | > {AUC_TARGET:.2f} "
        f"| {_verdict(holdout_auc > AUC_TARGET)} |",
        f"| out-of-fold AUC reported by training | {metrics.auc:.3f} | > {AUC_TARGET:.2f} "
        f"| {_verdict(metrics.auc > AUC_TARGET)} |",
        f"| top-decile lift (out-of-fold) | {metrics.lift_by_decile[0]:.2f} | > 1.5 "
        f"| {_verdict(metrics.lift_by_decile[0] > 1.5)} |",
        f"| scoring with top-3 reasons (`predict`, {REASON_ROWS:,} leads) | {reasons_rate:,.0f} leads/s | - | info |",
        "",
        f"Chosen algorithm: {metrics.algorithm} (cross-validated AUC: {cv}); Brier {metrics.brier:.3f}; "
        f"evaluation: {metrics.evaluation}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv[1:]))
