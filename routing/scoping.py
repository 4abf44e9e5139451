"""Who sees which objects: one scoping function per object type, the only place the rule lives.

Used by the admin's ``get_queryset`` (``revops.base.scoping.ScopedAdminMixin``), the API's views and the workspace;
reading and writing share it (an object outside the scope is a 404 everywhere). Registered with
``revops.base.scoping`` in ``RoutingConfig.ready`` so the lead and scoring layers reach it without importing upward.

- RevOps admin: everything. Data reader (BI): everything, through the list endpoints of the feed only.
- Sales manager: the leads owned by the reps of the teams they manage (``Team.managers``, or the team's escalation
  ``manager``) and their own, plus the unowned leads waiting in the holding and review queues (the triage queue
  managers place into their teams; dashboards leave it out: ``triage=False``); those reps' tasks and their own;
  those reps, and the users they may give a lead or a task to (``users_visible_to``); the teams they manage.
- Rows about a lead (merges, duplicate pairs, form submissions, nurture enrollments, notifications, automation log
  lines) follow the lead: both leads of a duplicate pair; a notification or log line by the object it names (lead,
  task, rep, team); a lead import its own user's. Webhooks, pending jobs and erasure records are RevOps admins'
  (``roles.py``).
- Sales rep: the leads they own, their tasks, themselves.
- Integration: the leads and events it created or changed (their history names it), read back by id.
- Anyone else: nothing.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet

from leads.choices import Queue
from leads.models import DuplicateReview, EnrichmentRequest, Lead, LeadEvent, LeadImport, MergeLog, SourceRecord
from leads.webform_models import WebFormSubmission
from revops.base.models import AutomationLog, Notification
from revops.base.roles import (
    ROLE_DATA_READER,
    ROLE_INTEGRATION,
    ROLE_REVOPS_ADMIN,
    ROLE_SALES_MANAGER,
    ROLE_SALES_REP,
    user_roles,
)
from revops.base.scoping import scope_register
from scoring.models import ScoreChange, ScoreFeedback, ScoreTrigger

from .models import NurtureEnrollment, Rep, RoutingDecision, StageSlaAlert, Task, Team

_SEE_ALL = {ROLE_REVOPS_ADMIN, ROLE_DATA_READER}
# Unowned leads a manager triages: waiting for data or for a decision (not nurture: no human works those).
TRIAGE_QUEUES = (Queue.HOLDING, Queue.REVIEW)


def teams_managed_by(user) -> QuerySet[Team]:
    """The teams a user manages: one of its ``managers``, or its escalation ``manager``."""
    if user is None or not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(Q(managers=user) | Q(manager=user)).distinct()


def managed_team_ids(user) -> list[int]:
    """The ids of ``teams_managed_by(user)``."""
    return sorted(set(teams_managed_by(user).values_list("pk", flat=True)))


def user_manages_team(user, team_id: int | None) -> bool:
    return team_id is not None and team_id in managed_team_ids(user)


def _own_and_teams(roles: frozenset[str], user, *, person: str, team: str) -> list[Q]:
    """A rep's own rows (``person`` is them); a manager's own and their teams' (``team`` one of theirs)."""
    allowed = []
    if roles & {ROLE_SALES_REP, ROLE_SALES_MANAGER}:
        allowed.append(Q(**{person: user}))
    if ROLE_SALES_MANAGER in roles:
        allowed.append(Q(**{f"{team}__in": managed_team_ids(user)}))
    return allowed


def sees_every_lead(user) -> bool:
    """Whether ``user``'s roles let them see every lead (``leads_visible_to`` leaves none out)."""
    return bool(user_roles(user) & _SEE_ALL)


def leads_visible_to(user, queryset: QuerySet[Lead] | None = None, *, triage: bool = True) -> QuerySet[Lead]:
    """The leads ``user`` may see and act on (merged leads included; callers add ``live()``). ``triage=False``
    leaves out the unowned queue leads a manager may place (a team's numbers count its own leads only)."""
    queryset = Lead.objects.all() if queryset is None else queryset
    roles = user_roles(user)
    if roles & _SEE_ALL:
        return queryset
    allowed = _own_and_teams(roles, user, person="owner", team="owner__rep__team")
    if ROLE_SALES_MANAGER in roles and triage:
        allowed.append(Q(owner__isnull=True, queue__in=TRIAGE_QUEUES))
    if ROLE_INTEGRATION in roles:
        allowed.append(Q(Exists(Lead.history.model.objects.filter(id=OuterRef("pk"), history_user=user))))
    return _any(queryset, allowed)


def tasks_visible_to(user, queryset: QuerySet[Task] | None = None) -> QuerySet[Task]:
    """The tasks ``user`` may see and act on: a rep's own; a manager's own and their teams' reps'."""
    queryset = Task.objects.all() if queryset is None else queryset
    roles = user_roles(user)
    if roles & _SEE_ALL:
        return queryset
    return _any(queryset, _own_and_teams(roles, user, person="assignee", team="assignee__rep__team"))


def reps_visible_to(user, queryset: QuerySet[Rep] | None = None) -> QuerySet[Rep]:
    """The reps ``user`` may see, change and give leads to: a manager's teams' reps; a rep only themselves."""
    queryset = Rep.objects.all() if queryset is None else queryset
    roles = user_roles(user)
    if ROLE_REVOPS_ADMIN in roles:
        return queryset
    return _any(queryset, _own_and_teams(roles, user, person="user", team="team"))


def users_visible_to(user, queryset: QuerySet | None = None) -> QuerySet:
    """The users ``user`` may give a lead or a task to: themselves and the users of the reps they see."""
    queryset = get_user_model().objects.all() if queryset is None else queryset
    if ROLE_REVOPS_ADMIN in user_roles(user):
        return queryset
    if user is None or not user.is_authenticated:
        return queryset.none()
    return queryset.filter(Q(pk=user.pk) | Q(rep__in=reps_visible_to(user).values("pk")))


def teams_visible_to(user, queryset: QuerySet[Team] | None = None) -> QuerySet[Team]:
    """The teams ``user`` may put a rep in: a manager's own teams; a rep's team."""
    queryset = Team.objects.all() if queryset is None else queryset
    roles = user_roles(user)
    if roles & _SEE_ALL:
        return queryset
    allowed = []
    if ROLE_SALES_MANAGER in roles:
        allowed.append(Q(pk__in=managed_team_ids(user)))
    if roles & {ROLE_SALES_REP, ROLE_SALES_MANAGER}:
        allowed.append(Q(reps__user=user))
    return _any(queryset, allowed).distinct()


def events_visible_to(user, queryset: QuerySet[LeadEvent] | None = None) -> QuerySet[LeadEvent]:
    """Events of the leads ``user`` sees; for an Integration, the events it recorded."""
    queryset = LeadEvent.objects.all() if queryset is None else queryset
    roles = user_roles(user)
    if roles & _SEE_ALL:
        return queryset
    allowed = []
    if roles & {ROLE_SALES_REP, ROLE_SALES_MANAGER}:
        allowed.append(Q(lead__in=leads_visible_to(user).values("pk")))
    if ROLE_INTEGRATION in roles:
        allowed.append(Q(Exists(LeadEvent.history.model.objects.filter(id=OuterRef("pk"), history_user=user))))
    return _any(queryset, allowed)


def _by_leads(*fields: str):
    """The scope of rows that belong to a lead (or name several: a duplicate pair): the rows whose leads the user
    sees, every one of them (an Integration sees none)."""

    def scope(queryset: QuerySet, user) -> QuerySet:
        roles = user_roles(user)
        if roles & _SEE_ALL:
            return queryset
        if not roles & {ROLE_SALES_REP, ROLE_SALES_MANAGER}:
            return queryset.none()
        visible = leads_visible_to(user).values("pk")
        return queryset.filter(**{f"{field}__in": visible for field in fields})

    return scope


def _by_object(queryset: QuerySet, user) -> QuerySet:
    """Rows naming an object by ``object_type`` and ``object_id`` (notifications, automation log lines): those about
    a lead, task, rep or team the user sees; rows about anything else are RevOps admins'."""
    roles = user_roles(user)
    if roles & _SEE_ALL:
        return queryset
    if not roles & {ROLE_SALES_REP, ROLE_SALES_MANAGER}:
        return queryset.none()
    return queryset.filter(
        Q(object_type="lead", object_id__in=leads_visible_to(user).values("pk"))
        | Q(object_type="task", object_id__in=tasks_visible_to(user).values("pk"))
        | Q(object_type="rep", object_id__in=reps_visible_to(user).values("pk"))
        | Q(object_type="team", object_id__in=managed_team_ids(user)))


def _own_imports(queryset: QuerySet[LeadImport], user) -> QuerySet[LeadImport]:
    """A lead import is its uploader's (and RevOps admins')."""
    if user_roles(user) & _SEE_ALL:
        return queryset
    if user is None or not user.is_authenticated:
        return queryset.none()
    return queryset.filter(user=user)


decisions_visible_to_scope = _by_leads("lead")
score_changes_visible_to_scope = _by_leads("lead")


def decisions_visible_to(user, queryset: QuerySet[RoutingDecision] | None = None) -> QuerySet[RoutingDecision]:
    """Routing decisions of the leads ``user`` sees."""
    return decisions_visible_to_scope(RoutingDecision.objects.all() if queryset is None else queryset, user)


def score_changes_visible_to(user, queryset: QuerySet[ScoreChange] | None = None) -> QuerySet[ScoreChange]:
    """Score changes of the leads ``user`` sees."""
    return score_changes_visible_to_scope(ScoreChange.objects.all() if queryset is None else queryset, user)


def _any(queryset: QuerySet, allowed: list[Q]) -> QuerySet:
    if not allowed:
        return queryset.none()
    condition = allowed[0]
    for more in allowed[1:]:
        condition |= more
    return queryset.filter(condition)


def _flip(function):
    """``function(user, queryset)`` as the registry's ``scope(queryset, user)``."""
    return lambda queryset, user: function(user, queryset)


def scopes_register() -> None:
    """Register every scope with ``revops.base.scoping`` (called once, from ``RoutingConfig.ready``)."""
    scope_register(Lead, _flip(leads_visible_to))
    scope_register(Task, _flip(tasks_visible_to))
    scope_register(Rep, _flip(reps_visible_to))
    scope_register(LeadEvent, _flip(events_visible_to))
    scope_register(RoutingDecision, _flip(decisions_visible_to))
    scope_register(ScoreChange, _flip(score_changes_visible_to))
    scope_register(get_user_model(), _flip(users_visible_to))
    scope_register(Team, _flip(teams_visible_to))
    for model in (SourceRecord, EnrichmentRequest, ScoreTrigger, ScoreFeedback, StageSlaAlert, WebFormSubmission,
                  NurtureEnrollment):
        scope_register(model, _by_leads("lead"))
    scope_register(MergeLog, _by_leads("survivor"))
    scope_register(DuplicateReview, _by_leads("lead", "other_lead"))
    scope_register(Notification, _by_object)
    scope_register(AutomationLog, _by_object)
    scope_register(LeadImport, _own_imports)
