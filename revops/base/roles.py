"""Roles: the groups Leadflow's users belong to, with their permissions (kept in step after every migrate), and the
questions every page asks about a user's roles.

Which objects a role sees is answered elsewhere, once per object type: the scoping functions of
``routing/scoping.py`` (``leads_visible_to``, ``tasks_visible_to``...), reached through ``revops.base.scoping``.
This module answers which pages and endpoints a role may open at all. The table is in docs/admin.md and README.md.
"""

from django.contrib.auth.models import Group, Permission

LEADFLOW_APPS = ("leads", "scoring", "routing", "revops")

ROLE_REVOPS_ADMIN = "RevOps admin"
ROLE_SALES_MANAGER = "Sales manager"
ROLE_SALES_REP = "Sales rep"
ROLE_INTEGRATION = "Integration"
ROLE_DATA_READER = "Data reader"

# What the Data reader (a warehouse / BI account) reads through the incremental feed, and nothing else.
DATA_READER_PERMISSIONS = ("leads.view_lead", "leads.view_leadevent", "routing.view_task",
                           "routing.view_routingdecision", "scoring.view_scorechange")


ADMIN_ONLY_VIEWS = ("view_webhooksubscription", "view_webhookdelivery", "view_pendingjob", "view_erasurerecord",
                    "view_slackinteraction", "view_apiidempotencykey")


def _perms(*codenames: str) -> list[Permission]:
    wanted = []
    for codename in codenames:
        app_label, _, name = codename.partition(".")
        wanted.append((app_label, name))
    return [p for p in Permission.objects.select_related("content_type")
            if (p.content_type.app_label, p.codename) in set(wanted)]


def roles_ensure() -> None:
    """Create or update the five role groups (idempotent)."""
    every = Permission.objects.filter(content_type__app_label__in=LEADFLOW_APPS)
    admin, _ = Group.objects.get_or_create(name=ROLE_REVOPS_ADMIN)
    admin.permissions.set(every)

    manager, _ = Group.objects.get_or_create(name=ROLE_SALES_MANAGER)
    # Every view permission but the RevOps tables: webhooks (secrets, delivery bodies), pending pipeline jobs,
    # erasure records, Slack replay keys and idempotency keys.
    manager_perms = list(every.filter(codename__startswith="view_").exclude(
        content_type__app_label="revops", codename__in=ADMIN_ONLY_VIEWS))
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

    # Creates leads and events and reads back what it created; the scoping functions keep it to those.
    integration, _ = Group.objects.get_or_create(name=ROLE_INTEGRATION)
    integration.permissions.set(_perms("leads.add_lead", "leads.view_lead", "leads.add_leadevent",
                                       "leads.view_leadevent"))

    reader, _ = Group.objects.get_or_create(name=ROLE_DATA_READER)
    reader.permissions.set(_perms(*DATA_READER_PERMISSIONS))


# --- what a user's roles open --------------------------------------------------------------------------------------


def user_roles(user) -> frozenset[str]:
    """The role names of a user (a superuser counts as a RevOps admin); empty for an anonymous or inactive user.
    Read afresh on every call (a group given a moment ago counts at once)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    roles = frozenset(user.groups.values_list("name", flat=True))
    if user.is_superuser:
        roles |= {ROLE_REVOPS_ADMIN}
    # A user with a rep profile (``user.rep``, made in the admin or a script without the group) works as a rep.
    if not roles & {ROLE_SALES_REP, ROLE_SALES_MANAGER, ROLE_REVOPS_ADMIN} and getattr(user, "rep", None):
        roles |= {ROLE_SALES_REP}
    return roles


def is_revops_admin(user) -> bool:
    return ROLE_REVOPS_ADMIN in user_roles(user)


def is_sales_manager(user) -> bool:
    return ROLE_SALES_MANAGER in user_roles(user)


def is_data_reader(user) -> bool:
    return ROLE_DATA_READER in user_roles(user)


def is_integration(user) -> bool:
    return ROLE_INTEGRATION in user_roles(user)


def may_use_workspace(user) -> bool:
    """The rep workspace (queue, lead pages, settings): reps, managers, RevOps admins — never an Integration or a
    Data reader account, even one with a password."""
    return bool(user_roles(user) & {ROLE_SALES_REP, ROLE_SALES_MANAGER, ROLE_REVOPS_ADMIN})


def may_see_dashboards(user) -> bool:
    """The dashboards: managers (their teams' numbers) and RevOps admins."""
    return bool(user_roles(user) & {ROLE_SALES_MANAGER, ROLE_REVOPS_ADMIN})


def may_list(user) -> bool:
    """List endpoints of the API (and the feed): everyone but an Integration account; what each sees is scoped."""
    return bool(user_roles(user) & {ROLE_SALES_REP, ROLE_SALES_MANAGER, ROLE_REVOPS_ADMIN, ROLE_DATA_READER})


def may_read_one(user) -> bool:
    """Detail endpoints (one object by id): everyone but a Data reader, who reads the feed only."""
    return bool(user_roles(user) - {ROLE_DATA_READER})


def may_export(user) -> bool:
    """File exports of leads (the API's CSV, the admin's): RevOps admins and managers (their teams' leads)."""
    return bool(user_roles(user) & {ROLE_SALES_MANAGER, ROLE_REVOPS_ADMIN})
