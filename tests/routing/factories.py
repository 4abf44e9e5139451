"""Small builders for routing tests: leads, reps in a team, rules."""

from __future__ import annotations

import itertools

from django.contrib.auth.models import User

from leads.models import Lead
from routing.choices import RepRole, RuleAction, Strategy
from routing.models import Rep, RoutingRule, Team

_numbers = itertools.count(1)


def make_lead(**fields) -> Lead:
    """A routable lead: US, MQL, band B, score 50, 300 employees, unless told otherwise."""
    defaults = {"email": f"lead{next(_numbers)}@x.example", "country": "US", "score": 50, "band": "B",
                "stage": "mql", "employees": 300}
    defaults.update(fields)
    return Lead.objects.create(**defaults)


def make_reps(team: Team, count: int, *, prefix: str | None = None, role: str = RepRole.AE, **fields) -> list[Rep]:
    reps = []
    for _ in range(count):
        name = f"{prefix or team.name.lower().replace(' ', '')}{next(_numbers)}"
        user = User.objects.create_user(name, email=f"{name}@x.example")
        reps.append(Rep.objects.create(user=user, team=team, role=role, **fields))
    return reps


def team_rule(name: str, team: Team, order: int = 10, strategy: str = Strategy.ROUND_ROBIN, **fields) -> RoutingRule:
    return RoutingRule.objects.create(name=name, order=order, action=RuleAction.ASSIGN_TEAM, team=team,
                                      strategy=strategy, **fields)
