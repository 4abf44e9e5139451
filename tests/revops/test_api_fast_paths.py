"""The API's answers written without copying the serializers' fields, and the token read in a statement compiled
once (revops/base/api_fields.py, revops/base/apiclasses.py): the same output and the same refusals as DRF's own."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.api.serializers import EventInputSerializer, EventSerializer, LeadSerializer
from leads.choices import Band, Consent, Stage
from leads.models import Lead, LeadEvent, SourceRecord
from revops.base.api_fields import FieldsBuiltOnce, _output_plan
from routing.api.serializers import RoutedLeadSerializer

pytestmark = pytest.mark.django_db

# What the input boundary lets through (revops/base/boundary.py refuses NUL; PostgreSQL's JSON refuses it too).
text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
moment = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
lead_values = st.fixed_dictionaries({
    "first_name": text, "company": text, "email": st.emails().map(str.lower), "title": text,
    "employees": st.none() | st.integers(0, 2_000_000),
    "annual_revenue": st.none() | st.decimals(0, 10**9, places=2, allow_nan=False),
    "deal_value": st.none() | st.decimals(0, 10**7, places=2, allow_nan=False),
    "custom": st.dictionaries(text, st.none() | st.integers(-(2**53), 2**53) | text, max_size=3),
    "score": st.none() | st.integers(-100, 200), "predicted_probability": st.none() | st.floats(0, 1),
    "band": st.sampled_from(["", *Band.values]), "stage": st.sampled_from(Stage.values),
    "consent": st.sampled_from(Consent.values), "assigned_at": st.none() | moment,
    "last_interaction_at": st.none() | moment,
})


def _as_drf_writes(serializer, instance) -> dict:
    """The output as DRF's ``Serializer.to_representation`` writes it (over the instance's own bound copies)."""
    return serializers.Serializer.to_representation(serializer, instance)


def test_the_api_s_serializers_take_the_path_without_copies():
    for serializer_class in (LeadSerializer, RoutedLeadSerializer, EventSerializer):
        plan = _output_plan(serializer_class)
        assert [name for name, _, _ in plan] == serializer_class.Meta.fields
    methods = {name for name, _, method in _output_plan(RoutedLeadSerializer) if method}
    assert methods == {"owner", "external_ids", "routing"}


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                            HealthCheck.too_slow])
@given(values=lead_values, owned=st.booleans(), merged=st.booleans(), records=st.integers(0, 2),
       routed_later=st.booleans())
def test_a_lead_is_written_out_as_drf_writes_it(values, owned, merged, records, routed_later):
    owner = User.objects.get_or_create(username="owner", defaults={"first_name": "Ola", "last_name": "Owner",
                                                                   "email": "ola@example.com"})[0]
    survivor = Lead.objects.create(email=f"survivor-{Lead.objects.count()}@example.com") if merged else None
    lead = Lead.objects.create(owner=owner if owned else None, merged_into=survivor, **values)
    for n in range(records):
        SourceRecord.objects.create(lead=lead, source=f"crm{n}", external_id=f"x-{lead.pk}-{n}")
    lead = Lead.objects.select_related("owner").prefetch_related("source_records").get(pk=lead.pk)
    for serializer_class in (LeadSerializer, RoutedLeadSerializer):
        serializer = serializer_class(lead, context={"routed_later": routed_later})
        assert serializer.data == _as_drf_writes(serializer_class(lead, context={"routed_later": routed_later}), lead)
    event = LeadEvent.objects.create(lead=lead, type="page_view", occurred_at=values["assigned_at"] or
                                     datetime(2026, 1, 1, tzinfo=UTC), properties=values["custom"])
    assert EventSerializer(event).data == _as_drf_writes(EventSerializer(event), event)


def test_a_list_answer_is_written_out_as_drf_writes_it(revops_admin):
    for n in range(3):
        Lead.objects.create(email=f"l{n}@example.com", score=10 * n, deal_value=Decimal("12.50"))
    client = APIClient()
    client.force_authenticate(revops_admin)
    body = client.get("/api/leads/").json()
    leads = {lead.pk: lead for lead in Lead.objects.all()}
    for item in body["results"]:
        expected = _as_drf_writes(RoutedLeadSerializer(leads[item["id"]], context={}), leads[item["id"]])
        assert item["deal_value"] == expected["deal_value"] and item["created_at"] == expected["created_at"]
        assert item["owner"] is None and item["score"] == expected["score"]


class _Nested(FieldsBuiltOnce, serializers.ModelSerializer):
    survivor = LeadSerializer(source="merged_into", read_only=True)

    class Meta:
        model = Lead
        fields = ["id", "email", "survivor"]


class _WithURLs(FieldsBuiltOnce, serializers.Serializer):
    id = serializers.IntegerField()
    files = serializers.ListField(child=serializers.FileField(), required=False)


class _Plain(FieldsBuiltOnce, serializers.Serializer):
    id = serializers.IntegerField()
    tags = serializers.ListField(child=serializers.CharField())


def test_a_serializer_with_a_nested_one_writes_its_output_as_drf_does():
    assert _output_plan(_Nested) == [] and _output_plan(_WithURLs) == []  # a file's URL needs the request
    assert [name for name, _, _ in _output_plan(_Plain)] == ["id", "tags"]
    survivor = Lead.objects.create(email="s@example.com")
    lead = Lead.objects.create(email="m@example.com", merged_into=survivor)
    data = _Nested(lead).data
    assert data["survivor"]["email"] == "s@example.com" and data == _as_drf_writes(_Nested(lead), lead)


def test_the_token_is_read_on_every_request_and_refused_as_drf_refuses_it(revops_admin):
    token = Token.objects.create(user=revops_admin)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/leads/").status_code == 200

    revops_admin.is_active = False
    revops_admin.save()
    answer = client.get("/api/leads/")
    assert answer.status_code == 401 and answer.json()["detail"] == "User inactive or deleted."

    revops_admin.is_active = True
    revops_admin.save()
    assert client.get("/api/leads/").status_code == 200
    token.delete()  # revoked: refused on the next request, no copy of it kept
    answer = client.get("/api/leads/")
    assert answer.status_code == 401 and answer.json()["detail"] == "Invalid token."
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert client.get("/api/leads/").json()["detail"] == "Invalid token."


def test_the_authenticated_request_carries_the_user_and_the_token(integration_user):
    from revops.base.apiclasses import TokenAuthentication

    token = Token.objects.create(user=integration_user)
    user, auth = TokenAuthentication().authenticate_credentials(token.key)
    assert user == integration_user and user.username == "integrator" and user.is_authenticated
    assert auth == token and auth.user is user and auth.created == token.created


def test_a_posted_event_s_history_row_names_the_client_as_save_would(integration_user):
    lead = Lead.objects.create(email="evented@example.com")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=integration_user).key}")
    answer = client.post("/api/events/", {"lead": lead.pk, "type": "pricing_visit", "properties": {"page": "/p"},
                                          "source": "site"}, format="json")
    assert answer.status_code == 201
    event = LeadEvent.objects.get(pk=answer.json()["id"])
    [row] = LeadEvent.history.filter(id=event.pk)
    assert (row.history_type, row.history_change_reason, row.history_user_id) == ("+", "event from site",
                                                                                  integration_user.pk)
    assert (row.lead_id, row.type, row.properties, row.source, row.occurred_at, row.created_at) == (
        lead.pk, "pricing_visit", {"page": "/p"}, "site", event.occurred_at, event.created_at)
    assert row.history_date == event.created_at


def test_a_posted_event_and_its_lead_s_update_are_one_statement_on_postgresql(integration_user):
    """The request's one event and its lead's last interaction (with both history rows) go together: on PostgreSQL
    one statement; the lead's history row as ``lead_save_with_history`` writes it (by automation, after the event's
    own row); an unsubscribe or several events take the statements one by one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from revops.base.automation import automation_user_id

    lead = Lead.objects.create(email="together@example.com")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=integration_user).key}")
    with CaptureQueriesContext(connection) as posted:
        answer = client.post("/api/events/", {"lead": lead.pk, "type": "demo_request", "source": "site"},
                             format="json")
    assert answer.status_code == 201
    event = LeadEvent.objects.get(pk=answer.json()["id"])
    lead.refresh_from_db()
    assert lead.last_interaction_at == event.occurred_at
    latest = lead.history.order_by("-history_id").first()
    assert (latest.history_type, latest.history_change_reason, latest.history_user_id) == (
        "~", "automation:events 1 new event(s)", automation_user_id())
    assert latest.last_interaction_at == lead.last_interaction_at
    assert latest.history_date == lead.updated_at >= event.created_at
    writes = [q["sql"] for q in posted.captured_queries if '"leads_leadevent"' in q["sql"] and "INSERT" in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(writes) == 1 and 'UPDATE "leads_lead"' in writes[0] and '"leads_historicallead"' in writes[0]
    else:
        assert not any('UPDATE "leads_lead"' in sql for sql in writes)

    with CaptureQueriesContext(connection) as unsubscribed:
        assert client.post("/api/events/", {"lead": lead.pk, "type": "unsubscribe"}, format="json").status_code == 201
    assert not any('UPDATE "leads_lead"' in q["sql"] and '"leads_leadevent"' in q["sql"]
                   for q in unsubscribed.captured_queries)
    lead.refresh_from_db()
    assert lead.consent == "opt_out"


def _source_record_reads(queries) -> int:
    return sum(1 for q in queries
               if q["sql"].lstrip().upper().startswith("SELECT") and "leads_sourcerecord" in q["sql"])


def test_a_created_lead_s_answer_names_its_source_id_without_reading_it_back(integration_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=integration_user).key}")
    body = {"email": "sourced@example.com", "first_name": "Sam", "source": "site", "external_id": "F-1"}
    with CaptureQueriesContext(connection) as created:
        answer = client.post("/api/leads/", body, format="json")
    assert answer.status_code == 201 and answer.json()["action"] == "created"
    assert answer.json()["external_ids"] == ["site:F-1"]
    # Two reads before the write (the same source id looked up, get_or_create's own); the answer reads none.
    assert _source_record_reads(created.captured_queries) == 2
    lead = Lead.objects.get(pk=answer.json()["id"])
    assert [f"{r.source}:{r.external_id}" for r in lead.source_records.all()] == ["site:F-1"]

    SourceRecord.objects.create(lead=lead, source="crm", external_id="C-9")
    with CaptureQueriesContext(connection) as updated:  # same source id: the lead is updated and read back
        again = client.post("/api/leads/", {**body, "title": "CTO"}, format="json")
    assert again.status_code == 200 and again.json()["action"] == "updated"
    assert sorted(again.json()["external_ids"]) == ["crm:C-9", "site:F-1"]
    assert _source_record_reads(updated.captured_queries) == 3  # the lookup, then the answer's read of both

    plain = client.post("/api/leads/", {"email": "unsourced@example.com", "first_name": "Una"}, format="json")
    assert plain.status_code == 201 and plain.json()["external_ids"] == []


class _EventInputAsDrf(EventInputSerializer):
    """The event input serializer with DRF's own fields: copied and bound for every instance."""

    fields = serializers.Serializer.__dict__["fields"]


event_inputs = st.fixed_dictionaries({}, optional={
    "lead": st.none() | st.integers(-5, 2**63) | text, "email": st.none() | text | st.emails(),
    "type": st.none() | text | st.sampled_from(["demo_request", "pricing_visit", "x" * 51]),
    "occurred_at": st.none() | text | moment.map(datetime.isoformat), "properties": st.none() | text | st.dictionaries(
        text, st.none() | st.integers() | text, max_size=3), "idempotency_key": text, "source": st.none() | text,
})


@hypothesis_settings(max_examples=150, deadline=None)
@given(body=event_inputs)
def test_an_event_input_is_read_as_drf_reads_it(body):
    """The event API validates with fields bound once per class (revops/base/api_fields.py InputFieldsBoundOnce):
    the same validated data and the same errors as DRF's fields copied for the instance, one input after another."""
    shared, own = EventInputSerializer(data=body), _EventInputAsDrf(data=body)
    assert shared.is_valid() == own.is_valid()
    assert shared.errors == own.errors
    assert (shared.validated_data if not shared.errors else None) == (own.validated_data if not own.errors else None)
    assert EventInputSerializer().fields is EventInputSerializer().fields  # bound once: no copies per instance
    assert "fields" not in vars(own) or vars(own)["fields"] is not EventInputSerializer().fields


def test_an_event_input_given_a_context_or_made_partial_binds_its_own_fields():
    shared = EventInputSerializer().fields
    assert EventInputSerializer(context={"request": None}).fields is not shared
    partial = EventInputSerializer(data={"email": "a@b.example"}, partial=True)
    assert partial.fields is not shared and partial.is_valid(), partial.errors  # partial: no type asked
    assert partial.validated_data == {"email": "a@b.example"}
    whole = EventInputSerializer(data={"email": "a@b.example"})
    assert not whole.is_valid() and set(whole.errors) == {"type"}
