"""Who sees which objects: one scoping function per object type, the only place the rule lives.

Used by the admin's ``get_queryset`` (``revops.base.scoping.ScopedAdminMixin``), the API's views and the workspace;
reading and writing share it (an object outside the scope is a 404 everywhere). Registered with
``revops.base.scoping`` in ``RoutingConfig.ready`` so the lead and scoring layers reach it without importing upward.

- RevOps admin: everything. Data reader (BI): everything, through the list endpoints of the feed only.
- Sales manager: the leads owned by the reps of the teams they manage (``Team.managers``, or the team's escalation
  ``manager``) and their own; those reps' tasks and their own; those reps.
- Sales rep: the leads they own, their tasks, themselves.
- Integration: the leads and events it created or changed (their history names it), read back by id.
- Anyone else: nothing.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from leads.models import EnrichmentRequest, Lead, LeadEvent, SourceRecord
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

from .models import Rep, RoutingDecision, StageSlaAlert, Task, Team

_SEE_ALL = {ROLE_REVOPS_ADMIN, ROLE_DATA_READER}


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


def leads_visible_to(user, queryset: QuerySet[Lead] | None = None) -> QuerySet[Lead]:
    """The leads ``user`` may see and act on (merged leads included; callers add ``live()``)."""
    queryset = Lead.objects.all() if queryset is None else queryset
    roles = user_roles(user)
    if roles & _SEE_ALL:
        return queryset
    allowed = []
    if roles & {ROLE_SALES_REP, ROLE_SALES_MANAGER}:
        allowed.append(Q(owner=user))
    if ROLE_SALES_MANAGER in roles:
        allowed.append(Q(owner__rep__team__in=managed_team_ids(user)))
    if ROLE_INTEGRATION in roles:
        allowed.append(Q(Exists(Lead.history.model.objects.filter(id=OuterRef("pk"), history_user=user))))
    return _any(queryset, allowed)


def tasks_visible_to(user, queryset: QuerySet[Task] | None = None) -> QuerySet[Task]:
    """The tasks ``user`` may see and act on: a rep's own; a manager's own and their teams' reps'."""
    queryset = Task.objects.all() if queryset is None else queryset
    roles = user_roles(user)
    if roles & _SEE_ALL:
        return queryset
    allowed = []
    if roles & {ROLE_SALES_REP, ROLE_SALES_MANAGER}:
        allowed.append(Q(assignee=user))
    if ROLE_SALES_MANAGER in roles:
        allowed.append(Q(assignee__rep__team__in=managed_team_ids(user)))
    return _any(queryset, allowed)


def reps_visible_to(user, queryset: QuerySet[Rep] | None = None) -> QuerySet[Rep]:
    """The reps ``user`` may see, change and give leads to: a manager's teams' reps; a rep only themselves."""
    queryset = Rep.objects.all() if queryset is None else queryset
    roles = user_roles(user)
    if ROLE_REVOPS_ADMIN in roles:
        return queryset
    allowed = []
    if roles & {ROLE_SALES_REP, ROLE_SALES_MANAGER}:
        allowed.append(Q(user=user))
    if ROLE_SALES_MANAGER in roles:
        allowed.append(Q(team__in=managed_team_ids(user)))
    return _any(queryset, allowed)


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


def _by_lead(field: str = "lead"):
    """The scope of rows that belong to a lead: the rows of the leads the user sees (not an Integration's)."""

    def scope(queryset: QuerySet, user) -> QuerySet:
        roles = user_roles(user)
        if roles & _SEE_ALL:
            return queryset
        if not roles & {ROLE_SALES_REP, ROLE_SALES_MANAGER}:
            return queryset.none()
        return queryset.filter(**{f"{field}__in": leads_visible_to(user).values("pk")})

    return scope


decisions_visible_to_scope = _by_lead()
score_changes_visible_to_scope = _by_lead()


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
    for model in (SourceRecord, EnrichmentRequest, ScoreTrigger, ScoreFeedback, StageSlaAlert):
        scope_register(model, _by_lead())
