"""Every role against every URL of the URL conf: the expected answer of each is in the tables below, and a URL
pattern missing from them fails the test, so a new endpoint cannot be added without saying who may use it.

Roles: anonymous, rep (team A), manager of team A, RevOps admin, Integration, Data reader. Objects come in two
variants: team B's ("other": only a RevOps admin may reach it) and team A's ("own": the rep and the manager too).
Y: allowed (not refused, no server error); N: refused (401, 403, 404, or a redirect to a login page or, for an
admin object outside the scope, to the admin index); *: anything but a server error.
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver

from leads.models import Lead

from .conftest import World

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "rep", "manager", "admin", "integration", "reader")
FORMAT_SUFFIX = re.compile(r"\\\.\(\?P<format>\[a-z0-9\]\+\)/\?\$$")

# route → {method: expectations per role, in ROLES order}; a route with an object gives "other own".
ROUTES: dict[str, dict[str, str]] = {
    "": {"GET": "******"},
    "accounts/login/": {"GET": "******"},
    "accounts/logout/": {"POST": "******"},
    "api/": {"GET": "NYYYYY"},
    "api/<drf_format_suffix:format>": {"GET": "NYYYYY"},
    "api/schema/": {"GET": "******"},
    "api/docs/": {"GET": "******"},
    "health/": {"GET": "******"},
    "slack/interactivity/": {"POST": "NNNNNN"},  # unsigned: refused for everyone
    "api/^leads/$": {"GET": "NYYYNY", "POST": "NNYYYN"},
    "api/^leads/(?P<pk>[0-9]{1,18})/$": {"GET": "NNNYNN NYYYNN"},
    "api/leads/bulk/": {"POST": "NNYYYN"},
    "api/leads/export/": {"GET": "NNYYNN"},
    "api/leads/reassign/": {"POST": "NNNYNN NNYYNN"},
    "api/routing/undo/": {"POST": "NNNYNN NNYYNN"},
    "api/routing/decisions/": {"GET": "NYYYNY"},
    "api/score-changes/": {"GET": "NYYYNY"},
    "api/events/": {"GET": "NYYYNY", "POST": "NNNYYN"},
    "api/events/<int:pk>/": {"GET": "NNNYNN NYYYNN"},
    "api/^tasks/$": {"GET": "NYYYNY"},
    "api/^tasks/(?P<pk>[0-9]{1,18})/$": {"GET": "NNNYNN NYYYNN"},
    "api/^tasks/(?P<pk>[0-9]{1,18})/accept/$": {"POST": "NNNYNN NYYYNN"},
    "api/^tasks/(?P<pk>[0-9]{1,18})/complete/$": {"POST": "NNNYNN NYYYNN"},
    "api/^tasks/(?P<pk>[0-9]{1,18})/reassign-request/$": {"POST": "NNNYNN NYYYNN"},
    "api/^tasks/(?P<pk>[0-9]{1,18})/snooze/$": {"POST": "NNNYNN NYYYNN"},
    "workspace/": {"GET": "NYYYNN"},
    "workspace/settings/": {"GET": "NYNNNN"},  # a rep's own settings: the others have no rep profile (404)
    "dashboard/": {"GET": "NNYYNN"},
    **{f"dashboard/{page}/": {"GET": "NNYYNN"} for page in ("scores", "funnel", "speed", "routing", "workload",
                                                           "experiments")},
    "health/workflows/": {"GET": "NNYYNN"},
    "reports/daily/": {"GET": "NNYYNN"},
    "reports/weekly/": {"GET": "NNYYNN"},
    "^api/forms/(?P<form_key>[A-Za-z0-9_-]{1,64})/submit/?$": {"POST": "******"},  # public: a form's key, no login
    "unsubscribe/<str:token>/": {"GET": "******", "POST": "******"},  # public: a signed token, no login
    "api/people/export/": {"GET": "NNNYNN"},
    "api/people/erase/": {"POST": "NNNYNN"},
    "workspace/manager/": {"GET": "NNYYNN"},
    "workspace/manager/tasks/<int:task_id>/reassign/": {"POST": "NNNYNN NNYYNN"},
    "workspace/manager/leads/<int:lead_id>/assign/": {"POST": "NNNYNN NNYYNN"},
    "workspace/tasks/<int:task_id>/done/": {"POST": "NNNYNN NYYYNN"},
    "workspace/tasks/<int:task_id>/<str:action>/": {"POST": "NNNYNN NYYYNN"},
    "workspace/leads/<int:lead_id>/": {"GET": "NNNYNN NYYYNN"},
    "workspace/leads/<int:lead_id>/<str:action>/": {"POST": "NNNYNN NYYYNN"},
    # The admin's own pages; the model pages are generated from ADMIN_MODELS below.
    "admin/": {"GET": "NNYYNN"},
    "admin/login/": {"GET": "******"},
    "admin/logout/": {"POST": "******"},
    "admin/password_change/": {"GET": "NNYYNN"},
    "admin/password_change/done/": {"GET": "NNYYNN"},
    "admin/autocomplete/": {"GET": "NN**NN"},
    "admin/jsi18n/": {"GET": "NNYYNN"},
    "admin/r/<path:content_type_id>/<path:object_id>/": {"GET": "NN**NN"},
    "admin/^(?P<app_label>…)/$": {"GET": "NN**NN"},  # the app index (its list of apps normalised away)
    "admin/(?P<url>.*)$": {"GET": "******"},
    "admin/leads/leadimport/upload/": {"GET": "NNYYNN"},
    "admin/leads/leadimport/companies/upload/": {"GET": "NNNYNN"},
    "admin/leads/leadimport/<int:import_id>/preview/": {"GET": "NNNNNN"},  # no such import
    "admin/leads/leadimport/<int:import_id>/progress/": {"GET": "NNNNNN"},
    "admin/leads/leadimport/<int:import_id>/errors/": {"GET": "NNNNNN"},
    "admin/leads/leadimport/export-leads/": {"GET": "NNYYNN"},
    "admin/leads/duplicatereview/<int:review_id>/compare/": {"GET": "NNNNNN"},  # no such review
    "admin/scoring/scoringmodel/<path:object_id>/preview/": {"GET": "NN**NN"},
    "admin/scoring/scorefeedback/report/": {"GET": "NNYYNN"},
    "admin/routing/routingrule/preview/": {"GET": "NNYYNN"},
    "admin/auth/user/<id>/password/": {"GET": "NN**NN"},
}
# The RQ dashboard: RevOps admins only (its home page must open for them; the rest name queues and jobs that may not
# exist in the test).
RQ_HOME = "django-rq/"
RQ_EXPECTED = "NNN-NN"  # the admin's line is not requested (see the test)

# Every model registered in the admin, and whether its objects are scoped to teams (routing/scoping.py). A model
# added to the admin without a line here fails the test.
SCOPED, SHARED = "scoped", "shared"
ADMIN_MODELS = {
    "leads.lead": SCOPED, "leads.leadevent": SCOPED, "leads.enrichmentrequest": SCOPED,
    "routing.task": SCOPED, "routing.rep": SCOPED, "routing.routingdecision": SCOPED,
    "scoring.scorechange": SCOPED, "scoring.scoretrigger": SCOPED, "scoring.scorefeedback": SCOPED,
    "leads.mergelog": SCOPED, "leads.duplicatereview": SCOPED, "leads.leadimport": SCOPED,
    "revops.notification": SCOPED, "revops.automationlog": SCOPED, "leads.webformsubmission": SCOPED,
    "routing.nurtureenrollment": SCOPED,
    # Configuration and company-wide queues: rules and territories as before, RevOps tables by permission.
    "leads.account": SHARED, "leads.industryterm": SHARED, "leads.companyprofile": SHARED,
    "leads.enrichmentprovider": SHARED, "routing.territory": SHARED, "routing.team": SHARED,
    "routing.routingrule": SHARED,
    "routing.routingpointer": SHARED, "routing.slapolicy": SHARED, "routing.tasktemplate": SHARED,
    "routing.stagesla": SHARED, "routing.disqualifyreason": SHARED, "routing.nurtureprogram": SHARED,
    "scoring.scoringmodel": SHARED,
    "scoring.scoringrule": SHARED, "scoring.scoringexperiment": SHARED, "scoring.predictivemodel": SHARED,
    "revops.workflowswitch": SHARED, "revops.pendingjob": SHARED, "revops.webhooksubscription": SHARED,
    "revops.webhookdelivery": SHARED,
    "revops.erasurerecord": SHARED, "leads.webform": SHARED,
    "auth.group": SHARED, "auth.user": SHARED, "authtoken.tokenproxy": SHARED,
    "axes.accessattempt": SHARED, "axes.accesslog": SHARED, "axes.accessfailurelog": SHARED,
}
ADMIN_MODEL_VIEWS = ("", "add/", "<path:object_id>/", "<path:object_id>/change/", "<path:object_id>/delete/",
                     "<path:object_id>/history/", "^([^/]+)/history/([^/]+)/$")


def route_key(route: str) -> str:
    """The table's key of a route: format-suffix variants share their route's line, the admin's app index one line."""
    if FORMAT_SUFFIX.search(route):
        route = FORMAT_SUFFIX.sub("/$", route)
    return re.sub(r"^admin/\^\(\?P<app_label>[^)]*\)/\$$", "admin/^(?P<app_label>…)/$", route)


def url_routes() -> list[str]:
    """Every route of the URL conf, as its pattern strings joined (what the tables above are keyed by)."""
    found = []

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                found.append(prefix + str(entry.pattern))

    walk(get_resolver().url_patterns, "")
    return found


def _model_route(route: str) -> tuple[str, str] | None:
    """``(app.model, view)`` for a generated admin model page."""
    for label in ADMIN_MODELS:
        app, model = label.split(".")
        base = f"admin/{app}/{model}/"
        if route.startswith(base) and route[len(base):] in ADMIN_MODEL_VIEWS:
            return label, route[len(base):]
    return None


def test_every_url_pattern_and_admin_model_is_in_the_tables():
    registered = {m._meta.label_lower for m in admin.site._registry}
    assert registered - set(ADMIN_MODELS) == set(), "admin models without a scope decision in ADMIN_MODELS"
    unlisted = []
    for route in url_routes():
        base = route_key(route)
        if base in ROUTES or route.startswith("django-rq/") or _model_route(route):
            continue
        unlisted.append(route)
    assert unlisted == [], f"URL patterns with no expectation in the role table: {unlisted}"


# --- the requests --------------------------------------------------------------------------------------------------


def refused(response) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    if response.status_code in (301, 302):
        target = response["Location"]
        return "/login/" in target or target.rstrip("/").endswith("/admin") or target == "/admin/"
    return False


def check(outcomes: list, role: str, label: str, expected: str, response) -> None:
    status = response.status_code
    if label.startswith("GET /health/") and status == 503:  # no worker runs in the test: its documented answer
        return
    if status >= 500 or status == 405:
        outcomes.append(f"{role} {label}: {status}")
    elif expected == "Y" and refused(response):
        outcomes.append(f"{role} {label}: refused ({status} {response.get('Location', '')}), expected allowed")
    elif expected == "N" and not refused(response):
        outcomes.append(f"{role} {label}: allowed ({status}), expected refused")


def _objects(world: World, variant: str):
    return world.b if variant == "other" else world.a


def _url_for(route: str, side, world: World) -> str:
    """A concrete URL for a route, naming ``side``'s objects."""
    values = {"pk": side.lead.pk, "lead_id": side.lead.pk, "task_id": side.task.pk, "import_id": 999999,
              "review_id": 999999, "format": "json", "content_type_id": ContentType.objects.get_for_model(Lead).pk,
              "object_id": side.lead.pk, "id": "1",
              "app_label": "leads", "url": "nowhere/", "form_key": "no-such-form", "token": "1:not-signed"}
    if route.startswith("api/events/"):
        values["pk"] = side.event.pk
    if route.startswith("api/^tasks/"):
        values["pk"] = side.task.pk
    if route.startswith("workspace/tasks/<int:task_id>/<str:action>/"):
        values["action"] = "accept"
    elif route.startswith("workspace/leads/<int:lead_id>/<str:action>/"):
        values["action"] = "note"
    path = route.replace("<drf_format_suffix:format>", ".json")
    path = path.replace("^", "").replace("$", "").replace("\\", "")
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)[^/]*", lambda m: str(values[m.group(1)]), path)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), path)
    path = path.replace("/?", "/")
    return "/" + path


def _body(route: str, side, world: World) -> dict:
    other_rep = world.a.team.reps.exclude(pk=world.a.rep.pk).first()  # ravi, team A's second rep
    if route == "api/leads/reassign/":
        return {"lead_ids": [side.lead.pk], "rep": other_rep.pk, "reason": "table test"}
    if route == "api/routing/undo/":
        return {"decision_ids": [side.decision.pk]}
    if route.startswith(("workspace/manager/tasks/", "workspace/manager/leads/")):
        return {"rep": other_rep.pk, "reason": "table test"}
    return {}


@pytest.fixture
def as_role(client):
    def login(world: World, role: str):
        client.logout()
        if world.users[role] is not None:
            client.force_login(world.users[role])
        return client

    return login


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_only_the_endpoints_and_objects_that_belong_to_it(role, world_rows, as_role):
    world = world_rows
    client = as_role(world, role)
    problems: list[str] = []
    index = ROLES.index(role)
    for route in url_routes():
        base = route_key(route)
        if base not in ROUTES:
            continue
        for method, expectations in ROUTES[base].items():
            variants = expectations.split()
            for variant, expected_all in zip(("other", "own"), variants, strict=False):
                side = _objects(world, variant)
                url = _url_for(route, side, world)
                if method == "GET":
                    response = client.get(url)
                elif url.startswith("/api/"):
                    response = client.post(url, _body(base, side, world), content_type="application/json")
                else:
                    response = client.post(url, _body(base, side, world))
                check(problems, role, f"{method} {url} ({variant})", expected_all[index], response)
                if "logout" in url:  # signed out by the page itself: sign in again for the routes after it
                    client = as_role(world, role)
    response = client.get("/" + RQ_HOME)
    check(problems, role, "GET /django-rq/", "Y" if role == "admin" else "N", response)
    for route in url_routes():
        # A RevOps admin's requests naming made-up jobs are django-rq's own business (some answer 500 to an unknown
        # job); what matters here is that nobody else gets in.
        if role == "admin":
            break
        if route.startswith("django-rq/") and route != RQ_HOME and "(?P" not in route and "^" not in route:
            url = _url_for(route.replace("<int:queue_index>", "0").replace("<int:scheduler_index>", "0")
                           .replace("<int:connection_index>", "0").replace("<str:job_id>", "nojob")
                           .replace("<str:result_id>", "x").replace("<str:key>", "x")
                           .replace("<str:scheduler_name>", "x").replace("<path:cron_job_name>", "x"), world.a, world)
            check(problems, role, f"GET {url}", RQ_EXPECTED[index], client.get(url))
    problems += admin_model_pages(client, role, world)
    assert not problems, "\n".join(problems)


SIDE_OBJECTS = {"leads.lead": "lead", "leads.leadevent": "event", "routing.task": "task", "routing.rep": "rep",
                "routing.routingdecision": "decision", "scoring.scorechange": "score_change", "leads.mergelog": "merge",
                "leads.duplicatereview": "review", "revops.notification": "notification",
                "revops.automationlog": "automation", "leads.webformsubmission": "submission",
                "leads.leadimport": "lead_import", "routing.nurtureenrollment": "enrollment"}
STAFF_ROLES = ("manager", "admin")


def _admin_expected(role: str, user, model_admin, view: str, obj, out_of_scope: bool) -> str:
    """What the admin's own permission rules give this role (the perms of revops.base.roles), then the scope."""
    if role not in STAFF_ROLES:
        return "N"
    if view == "<path:object_id>/":  # the admin's old-style URL: a redirect to the change page, whatever it holds
        return "*"
    request = RequestFactory().get("/admin/")
    request.user = user
    if view == "":
        allowed = model_admin.has_view_or_change_permission(request)
    elif view == "add/":
        allowed = model_admin.has_add_permission(request)
    elif view == "<path:object_id>/delete/":
        allowed = model_admin.has_delete_permission(request, obj)
    else:
        allowed = model_admin.has_view_or_change_permission(request, obj)
    if not allowed:
        return "N"
    return "N" if out_of_scope else "Y"


def admin_model_pages(client, role: str, world: World) -> list[str]:
    """Changelist, add, change, delete, history and one past version of every registered model, for team B's
    object (and team A's for scoped models); a manager reaches team A's only."""
    problems: list[str] = []
    user = world.users[role]
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        targets = []
        if ADMIN_MODELS[label] == SCOPED and label in SIDE_OBJECTS:
            targets = [(getattr(world.b, SIDE_OBJECTS[label]), role != "admin"),
                       (getattr(world.a, SIDE_OBJECTS[label]), role not in ("admin", "manager"))]
        elif ADMIN_MODELS[label] == SHARED and model._default_manager.exists():
            targets = [(model._default_manager.order_by("pk").first(), False)]
        for view in ("", "add/"):
            expected = _admin_expected(role, user, model_admin, view, None, False)
            check(problems, role, f"GET {base}{view}", expected, client.get(base + view))
        for obj, out_of_scope in targets:
            for view in ADMIN_MODEL_VIEWS[2:6]:
                url = base + view.replace("<path:object_id>", str(obj.pk))
                expected = _admin_expected(role, user, model_admin, view, obj, out_of_scope)
                check(problems, role, f"GET {url}", expected, client.get(url))
            history = getattr(model, "history", None)
            record = history.filter(**{model._meta.pk.attname: obj.pk}).first() if history is not None else None
            if record is not None:
                url = f"{base}{obj.pk}/history/{record.history_id}/"
                expected = _admin_expected(role, user, model_admin, "history", obj, out_of_scope)
                check(problems, role, f"GET {url}", expected, client.get(url))
    return problems
