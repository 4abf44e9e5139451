"""Roles: the groups Leadflow's users belong to, with their permissions. Kept in step after every migrate."""

from django.contrib.auth.models import Group, Permission

LEADFLOW_APPS = ("leads", "scoring", "routing", "revops")

ROLE_REVOPS_ADMIN = "RevOps admin"
ROLE_SALES_MANAGER = "Sales manager"
ROLE_SALES_REP = "Sales rep"
ROLE_INTEGRATION = "Integration"


def _perms(*codenames: str) -> list[Permission]:
    wanted = []
    for codename in codenames:
        app_label, _, name = codename.partition(".")
        wanted.append((app_label, name))
    return [p for p in Permission.objects.select_related("content_type")
            if (p.content_type.app_label, p.codename) in set(wanted)]


def roles_ensure() -> None:
    """Create or update the four role groups (idempotent)."""
    every = Permission.objects.filter(content_type__app_label__in=LEADFLOW_APPS)
    admin, _ = Group.objects.get_or_create(name=ROLE_REVOPS_ADMIN)
    admin.permissions.set(every)

    manager, _ = Group.objects.get_or_create(name=ROLE_SALES_MANAGER)
    manager_perms = list(every.filter(codename__startswith="view_"))
    manager_perms += _perms(
        "leads.change_lead", "leads.add_lead", "routing.change_rep", "routing.change_task", "routing.add_task",
        "routing.change_territory", "routing.change_routingrule", "routing.add_routingrule",
        "scoring.change_scoringrule", "scoring.add_scoringrule", "scoring.change_scoringmodel",
        "scoring.add_scorefeedback",
        # A manager imports their team's lead lists (not the company directory) and decides duplicate pairs.
        "leads.add_leadimport", "leads.change_duplicatereview",
    )
    manager.permissions.set(manager_perms)

    rep, _ = Group.objects.get_or_create(name=ROLE_SALES_REP)
    rep.permissions.set(_perms("routing.view_task", "routing.change_task"))

    integration, _ = Group.objects.get_or_create(name=ROLE_INTEGRATION)
    integration.permissions.set(_perms("leads.add_lead", "leads.view_lead", "leads.add_leadevent",
                                       "leads.view_leadevent"))
