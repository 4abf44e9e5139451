"""Batches that lock several leads take them in ascending id, so two workers never wait on each other (on
PostgreSQL two batches locking the same leads in different orders deadlocked, each losing a second)."""

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from leads.models import Lead
from leads.services import lead_merge, lead_merge_undo, leads_import_bulk
from revops.base.jobs import jobs_inline
from routing import jobs as routing_jobs
from routing.models import RoutingDecision, Task
from routing.services import tasks_create_for_decisions
from scoring import jobs as scoring_jobs

pytestmark = pytest.mark.django_db(transaction=True)


def _locked_in_order(sql: str, order_by: str = '"leads_lead"."id"') -> bool:
    """Whether a lock statement orders by ``order_by`` (ascending); SQLite locks the whole database instead of rows,
    so only PostgreSQL's statement ends with FOR UPDATE."""
    return sql.endswith(f"ORDER BY {order_by} ASC" + (" FOR UPDATE" if connection.vendor == "postgresql" else ""))


def test_a_drained_scoring_batch_scores_its_leads_in_ascending_id(configured):
    ids = [Lead.objects.create(email=f"order{n}@firm{n}.example", title="VP Sales", country="US").pk for n in range(3)]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        scoring_jobs.leads_score_drained([(ids[2], "event"), (ids[0],), (ids[1], "ingest")])
    locks = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "leads_lead"."id"')
             and "leads_lead" in q["sql"].split(" FROM ")[1][:15]]
    assert len(locks) == 1 and _locked_in_order(locks[0])
    assert sorted(int(n) for n in re.findall(r"IN \(([\d, ]+)\)", locks[0])[0].split(", ")) == ids
    causes = dict(Lead.history.filter(id__in=ids, history_type="~").values_list("id", "history_change_reason"))
    assert [causes[pk].split(")")[0] for pk in ids] == ["automation:scoring (rescore", "automation:scoring (ingest",
                                                        "automation:scoring (event"]


def test_the_follow_up_tasks_of_a_batch_lock_their_leads_in_ascending_id(configured):
    rows = [(n + 2, {"email": f"order{n}@firm{n}.example", "first_name": f"Ord{n}", "country": "US",
                     "title": "VP Sales", "employees": "300", "industry": "SaaS"}) for n in range(4)]
    with jobs_inline():
        leads_import_bulk(rows, source="csv", batch_size=10)
    Task.objects.all().delete()
    decisions = list(RoutingDecision.objects.order_by("-pk").values_list("pk", flat=True))
    assert len(decisions) == 4
    with CaptureQueriesContext(connection) as queries:
        tasks = tasks_create_for_decisions(decision_ids=decisions, digest=False)
    assert len(tasks) == 4
    locks = [q["sql"] for q in queries.captured_queries
             if q["sql"].startswith('SELECT "leads_lead"."id" AS "id", "leads_lead"."owner_id"')]
    assert len(locks) == 1
    assert _locked_in_order(locks[0])


def test_a_merge_and_its_undo_lock_both_leads_in_ascending_id():
    older = Lead.objects.create(email="older@example.com", first_name="Old")
    newer = Lead.objects.create(email="newer@example.com", first_name="New")
    with CaptureQueriesContext(connection) as merging:
        log = lead_merge(survivor_id=newer.pk, merged_id=older.pk, rule="manual")  # the survivor has the higher id
    with CaptureQueriesContext(connection) as undoing:
        lead_merge_undo(merge_id=log.pk)
    for queries in (merging, undoing):
        [lock] = [q["sql"] for q in queries.captured_queries
                  if q["sql"].startswith('SELECT "leads_lead"."id"') and ' IN (' in q["sql"]]
        assert _locked_in_order(lock)


def test_a_routing_batch_of_several_causes_locks_all_its_leads_first_in_ascending_id(monkeypatch):
    leads = [Lead.objects.create(email=f"cause{n}@example.com") for n in range(3)]
    routed = []
    monkeypatch.setattr(routing_jobs, "leads_route_many",
                        lambda *, lead_ids, cause, announce_each: routed.append((cause, lead_ids)))
    steps = [(leads[2].pk, "new lead"), (leads[0].pk, "rescore"), (leads[1].pk, "new lead")]
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        routing_jobs.leads_route_drained(steps)
    assert routed == [("new lead", [leads[2].pk, leads[1].pk]), ("rescore", [leads[0].pk])]
    [lock] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "leads_lead"."id"')]
    assert _locked_in_order(lock, "1")  # values_list("pk"): the one column, by position
    [listed] = re.findall(r"IN \(([^)]*)\)", lock)
    assert sorted(int(pk) for pk in listed.split(",")) == sorted(lead.pk for lead in leads)

    with CaptureQueriesContext(connection) as one_cause, transaction.atomic():
        routing_jobs.leads_route_drained([(leads[1].pk,), (leads[0].pk,)])  # one cause: its call locks in order
    assert not [q for q in one_cause.captured_queries if q["sql"].startswith('SELECT "leads_lead"."id"')]
