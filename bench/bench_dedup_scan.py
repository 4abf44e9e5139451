"""Benchmark of the weekly full duplicate scan (``leads.dedup.find_duplicate_pairs``).

Generates 1,000,000 synthetic leads with known duplicates (100,000 with ``quick``), times the scan end to end
(consuming the iterator), measures its peak memory and scores its pairs against the known duplicates. The
measurement runs in a child process so the peak RSS belongs to the scan and not to whatever ran before in the
parent: after generating the leads the child resets the kernel's high-water mark (``/proc/self/clear_refs``)
and reads ``VmHWM`` once the scan is done. tracemalloc is not used: it slows a 1M-record scan several times.

Run: ``cd /work/main && .venv/bin/python bench/bench_dedup_scan.py`` (``--quick`` for 100k leads).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import rapidfuzz  # noqa: E402

from leads.dedup import REASONS, find_duplicate_pairs  # noqa: E402
from tests.synthetic.leads import generate_synthetic_leads, pair_precision, pair_recall  # noqa: E402

FULL_LEADS = 1_000_000
QUICK_LEADS = 100_000
TARGET_SECONDS = 120.0
TARGET_RECALL = 0.9
WEAK_REASON = "same_phone_different_name"


def _status_mb(field: str) -> float | None:
    """A memory line of ``/proc/self/status`` (e.g. ``VmRSS``, ``VmHWM``) in MB, or None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux >= 4.0); False when that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


def measure(n: int) -> dict[str, object]:
    """Generate ``n`` leads, run the scan once and return its numbers (run in a fresh process, see ``run``).

    Steps:
    1. Generate the leads and the truth set (timed separately, not part of the scan time).
    2. Record the RSS, reset the peak-RSS mark, then time ``find_duplicate_pairs`` while consuming its pairs.
    3. Read the peak RSS during the scan; fall back to ``ru_maxrss`` (the whole process lifetime, generation
       included) when the mark cannot be reset.
    4. Score the pairs against the truth, overall and per reason.
    """
    started = time.perf_counter()
    records, truth = generate_synthetic_leads(n)
    generation_s = time.perf_counter() - started

    rss_before = _status_mb("VmRSS")
    peak_is_scan_only = _reset_peak_rss()
    started = time.perf_counter()
    pairs = list(find_duplicate_pairs(records))
    scan_s = time.perf_counter() - started
    peak = _status_mb("VmHWM") if peak_is_scan_only else None
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        peak_is_scan_only = False

    by_reason = Counter(pair.reason for pair in pairs)
    true_by_reason = Counter(pair.reason for pair in pairs if (pair.lead_id, pair.other_lead_id) in truth)
    strong = [pair for pair in pairs if pair.reason != WEAK_REASON]
    return {
        "leads": len(records),
        "true_pairs": len(truth),
        "pairs": len(pairs),
        "generation_s": generation_s,
        "scan_s": scan_s,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak,
        "peak_is_scan_only": peak_is_scan_only,
        "recall": pair_recall(pairs, truth),
        "precision": pair_precision(pairs, truth),
        "strong_precision": pair_precision(strong, truth),
        "by_reason": {reason: [by_reason[reason], true_by_reason[reason]] for reason in reversed(REASONS)},
    }


def _measure_in_child(n: int) -> dict[str, object]:
    """Run ``measure(n)`` in a fresh interpreter and return its JSON result."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--measure", str(n)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> str:
    """Benchmark the full scan and return a Markdown section ``## Full duplicate scan``.

    With ``quick`` it scans 100k leads and judges the time target by linear projection to 1M (the scan is
    linear in the number of leads by construction: bounded blocks and windows).
    """
    n = QUICK_LEADS if quick else FULL_LEADS
    result = _measure_in_child(n)
    scan_s = float(result["scan_s"])
    projected_s = scan_s * FULL_LEADS / n
    recall = float(result["recall"])
    passed = projected_s < TARGET_SECONDS and recall >= TARGET_RECALL
    peak = float(result["peak_rss_mb"])
    before = result["rss_before_mb"]
    increase = f"{peak - float(before):,.0f}" if result["peak_is_scan_only"] and before is not None else "n/a"
    time_note = f"{scan_s:.1f}" if n == FULL_LEADS else f"{scan_s:.1f} (projected {projected_s:.0f} at 1M)"

    lines = [
        "## Full duplicate scan",
        "",
        f"`find_duplicate_pairs` over synthetic leads (`generate_synthetic_leads`, 5% duplicates, seed 7); "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, rapidfuzz {rapidfuzz.__version__}. "
        f"Generation took {float(result['generation_s']):.1f} s (not counted). Peak RSS is the measuring "
        f"process's high-water mark {'during the scan' if result['peak_is_scan_only'] else 'over its whole life'}; "
        f"the increase is what the scan added on top of the {float(before or 0):,.0f} MB held before it "
        "(interpreter, libraries and the generated leads, which production streams from the database instead).",
        "",
        "| leads | true pairs | pairs found | seconds | peak RSS MB | scan RSS increase MB | recall | precision "
        "| target | result |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
        f"| {int(result['leads']):,} | {int(result['true_pairs']):,} | {int(result['pairs']):,} | {time_note} "
        f"| {peak:,.0f} | {increase} | {recall:.3f} | {float(result['precision']):.3f} "
        f"| < {TARGET_SECONDS:.0f} s at 1M, recall >= {TARGET_RECALL} | {'pass' if passed else 'FAIL'} |",
        "",
        f"Precision without the weak `{WEAK_REASON}` pairs (shared switchboard lines, reported on purpose): "
        f"{float(result['strong_precision']):.3f}.",
        "",
        "| reason | pairs | true duplicates | precision |",
        "| --- | ---: | ---: | ---: |",
    ]
    for reason, (found, true) in result["by_reason"].items():
        share = f"{true / found:.3f}" if found else "n/a"
        lines.append(f"| `{reason}` | {found:,} | {true:,} | {share} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        print(json.dumps(measure(int(sys.argv[2]))))
    else:
        print(run(quick="--quick" in sys.argv))
