"""The bulk pipeline gives every lead what it would get arriving alone (score, owner with an explanation, task),
set-based: one scoring job, one routing job and one task job per batch, one Slack digest per rep and batch."""

import pytest

from leads.models import Lead
from leads.services import leads_import_bulk
from revops.base.choices import AutomationOutcome, Workflow
from revops.base.jobs import batch_job, jobs_inline
from revops.base.models import AutomationLog, Notification, WorkflowSwitch
from revops.base.switches import workflow_switch_set
from routing.jobs import leads_route_many_failed
from routing.models import RoutingDecision, RoutingPointer, Task
from routing.services import leads_route_many, tasks_create_for_decisions
from scoring.models import ScoreChange
from scoring.services import leads_score_many
from tests.queues import queued, work

pytestmark = pytest.mark.django_db(transaction=True)

NAMES = ["Ada", "Grace", "Linus", "Ken", "Barbara", "Edsger", "Donald", "Frances", "Alan", "Margaret", "Dennis",
         "Radia"]


def _rows(count=12, country="US"):
    return [(n + 2, {"email": f"p{n}@acme{n % 3}.example", "first_name": NAMES[n % 12],
                     "last_name": f"Surname{n * 7}", "country": country, "title": "VP Sales", "employees": "300",
                     "industry": "SaaS"})
            for n in range(count)]


def test_bulk_import_scores_routes_and_tasks_every_created_lead(configured, slack):
    rows = _rows()
    rows.append((14, {"email": "P0@ACME0.example", "title": "CEO"}))  # the first person again: merged
    rows.append((15, {"email": "broken"}))
    seen = []
    with jobs_inline():
        report = leads_import_bulk(rows, source="csv", batch_size=5, on_batch=lambda r: seen.append(r.rows))
    assert report.counts == {"created": 12, "merged": 1, "rejected": 1}
    assert seen == [5, 10, 14]
    assert report.errors[0].row == 15
    leads = Lead.objects.live()
    assert leads.count() == 12
    assert all(lead.score == 35 and lead.owner_id for lead in leads)
    assert Task.objects.count() == 12
    lead = leads.get(email="p1@acme1.example")
    reasons = [h.history_change_reason for h in lead.history.all()]
    assert "bulk import" in reasons and any(r and r.startswith("automation:routing") for r in reasons)
    # Every decision explains itself like a single one: the rules tried, the candidates, the round-robin state.
    decision = RoutingDecision.objects.get(lead=lead)
    assert decision.rule.name == "NA to Mid-Market" and decision.cause == "new lead"
    assert {c["name"] for c in decision.explanation["candidates"]} == {"Rita", "Ravi"}
    assert decision.explanation["strategy_state"]["strategy"] == "round_robin"
    task = Task.objects.get(lead=lead)
    assert task.dedup_key == f"follow_up:decision:{decision.pk}" and task.history.first().history_change_reason \
        .startswith("automation:tasks follow-up due in")


def test_each_rep_gets_one_digest_per_batch_not_one_message_per_lead(configured, slack):
    with jobs_inline():
        leads_import_bulk(_rows(12), source="csv", batch_size=12)
    sent = list(Notification.objects.filter(status="sent").order_by("recipient"))
    assert [n.recipient for n in sent] == ["U0RAVI", "U0RITA"] == sorted(m["channel"] for m in slack.messages)
    for notification in sent:
        assert notification.text.startswith("6 new leads for you from an import:")
        assert notification.text.count("/workspace/leads/") == 6
        assert notification.blocks[0]["text"]["text"] == "*6 new leads for you from an import*"
        assert str(notification.blocks).count("/workspace/leads/") == 6  # the Block Kit list, one link a lead
    assert [m["blocks"] for m in sorted(slack.messages, key=lambda m: m["channel"])] == [n.blocks for n in sent]
    mentioned = " ".join(n.text for n in sent)
    assert all(f"/workspace/leads/{pk}/" in mentioned for pk in Lead.objects.values_list("pk", flat=True))


def test_round_robin_stays_fair_and_exact_across_a_batch_and_the_next_single_lead(configured):
    rita, ravi = configured["reps"]
    with jobs_inline():
        leads_import_bulk(_rows(11), source="csv")
    counts = {rep.user_id: Lead.objects.filter(owner_id=rep.user_id).count() for rep in (rita, ravi)}
    assert sorted(counts.values()) == [5, 6]
    pointer = RoutingPointer.objects.get()
    assert pointer.turns == 11
    # The pointer was saved once, where the batch left it: the next single lead goes to the rep with 5.
    from leads.services import lead_ingest

    with jobs_inline():
        result = lead_ingest(data={"email": "solo@else.example", "first_name": "Solo", "country": "US"},
                             source="api")
    fewer = min(counts, key=counts.get)
    assert Lead.objects.get(pk=result.lead.pk).owner_id == fewer


def test_capacity_holds_inside_a_batch(configured):
    rita, ravi = configured["reps"]
    for rep in (rita, ravi):
        rep.capacity = 3
        rep.save()
    with jobs_inline():
        leads_import_bulk(_rows(8), source="csv")
    assert Lead.objects.filter(owner_id=rita.user_id).count() == 3
    assert Lead.objects.filter(owner_id=ravi.user_id).count() == 3
    review = Lead.objects.filter(owner__isnull=True)
    assert review.count() == 2 and set(review.values_list("queue", flat=True)) == {"review"}
    decision = RoutingDecision.objects.filter(owner__isnull=True).first()
    assert {c["skipped"] for c in decision.explanation["candidates"]} == {"at capacity (3/3 open leads)"}


def test_every_batch_step_run_twice_changes_nothing_the_second_time(configured, slack):
    with jobs_inline():
        leads_import_bulk(_rows(6), source="csv")
    ids = list(Lead.objects.values_list("pk", flat=True))
    counts = (ScoreChange.objects.count(), RoutingDecision.objects.count(), Task.objects.count(),
              Notification.objects.count(), Lead.history.count())
    with jobs_inline():
        again = leads_score_many(lead_ids=ids)
        routed = leads_route_many(lead_ids=ids)
        tasks = tasks_create_for_decisions(decision_ids=list(RoutingDecision.objects.values_list("pk", flat=True)))
    assert again.changed == 0 and routed.considered == 0 and tasks == []
    assert counts == (ScoreChange.objects.count(), RoutingDecision.objects.count(), Task.objects.count(),
                      Notification.objects.count(), Lead.history.count())


def test_routing_switched_off_skips_the_batch_and_the_catch_up_routes_it(configured, revops_admin):
    workflow_switch_set(workflow=Workflow.ROUTING, enabled=False, user=revops_admin)
    with jobs_inline():
        leads_import_bulk(_rows(4), source="csv")
        assert Lead.objects.filter(score=35, owner__isnull=True).count() == 4
        skipped = AutomationLog.objects.get(workflow=Workflow.ROUTING, outcome=AutomationOutcome.SKIPPED)
        assert skipped.action == "leads_route_batch" and "4 leads" in skipped.detail
        workflow_switch_set(workflow=Workflow.ROUTING, enabled=True, user=revops_admin)
    assert Lead.objects.filter(owner__isnull=False).count() == 4


def test_a_failing_batch_hands_every_object_to_its_own_job(configured):
    calls = []

    @batch_job(workflow=Workflow.ROUTING, object_type="lead", on_failure=lambda pks, w, m: calls.append((pks, m)))
    def broken_batch_job(lead_ids):
        raise ValueError("bad batch")

    assert broken_batch_job([3, 4]) == "failed"
    assert calls == [([3, 4], "ValueError: bad batch")]
    log = AutomationLog.objects.get(outcome=AutomationOutcome.FAILED)
    assert log.object_id == 3 and "2 leads handed to the one-by-one path" in log.detail


def test_the_routing_fallback_routes_each_lead_one_by_one(configured):
    workflow_switch_set(workflow=Workflow.ROUTING, enabled=False)
    with jobs_inline():
        leads_import_bulk(_rows(3), source="csv")
    # Back on without the catch-up (a plain update sends no workflow_resumed): only the fallback routes them.
    WorkflowSwitch.objects.filter(workflow=Workflow.ROUTING).update(enabled=True)
    ids = list(Lead.objects.values_list("pk", flat=True))
    with jobs_inline():
        leads_route_many_failed(ids, Workflow.ROUTING, "ValueError: bad batch")
    assert Lead.objects.filter(owner__isnull=False).count() == 3
    assert set(RoutingDecision.objects.values_list("cause", flat=True)) == {"new lead"}


def test_a_bulk_import_through_a_real_worker(configured, slack):
    report = leads_import_bulk(_rows(7), source="csv")
    assert report.counts == {"created": 7}
    assert [step[0] for step in queued()] == ["scoring.jobs.leads_score_batch_job"]
    work()
    assert Lead.objects.filter(score=35, owner__isnull=False).count() == 7
    assert Task.objects.count() == 7
    assert Notification.objects.filter(status="sent").count() == 2


def test_a_new_lead_of_the_row_by_row_path_goes_on_with_its_batch(configured):
    """A shared phone with another name (a switchboard?) is ingested row by row, then scored, routed and tasked
    with the batch."""

    from leads.models import CompanyProfile, DuplicateReview

    CompanyProfile.objects.create(domain="initech.example", name="Initech", employees=300)
    rows = [(2, {"email": "jon@initech.example", "first_name": "Jon", "last_name": "Smith", "country": "US",
                 "phone": "+14155550100"}),
            (3, {"email": "zed@initech.example", "first_name": "Zed", "last_name": "Quinn", "country": "US",
                 "phone": "+14155550100"})]
    report = leads_import_bulk(rows, source="csv")
    assert report.counts == {"created": 1, "review": 1}
    zed = Lead.objects.get(email="zed@initech.example")
    assert zed.enrichment_status == "done" and zed.employees == 300  # enriched, not announced alone
    assert DuplicateReview.objects.get().reason == "same_phone_different_name"
    assert [(function, sorted(args[0])) for function, args in queued()] == [
        ("scoring.jobs.leads_score_batch_job", sorted(Lead.objects.values_list("pk", flat=True)))]
    work()
    zed.refresh_from_db()
    assert zed.owner_id and Task.objects.filter(lead=zed).exists()


def test_with_enrichment_switched_off_a_bulk_import_skips_it_and_goes_on(configured):
    from leads.models import CompanyProfile

    CompanyProfile.objects.create(domain="acme0.example", name="Acme", employees=5000)
    workflow_switch_set(workflow=Workflow.ENRICHMENT, enabled=False)
    with jobs_inline():
        leads_import_bulk(_rows(3), source="csv")
    leads = Lead.objects.all()
    assert {lead.enrichment_status for lead in leads} == {"skipped"}
    assert Lead.objects.get(email="p0@acme0.example").employees == 300  # the directory's 5,000 was not applied
    assert all(lead.score is not None and lead.owner_id for lead in leads)


def test_the_account_owner_wins_inside_a_batch_too(configured):
    from leads.models import Account
    from routing.choices import Strategy
    from routing.models import RoutingRule

    rita, ravi = configured["reps"]
    RoutingRule.objects.filter(name="NA to Mid-Market").update(strategy=Strategy.ACCOUNT)
    Account.objects.create(domain="acme1.example", name="Acme 1", owner=ravi.user)
    with jobs_inline():
        leads_import_bulk(_rows(6), source="csv")
    at_acme1 = Lead.objects.filter(domain="acme1.example")
    assert at_acme1.count() == 2 and set(at_acme1.values_list("owner_id", flat=True)) == {ravi.user_id}
    decision = RoutingDecision.objects.get(lead=at_acme1.first())
    assert decision.explanation["strategy_state"]["strategy"] == "account"
