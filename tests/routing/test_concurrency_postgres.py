"""Two real workers routing at once on PostgreSQL: round robin stays exact and no capacity is ever exceeded.

Runs only on PostgreSQL (SQLite serializes writing transactions, so there is nothing to race). The leads and the
jobs are committed (a transactional test), then two `rqworker --burst` processes drain the queue on the session's
Redis-compatible server against the test database.
"""

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import django_rq
import pytest
from django.conf import settings
from django.db import connection

from leads.models import Lead
from routing.choices import Strategy
from routing.jobs import lead_route_job
from routing.models import RoutingDecision, Team

from .factories import make_lead, make_reps, team_rule

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
ROUND_ROBIN_LEADS = 60
CAPACITY_LEADS = 24


def _test_database_url() -> str:
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start_worker(name: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": _test_database_url(), "REDIS_URL": settings.RQ_QUEUES["default"]["URL"],
           "DJANGO_SETTINGS_MODULE": "revops.settings", "LOG_LEVEL": "WARNING", "LEADFLOW_JOB_RETRY_MAX": "0"}
    return subprocess.Popen(
        [sys.executable, "manage.py", "rqworker", "default", "--burst", "--name", name,
         "--worker-class", "rq.worker.SimpleWorker"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_two_workers_routing_at_once_keep_round_robin_exact_and_never_exceed_capacity():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are exercised on PostgreSQL only; SQLite serializes writers")
    round_robin_team, capacity_team = Team.objects.create(name="RR"), Team.objects.create(name="Capped")
    rr_reps = make_reps(round_robin_team, 4, prefix="rr")
    capped_reps = make_reps(capacity_team, 3, prefix="cap", capacity=5)
    team_rule("Round robin pool", round_robin_team, order=10, sources="rr")
    team_rule("Capped pool", capacity_team, order=20, sources="cap", strategy=Strategy.CAPACITY)
    # Interleaved, so both pools are routed while the other one is too: 2 capped leads in every 7.
    leads = [make_lead(source="cap" if index % 7 in (1, 4) else "rr")
             for index in range(ROUND_ROBIN_LEADS + CAPACITY_LEADS)]
    rr_leads = [lead for lead in leads if lead.source == "rr"]
    capped_leads = [lead for lead in leads if lead.source == "cap"]
    assert len(rr_leads) == ROUND_ROBIN_LEADS and len(capped_leads) == CAPACITY_LEADS

    queue = django_rq.get_queue("default")
    for lead in leads:
        queue.enqueue(lead_route_job, lead.pk, "concurrency test")
    workers = [_start_worker("router-a"), _start_worker("router-b")]
    outputs = [worker.communicate(timeout=240)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs

    finished = [queue.fetch_job(job_id) for job_id in queue.finished_job_registry.get_job_ids()]
    ran_by = Counter(job.worker_name for job in finished if job is not None)
    assert set(ran_by) >= {"router-a", "router-b"}, ran_by  # both workers really worked at once
    assert queue.failed_job_registry.count == 0

    decisions = RoutingDecision.objects.filter(lead__in=leads)
    assert decisions.count() == len(leads)  # each lead routed exactly once

    rr_sequence = list(decisions.filter(rule__name="Round robin pool").order_by("pk").values_list("rep_id", flat=True))
    expected = [rep.pk for rep in rr_reps] * (ROUND_ROBIN_LEADS // len(rr_reps))
    assert rr_sequence == expected  # the exact round-robin order, no turn taken twice or skipped
    rr_owners = Counter(Lead.objects.filter(pk__in=[lead.pk for lead in rr_leads]).values_list("owner", flat=True))
    assert max(rr_owners.values()) - min(rr_owners.values()) <= 1

    capped = Lead.objects.filter(pk__in=[lead.pk for lead in capped_leads])
    owners = Counter(capped.exclude(owner=None).values_list("owner", flat=True))
    assert set(owners) <= {rep.user_id for rep in capped_reps}
    assert all(count <= 5 for count in owners.values()), owners  # capacity never exceeded
    assert sum(owners.values()) == 15
    assert capped.filter(owner=None, queue="review").count() == CAPACITY_LEADS - 15
