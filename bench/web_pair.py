#!/usr/bin/env python3
"""Two web servers side by side on one database, the forms alternating between them: the CPU a form each costs.

`python bench/web_pair.py [--rate R] [--seconds S] [--worker-class CLASS] [--web-workers N]` (SQLite in a temporary
file; under `scripts/with_postgres.py -- ...` the throwaway PostgreSQL cluster): `manage.py serve` as the latency
benchmark starts it (gunicorn with serve's worker class, the pipeline's two workers), and a second gunicorn for the
same application, database, Redis and workers with `--worker-class CLASS` (gunicorn's own `sync` unless given);
website forms at R a second, even ones to serve's server, odd ones to the other. Prints one JSON line: each server's
processes' CPU a form (`/proc`), and its API answer p50 / p99.

What it is for: comparing two ways of serving the same application. The machine's speed drifts by a quarter within
minutes here, more than most changes differ; the two servers here see the same drift, the same database and the
same workers at the same moments, so their difference is the servers'.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_latency import free_port, one_form, serving, sustained, wait_until_answering  # noqa: E402
from bench.common import percentile  # noqa: E402
from bench.cpu import cpu_used, process_tree_cpu  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=60, help="forms a second, the two servers together")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--worker-class", default="sync", help="the second server's gunicorn worker class")
    parser.add_argument("--web-workers", type=int, default=int(os.environ.get("LEADFLOW_WEB_WORKERS", "2")),
                        help="each server's processes")
    args = parser.parse_args()
    os.environ["LEADFLOW_WEB_WORKERS"] = str(args.web_workers)
    with serving(os.environ.get("DATABASE_URL")) as (base, token, env, cpu_snapshot):
        port = free_port()
        other = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "revops.wsgi", "--bind", f"127.0.0.1:{port}", "--workers",
             str(args.web_workers), "--worker-class", args.worker_class, "--chdir", str(ROOT), "--log-level",
             "warning", "--access-logfile", "-", "--logger-class", "revops.access_log.AccessLog"],
            env={**env, "DATABASE_CONN_MAX_AGE": "60"}, cwd=ROOT, stdout=subprocess.DEVNULL, start_new_session=True)
        other_base = f"http://127.0.0.1:{port}"
        try:
            wait_until_answering(other_base)
            sustained(other_base, token, 2, 5, "warm-other")
            bases = (base, other_base)
            before = (cpu_snapshot(), process_tree_cpu(other.pid))
            forms = int(args.rate * args.seconds)
            with ThreadPoolExecutor(max_workers=64) as pool:
                start, start_wall, futures = time.perf_counter(), time.time(), []
                for n in range(forms):
                    delay = start + n / args.rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    futures.append(pool.submit(one_form, bases[n % 2], token, n, "pair", start_wall + n / args.rate))
                outcomes = [future.result() for future in futures]
            web_seconds = (cpu_used(before[0], cpu_snapshot())["web"], process_tree_cpu(other.pid) - before[1])
        finally:
            other.terminate()
            other.wait(timeout=30)
    result = {"forms": forms, "errors": sum("error" in outcome for outcome in outcomes)}
    for side, name in enumerate(("serve", args.worker_class)):
        api = [outcome["api"] for n, outcome in enumerate(outcomes) if n % 2 == side and "error" not in outcome]
        result[name] = {"web_ms": round(web_seconds[side] * 1000 / (forms / 2), 2),
                        "api_p50_ms": round(percentile(api, 0.5) * 1000),
                        "api_p99_ms": round(percentile(api, 0.99) * 1000)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
