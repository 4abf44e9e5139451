"""The set-based hand-off at SQL and trigger tasks (a drain's micro-batch): the checks, loads and records of the
one-lead services, lead by lead."""

import pytest

from leads.models import Lead
from revops.base.choices import AutomationOutcome, Workflow
from revops.base.models import AutomationLog, Notification
from revops.base.switches import workflow_switch_set
from routing.choices import RepRole, TaskKind, TaskStatus
from routing.models import RoutingDecision, Task, Team
from routing.services import lead_stage_handoff, lead_trigger_task, leads_stage_handoff_many, leads_trigger_tasks

from .factories import make_lead, make_reps, team_rule

pytestmark = pytest.mark.django_db

HOT = {"gained": 40, "window_hours": 24}  # a hot trigger's detail as scoring/services/triggers.py fires it


@pytest.fixture
def org(db):
    sdr_team, ae_team = Team.objects.create(name="SDR"), Team.objects.create(name="AE")
    sdrs = make_reps(sdr_team, 1, role=RepRole.SDR, prefix="sdr")
    aes = make_reps(ae_team, 2, role=RepRole.AE, prefix="ae")
    seconded = make_reps(ae_team, 1, role=RepRole.SDR, prefix="seconded")[0]
    team_rule("SQL to the AE team", ae_team, order=10, stages="sql")
    team_rule("MQL to SDRs", sdr_team, order=20, stages="mql")
    return {"sdr": sdrs[0], "aes": aes, "seconded": seconded}


def _open_task(lead: Lead, rep) -> Task:
    return Task.objects.create(lead=lead, assignee=rep.user, kind=TaskKind.FOLLOW_UP, title="Follow up",
                               due_at=lead.created_at, dedup_key=f"t{lead.pk}:{rep.pk}")


def test_a_batch_hands_sdr_leads_to_the_team_and_cancels_the_sdrs_open_tasks(org):
    leads = [make_lead(stage="sql", owner=org["sdr"].user) for _ in range(3)]
    tasks = [_open_task(lead, org["sdr"]) for lead in leads]
    other = _open_task(leads[0], org["aes"][0])  # someone else's task on the lead stays open

    result = leads_stage_handoff_many(lead_ids=[lead.pk for lead in reversed(leads)])

    assert (result.considered, result.assigned, result.unchanged) == (3, 3, 0)
    owners = [Lead.objects.get(pk=lead.pk).owner for lead in leads]
    assert owners == [org["aes"][0].user, org["aes"][1].user, org["seconded"].user]  # round robin, in id order
    for lead, task in zip(leads, tasks, strict=True):
        decision = RoutingDecision.objects.get(lead=lead)
        assert decision.cause == "stage handoff" and decision.previous_owner == org["sdr"].user
        assert decision.explanation["cancelled_tasks"] == [task.pk]
        task.refresh_from_db()
        assert task.status == TaskStatus.CANCELLED and task.outcome_note.startswith("lead moved (stage handoff)")
        assert task.history.first().history_change_reason.startswith("automation:routing lead moved (stage handoff)")
        assert Lead.objects.get(pk=lead.pk).history.first().history_change_reason.startswith(
            "automation:routing (stage handoff)")
    other.refresh_from_db()
    assert other.status == TaskStatus.OPEN

    again = leads_stage_handoff_many(lead_ids=[lead.pk for lead in leads])  # a second delivery: nothing to do
    assert (again.assigned, again.queued) == (0, 0)  # the seconded SDR's lead is looked at again, and kept
    assert RoutingDecision.objects.count() == 3


def test_a_batch_leaves_what_one_lead_leaves_alone(org):
    ae_lead = make_lead(stage="sql", owner=org["aes"][0].user)
    mql_lead = make_lead(stage="mql", owner=org["sdr"].user)
    merged = make_lead(stage="sql", owner=org["sdr"].user)
    merged.merged_into = ae_lead
    merged.save()
    ids = [ae_lead.pk, mql_lead.pk, merged.pk]
    assert [lead_stage_handoff(lead_id=pk).action for pk in ids] == ["noop"] * 3
    assert leads_stage_handoff_many(lead_ids=ids).considered == 0
    assert not RoutingDecision.objects.exists()


def test_an_owner_in_the_pool_keeps_the_lead_even_when_it_fills_their_capacity(org):
    """Each lead's current owner's load leaves the lead out while it is chosen for, as for one lead: a seconded
    SDR at capacity with these very leads keeps them (they are not handed to an AE)."""
    seconded = org["seconded"]
    leads = [make_lead(stage="sql", owner=seconded.user) for _ in range(2)]
    seconded.capacity = 2
    seconded.save()
    # The round-robin turn points at the seconded SDR: they are the next choice for each lead.
    first = lead_stage_handoff(lead_id=make_lead(stage="sql", owner=org["sdr"].user).pk).decision
    second = lead_stage_handoff(lead_id=make_lead(stage="sql", owner=org["sdr"].user).pk).decision
    assert [first.owner, second.owner] == [org["aes"][0].user, org["aes"][1].user]

    result = leads_stage_handoff_many(lead_ids=[lead.pk for lead in leads])

    assert (result.considered, result.assigned, result.unchanged) == (2, 0, 2)
    assert all(Lead.objects.get(pk=lead.pk).owner == seconded.user for lead in leads)
    assert RoutingDecision.objects.filter(lead__in=leads).count() == 0


def test_trigger_tasks_in_a_batch_are_those_one_by_one_creates(org, settings):
    owned = [make_lead(stage="sql", owner=org["aes"][0].user, first_name=f"Ann{n}") for n in range(3)]
    unowned = make_lead(stage="sql")
    closed = make_lead(stage="sql", owner=org["aes"][0].user, outcome="lost")
    opted_out = make_lead(stage="sql", owner=org["aes"][0].user, consent="opt_out")
    hot_detail = {"gained": 40, "window_hours": 24, "score": 80}  # as scoring/services/triggers.py fires it
    triggers = [(owned[0].pk, "hot", 101, hot_detail), (owned[1].pk, "high_intent", 102,
                                                        {"rule": "pricing", "label": "Repeated pricing visits"}),
                (owned[2].pk, "cold", 103, {}), (owned[0].pk, "hot", 101, hot_detail),  # the same trigger twice
                (unowned.pk, "hot", 104, {}), (closed.pk, "hot", 105, {}), (opted_out.pk, "hot", 106, {}),
                (owned[1].pk, "crossing", 107, {})]  # a kind with no task

    created = leads_trigger_tasks(triggers=triggers)

    assert sorted(task.dedup_key for task in created) == ["trigger:101", "trigger:102", "trigger:103"]
    hot = Task.objects.get(dedup_key="trigger:101")
    assert (hot.kind, hot.assignee, hot.lead_id) == (TaskKind.HOT_LEAD, org["aes"][0].user, owned[0].pk)
    assert hot.title == "Hot lead: +40 points in 24 h. Call now: Ann0"
    assert Task.objects.get(dedup_key="trigger:102").title == "High intent (repeated pricing visits). Call now: Ann1"
    assert Task.objects.get(dedup_key="trigger:103").kind == TaskKind.RE_ENGAGE
    assert hot.history.get().history_change_reason == "automation:tasks hot trigger #101"
    assert Notification.objects.filter(object_type="task", object_id__in=[t.pk for t in created]).count() == 3
    skipped = AutomationLog.objects.get(workflow=Workflow.TASKS, action="no_outreach_consent")
    assert skipped.object_id == opted_out.pk and "hot trigger task" in skipped.detail

    assert leads_trigger_tasks(triggers=triggers) == []  # a second delivery: nothing new
    assert Task.objects.count() == 3 and Notification.objects.count() == 3
    assert AutomationLog.objects.filter(outcome=AutomationOutcome.NOOP, object_id=opted_out.pk).count() == 2

    # The one-lead service gives the same task for the same trigger on another lead.
    single = lead_trigger_task(lead_id=owned[2].pk, kind="hot", trigger_id=201, detail=hot_detail)
    batched = leads_trigger_tasks(triggers=[(owned[0].pk, "hot", 202, hot_detail)])[0]
    assert (single.kind, single.assignee_id, single.title.split(":")[0], single.history.get().history_change_reason
            .replace("201", "#")) == (batched.kind, batched.assignee_id, batched.title.split(":")[0],
                                      batched.history.get().history_change_reason.replace("202", "#"))


@pytest.mark.parametrize("path", ["one", "batch"])
def test_a_trigger_before_its_leads_handoff_goes_to_the_owner_after_the_handoff(org, path, revops_admin):
    """The hot trigger's step runs before the hand-off's (routing/services/triggers.py): it makes the hand-off first,
    so the AE gets the hot-lead task and the SDR gets nothing to cancel; the hand-off's own step is then a no-op. A
    seconded SDR in the SQL pool keeps the lead and gets the task; with routing switched off the SDR gets it now."""

    def fire(lead, trigger_id):
        if path == "one":
            return [lead_trigger_task(lead_id=lead.pk, kind="hot", trigger_id=trigger_id, detail=HOT)]
        return leads_trigger_tasks(triggers=[(lead.pk, "hot", trigger_id, HOT)])

    sdr, seconded = org["sdr"], org["seconded"]
    handed = make_lead(stage="sql", owner=sdr.user, first_name="Hana")
    sdr_task = _open_task(handed, sdr)
    [hot] = fire(handed, 301)

    handed.refresh_from_db()
    assert handed.owner in {ae.user for ae in org["aes"]} | {seconded.user}
    assert (hot.assignee, hot.kind) == (handed.owner, TaskKind.HOT_LEAD)
    assert not Task.objects.filter(assignee=sdr.user, kind=TaskKind.HOT_LEAD).exists()
    sdr_task.refresh_from_db()
    assert sdr_task.status == TaskStatus.CANCELLED  # the SDR's follow-up, as every hand-off cancels it
    decision = RoutingDecision.objects.get(lead=handed)
    assert (decision.cause, decision.previous_owner) == ("stage handoff", sdr.user)
    assert lead_stage_handoff(lead_id=handed.pk).action == "noop"  # the hand-off's own step: nothing left
    assert RoutingDecision.objects.filter(lead=handed).count() == 1

    kept = make_lead(stage="sql", owner=seconded.user)
    [kept_task] = fire(kept, 302)
    assert kept_task.assignee == seconded.user and not RoutingDecision.objects.filter(lead=kept).exists()

    workflow_switch_set(workflow=Workflow.ROUTING, enabled=False, user=revops_admin, note="test")
    waiting = make_lead(stage="sql", owner=sdr.user)
    [waiting_task] = fire(waiting, 303)
    assert waiting_task.assignee == sdr.user and not RoutingDecision.objects.filter(lead=waiting).exists()
