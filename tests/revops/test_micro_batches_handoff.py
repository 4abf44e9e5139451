"""Hand-offs at SQL and trigger tasks drained set-based give what one-by-one gives.

An SDR/AE organisation: MQLs go to the SDRs (paid-search MQLs to an SDR seconded to the AE team), SQLs to the AE
team, the rest to nurture. A first wave of forms places the leads; a second wave of events makes many SDR-owned
leads SQL at once (hand-offs, hot triggers, an unsubscribed lead's skipped task). The same input runs once with
drains of one step and once batched; owners, decisions, cancelled tasks, new tasks, history and messages match. A
hot trigger on a lead handed to sales goes to its new owner (routing/services/triggers.py).
"""

import re
import uuid

import django_rq
import pytest

from leads.models import Lead
from revops.base.models import Notification
from routing import jobs as routing_jobs
from routing.choices import RepRole, RuleAction
from routing.models import RoutingDecision, RoutingRule, Task, Team
from scoring.models import ScoreTrigger
from tests.queues import steps_in_a_fixed_order
from tests.revops.test_drains import drain_batch_sizes
from tests.revops.test_micro_batches import plain, run_waves
from tests.routing.factories import make_reps, team_rule

pytestmark = pytest.mark.django_db(transaction=True)

COUNT = 32
CAPACITY = 2
# (title, employees, source, first-wave events, second-wave events) by lead number modulo 8.
KINDS = [
    ("VP Sales", "300", "webform", ["demo_request"], ["pricing"]),  # 35 + 30 = MQL; + 10 = SQL: hand-off
    ("Engineer", "120", "webform", ["demo_request"], ["pricing", "pricing", "pricing"]),  # 20 + 30; + 30
    ("VP Sales", "300", "paid_search", ["demo_request"], ["pricing"]),  # the seconded SDR; keeps it at SQL
    ("VP Sales", "300", "webform", ["demo_request", "pricing"], ["email_open"]),  # SQL at once: an AE
    ("Engineer", "20", "webform", ["email_open"], ["demo_request"]),  # nurture, then MQL: an SDR
    ("VP Sales", "300", "webform", ["demo_request"], ["unsubscribe", "pricing", "pricing", "pricing",
                                                      "pricing", "pricing", "pricing"]),  # opted out: no trigger task
    ("Intern", "5000", "webform", [], ["email_open"]),  # below MQL throughout
    ("Engineer", "120", "paid_search", ["demo_request"], ["pricing", "pricing", "pricing"]),
]
EVENTS = {"demo_request": ("demo_request", {}), "pricing": ("page_view", {"url": "/pricing"}),
          "email_open": ("email_open", {}), "unsubscribe": ("unsubscribe", {})}


@pytest.fixture
def sales_org(scoring_model):
    sdr_team, ae_team = Team.objects.create(name="SDR"), Team.objects.create(name="AE")
    sdrs = make_reps(sdr_team, 2, role=RepRole.SDR, prefix="sdr")
    aes = make_reps(ae_team, 2, role=RepRole.AE, prefix="ae")
    aes[1].capacity = CAPACITY  # an AE who fills up during the hand-offs: the later ones go to the others
    aes[1].save()
    seconded = make_reps(ae_team, 1, role=RepRole.SDR, prefix="seconded")
    team_rule("SQL to the AE team", ae_team, order=10, stages="sql")
    team_rule("Paid MQLs to the seconded SDR", ae_team, order=20, stages="mql", sources="paid_search",
              rep_roles="sdr")
    team_rule("MQL to SDRs", sdr_team, order=30, stages="mql")
    RoutingRule.objects.create(name="Below MQL to nurture", order=90, action=RuleAction.QUEUE, queue="nurture")
    return {"sdrs": sdrs, "aes": aes, "seconded": seconded}


def run_input(api_client) -> list[int]:
    forms = []
    for n in range(COUNT):
        title, employees, source, _, _ = KINDS[n % len(KINDS)]
        unique = uuid.uuid4().hex[:10]
        forms.append({"first_name": f"P{unique[:4]}", "last_name": f"Q{unique[4:]}",
                      "email": f"{unique}@{unique}.example", "company": f"C{unique}", "title": title,
                      "industry": "SaaS", "employees": employees, "country": "United States", "source": source})
    return run_waves(api_client, forms, [[EVENTS[name] for name in KINDS[n % len(KINDS)][3]] for n in range(COUNT)],
                     [[EVENTS[name] for name in KINDS[n % len(KINDS)][4]] for n in range(COUNT)])


def outcome(ids: list[int]) -> list[tuple]:
    """Per lead: owner, score, stage, queue, decisions (with the tasks they cancelled), triggers, tasks (status,
    note and history reasons) and the tasks' messages."""
    rows = []
    for lead_id in ids:
        lead = Lead.objects.select_related("owner").get(pk=lead_id)
        tasks = list(Task.objects.filter(lead=lead).select_related("assignee").order_by("kind", "assignee", "pk"))
        task_rank = {task.pk: n for n, task in enumerate(tasks)}
        decisions = [(d.owner.username if d.owner else None, d.previous_owner.username if d.previous_owner else None,
                      d.queue, d.summary, d.cause, [task_rank[pk] for pk in d.explanation.get("cancelled_tasks", [])])
                     for d in RoutingDecision.objects.filter(lead=lead).select_related("owner", "previous_owner")
                     .order_by("pk")]
        messages = sorted((n.channel, n.recipient, plain(n.text, lead))
                          for n in Notification.objects.filter(object_type="task", object_id__in=list(task_rank)))
        rows.append((
            lead.owner.username if lead.owner else None, lead.score, lead.stage, lead.queue, decisions,
            sorted(ScoreTrigger.objects.filter(lead=lead).values_list("kind", flat=True)),
            [(t.kind, t.assignee.username, plain(t.title, lead), t.status, plain(t.outcome_note, lead),
              [(h.history_type, plain(h.history_change_reason or "", lead)) for h in t.history.order_by("history_id")])
             for t in tasks],
            messages,
        ))
    return rows


def test_handoffs_and_trigger_tasks_in_micro_batches_match_one_by_one(api_client, sales_org, slack, settings,
                                                                      monkeypatch):
    batches: dict[str, list[int]] = {"handoff": [], "trigger": []}
    handoff_many, trigger_tasks = routing_jobs.leads_stage_handoff_many, routing_jobs.leads_trigger_tasks

    def handoffs(*, lead_ids):
        batches["handoff"].append(len(lead_ids))
        return handoff_many(lead_ids=lead_ids)

    def triggers(*, triggers):
        batches["trigger"].append(len(triggers))
        return trigger_tasks(triggers=triggers)

    monkeypatch.setattr(routing_jobs, "leads_stage_handoff_many", handoffs)
    monkeypatch.setattr(routing_jobs, "leads_trigger_tasks", triggers)

    steps_in_a_fixed_order(settings)
    settings.LEADFLOW_DRAIN_BATCH = 1  # one step per claim: the one-by-one bodies
    one_by_one = run_input(api_client)
    assert max(drain_batch_sizes()) == 1 and batches == {"handoff": [], "trigger": []}
    messages_one_by_one = len(slack.messages)

    django_rq.get_connection("default").flushdb()
    full_ae = sales_org["aes"][1]
    full_ae.capacity = CAPACITY + Lead.objects.filter(owner=full_ae.user).count()  # room as at the first run's start
    full_ae.save()
    settings.LEADFLOW_DRAIN_BATCH = 200
    batched = run_input(api_client)

    assert max(batches["handoff"]) > 1 and max(batches["trigger"]) > 1  # the set-based bodies ran
    expected = outcome(one_by_one)
    assert outcome(batched) == expected
    assert len(slack.messages) == 2 * messages_one_by_one

    handoffs_done = [d for row in expected for d in row[4] if d[4] == "stage handoff"]
    assert len(handoffs_done) >= 8 and all(d[1].startswith("sdr") for d in handoffs_done)
    ae_team = {rep.user.username for rep in [*sales_org["aes"], *sales_org["seconded"]]}
    assert {d[0] for d in handoffs_done} == ae_team  # every hand-off went to the AE team ...
    assert any(d[5] for d in handoffs_done)  # ... cancelling the SDR's open task
    full = [d for row in expected for d in row[4] if d[0] == full_ae.user.username]
    assert len(full) == CAPACITY  # the AE filled up, and got no more
    assert any("at capacity" in str(d.explanation["candidates"]) for d in RoutingDecision.objects.filter(
        cause="stage handoff", lead_id__in=batched))  # during the batched hand-offs too
    kept = [row for n, row in enumerate(expected) if n % 8 == 2]
    assert all(row[0] == sales_org["seconded"][0].user.username and row[2] == "sql" for row in kept)
    assert not any(d[4] == "stage handoff" for row in kept for d in row[4])  # the seconded SDR kept their leads
    hot_tasks = [t for row in expected for t in row[6] if t[0] == "hot_lead"]
    assert hot_tasks and any(t[1].startswith("ae") for t in hot_tasks)
    assert all(t[3] == "open" for t in hot_tasks)  # no SDR got a hot-lead task a hand-off then cancelled
    hot_titles = [t[2] for t in hot_tasks if t[2].startswith("Hot lead")]
    assert hot_titles and all(re.match(r"Hot lead: \+\d+ points in \d+ h\. Call now: ", title)  # the trigger's
                              for title in hot_titles)  # figures, not "many points"
    opted_out = [row for n, row in enumerate(expected) if n % 8 == 5]
    assert all(not any(t[0] == "hot_lead" and t[3] == "open" for t in row[6]) for row in opted_out)
