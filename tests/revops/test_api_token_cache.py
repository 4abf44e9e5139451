"""Each web process keeps an API token with its user for ``LEADFLOW_API_TOKEN_CACHE_SECONDS``; what the token stands
for changing (deleted, the user made inactive, a role's permission taken away) takes effect at once in the process
that changed it, and in every other within that time (``revops.base.apiclasses.TokenAuthentication``)."""

import time

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from leads.models import Lead
from revops.base import apiclasses
from revops.base.roles import ROLE_INTEGRATION

pytestmark = pytest.mark.django_db

EVENTS = "/api/events/"


@pytest.fixture
def lead(db) -> Lead:
    return Lead.objects.create(first_name="Ada", last_name="Byron", email="ada@byron.example")


def post(client, lead: Lead) -> int:
    return client.post(EVENTS, {"lead": lead.pk, "type": "email_open"}, format="json").status_code


def token_reads(client, lead: Lead) -> tuple[int, int]:
    """(status, statements that read the token table) of one event posted."""
    with CaptureQueriesContext(connection) as queries:
        status = post(client, lead)
    return status, sum(1 for q in queries.captured_queries if "authtoken_token" in q["sql"])


def test_a_token_is_read_once_then_kept(api_client, lead):
    assert token_reads(api_client, lead) == (201, 1)
    assert token_reads(api_client, lead) == (201, 0)


def test_with_no_keeping_every_request_reads_it(api_client, lead, settings):
    settings.LEADFLOW_API_TOKEN_CACHE_SECONDS = 0
    assert token_reads(api_client, lead) == (201, 1)
    assert token_reads(api_client, lead) == (201, 1)


def test_a_deleted_token_is_refused_at_once(api_client, integration_user, lead):
    assert post(api_client, lead) == 201
    Token.objects.filter(user=integration_user).delete()
    assert post(api_client, lead) == 401


def test_an_inactive_user_is_refused_at_once(api_client, integration_user, lead):
    assert post(api_client, lead) == 201
    integration_user.is_active = False
    integration_user.save()
    assert post(api_client, lead) == 401


def test_a_permission_taken_from_the_role_is_refused_at_once(api_client, lead):
    assert post(api_client, lead) == 201
    Group.objects.get(name=ROLE_INTEGRATION).permissions.remove(Permission.objects.get(codename="add_leadevent"))
    assert post(api_client, lead) == 403


def test_a_token_deleted_by_another_process_is_refused_when_its_time_is_up(api_client, integration_user, lead,
                                                                            monkeypatch):
    assert post(api_client, lead) == 201
    with connection.cursor() as cursor:  # another process's delete: no signal reaches this one
        cursor.execute("DELETE FROM authtoken_token WHERE user_id = %s", [integration_user.pk])
    assert post(api_client, lead) == 201  # kept
    later = time.monotonic() + apiclasses.settings.LEADFLOW_API_TOKEN_CACHE_SECONDS + 0.1
    monkeypatch.setattr(apiclasses.time, "monotonic", lambda: later)
    assert post(api_client, lead) == 401


def test_an_unknown_token_is_never_kept(client, lead):
    for _ in range(2):
        assert client.post(EVENTS, {"lead": lead.pk, "type": "email_open"}, content_type="application/json",
                           HTTP_AUTHORIZATION="Token " + "f" * 40).status_code == 401
    assert "f" * 40 not in apiclasses._tokens
