"""Two teams with their managers, reps and objects, and one user per role: the world the role tests act in.

Team A is the shared personas' Mid-Market team (manager ``max`` through the team's escalation ``manager``, reps
``rita`` and ``ravi``); team B (Enterprise) is managed by ``bea`` through ``Team.managers`` only, with rep ``bob``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from leads.choices import MatchRule
from leads.models import DuplicateReview, Lead, LeadEvent, LeadImport, MergeLog
from leads.webform_models import WebForm, WebFormSubmission
from revops.base.choices import AutomationOutcome, Workflow
from revops.base.models import AutomationLog, Notification
from revops.base.roles import ROLE_DATA_READER, ROLE_SALES_MANAGER, ROLE_SALES_REP
from routing.choices import NurtureStatus, NurtureStopReason, RepRole
from routing.models import NurtureEnrollment, NurtureProgram, NurtureStep, Rep, RoutingDecision, Task, Team
from scoring.models import ScoreChange


@dataclass
class Side:
    """One team's objects."""

    team: Team
    manager: User
    rep: Rep
    lead: Lead
    task: Task
    decision: RoutingDecision
    event: LeadEvent
    score_change: ScoreChange
    # Rows about the lead, made by ``world_rows`` (the endpoint table) only: the counting tests leave them out.
    merge: MergeLog | None = None
    review: DuplicateReview | None = None
    notification: Notification | None = None
    automation: AutomationLog | None = None
    submission: WebFormSubmission | None = None
    lead_import: LeadImport | None = None
    enrollment: NurtureEnrollment | None = None


@dataclass
class World:
    a: Side
    b: Side
    users: dict[str, User | None]


def _user(username: str, group: str, **extra) -> User:
    user = User.objects.create_user(username=username, email=f"{username}@example.com", password="pw", **extra)
    user.groups.add(Group.objects.get(name=group))
    return user


def _side(team: Team, manager: User, rep: Rep, name: str) -> Side:
    now = timezone.now()
    lead = Lead.objects.create(email=f"{name}@{name}.example", first_name=name.capitalize(), owner=rep.user,
                               country="US")
    decision = RoutingDecision.objects.create(lead=lead, rep=rep, owner=rep.user, summary=f"to {rep}",
                                              cause="manual reassign", previous_queue="none")
    task = Task.objects.create(lead=lead, assignee=rep.user, decision=decision, title=f"Call {name}",
                               due_at=now + timedelta(hours=4), dedup_key=f"world:{name}")
    event = LeadEvent.objects.create(lead=lead, type="page_view", occurred_at=now)
    score_change = ScoreChange.objects.create(lead=lead, at=now, cause="events", new_score=10, delta=10)
    return Side(team=team, manager=manager, rep=rep, lead=lead, task=task, decision=decision, event=event,
                score_change=score_change)


def _rows(side: Side) -> None:
    """The rows that name a side's lead: a merge into it, a duplicate pair, a notification, an automation log line,
    a form submission, a nurture enrollment (stopped when the rep got the lead), and a lead import by the side's
    manager."""
    lead, rep, name = side.lead, side.rep, side.lead.first_name.lower()
    twin = Lead.objects.create(email=f"{name}.2@{name}.example", first_name=name.capitalize(), owner=rep.user,
                               country="US")
    gone = Lead.objects.create(email=f"{name}.old@{name}.example", owner=rep.user, merged_into=lead)
    side.merge = MergeLog.objects.create(survivor=lead, merged=gone, rule=MatchRule.EMAIL, survivor_before={},
                                         merged_snapshot={})
    side.review = DuplicateReview.objects.create(lead=lead, other_lead=twin, similarity=0.9,
                                                 reason=MatchRule.MANUAL)
    side.notification = Notification.objects.create(dedup_key=f"world:{name}", recipient="U1",
                                                    text=f"New lead {name}", object_type="lead", object_id=lead.pk)
    side.automation = AutomationLog.objects.create(workflow=Workflow.ROUTING, action="route",
                                                   outcome=AutomationOutcome.DONE, object_type="lead",
                                                   object_id=lead.pk)
    form, _ = WebForm.objects.get_or_create(name="Contact us")
    side.submission = WebFormSubmission.objects.create(form=form, lead=lead, action="created")
    program, created = NurtureProgram.objects.get_or_create(name="Not ready yet")
    if created:
        NurtureStep.objects.create(program=program, position=1, delay_days=0, email_subject="Hi {first_name}",
                                   email_body="A guide.")
    side.enrollment = NurtureEnrollment.objects.create(
        lead=lead, program=program, status=NurtureStatus.STOPPED, stop_reason=NurtureStopReason.OWNER,
        enrolled_at=timezone.now(), finished_at=timezone.now())
    side.lead_import = LeadImport.objects.create(file=f"imports/{name}.csv", original_name=f"{name}.csv",
                                                 user=side.manager)


@pytest.fixture
def data_reader(db) -> User:
    return _user("warehouse", ROLE_DATA_READER)


@pytest.fixture
def world(db, team, reps, revops_admin, sales_manager, integration_user, data_reader, settings) -> World:
    settings.LEADFLOW_FEED_SETTLE_SECONDS = 0
    bea = _user("bea", ROLE_SALES_MANAGER, is_staff=True)
    team_b = Team.objects.create(name="Enterprise")
    team_b.managers.add(bea)
    bob = Rep.objects.create(user=_user("bob", ROLE_SALES_REP), team=team_b, role=RepRole.AE)
    a = _side(team, sales_manager, reps[0], "alice")
    b = _side(team_b, bea, bob, "bert")
    users = {"anonymous": None, "rep": reps[0].user, "manager": sales_manager, "admin": revops_admin,
             "integration": integration_user, "reader": data_reader}
    return World(a=a, b=b, users=users)


@pytest.fixture
def world_rows(world) -> World:
    """The world with, for each side, the rows that name its lead (see ``_rows``)."""
    _rows(world.a)
    _rows(world.b)
    return world
