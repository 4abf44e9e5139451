"""Hostile input at the API boundary: refused with a 400 naming the field, and nothing written (issue findings)."""

import json

import pytest

import leads.api.views as views
from leads.models import Lead, LeadEvent
from leads.services import lead_ingest

pytestmark = pytest.mark.django_db(transaction=True)

SURROGATE = "x\udfff"


def _post_raw(client, path, body: str, **headers):
    """A body with characters json.dumps would refuse to emit as UTF-8 (lone surrogates) sent as escapes."""
    return client.generic("POST", path, body.encode("ascii"), content_type="application/json", **headers)


def test_a_lone_surrogate_in_a_custom_column_is_a_400_naming_it_and_stores_nothing(api_client, configured):
    body = json.dumps({"email": "s@x.example", "note": SURROGATE})  # ensure_ascii: "\udfff" escaped
    response = _post_raw(api_client, "/api/leads/", body)
    assert response.status_code == 400
    assert "surrogate" in response.json()["note"][0]
    assert not Lead.objects.exists()


def test_a_lone_surrogate_in_a_contract_column_or_a_key_is_refused(api_client, configured):
    response = _post_raw(api_client, "/api/leads/", json.dumps({"email": "s@x.example", "company": SURROGATE}))
    assert response.status_code == 400 and "company" in response.json()
    response = _post_raw(api_client, "/api/leads/", json.dumps({"email": "s@x.example", "n\ud800": "v"}))
    assert response.status_code == 400
    assert not Lead.objects.exists()


def test_a_nul_character_is_a_field_error_not_silently_dropped(api_client, configured):
    response = api_client.post("/api/leads/", {"email": "n@x.example", "first_name": "Ja\x00ne"}, format="json")
    assert response.status_code == 400
    assert "NUL" in response.json()["first_name"][0]
    assert not Lead.objects.exists()


def test_the_normalizer_refuses_a_surrogate_from_any_entry_point(db):
    result = lead_ingest(data={"email": "csv@x.example", "city": SURROGATE}, source="csv")
    assert result.action == "rejected" and result.errors[0].field == "city"
    assert not Lead.objects.exists()


def test_text_is_stored_in_unicode_nfc(api_client, configured, inline_jobs):
    response = api_client.post("/api/leads/", {"email": "nfc@x.example", "last_name": "Jose\u0301",
                                               "plan": "cafe\u0301"}, format="json")
    assert response.status_code == 201
    lead = Lead.objects.get()
    assert lead.last_name == "Jos\u00e9" and lead.custom["plan"] == "caf\u00e9"


def test_custom_attributes_are_capped_in_count_and_key_length(api_client, configured, settings):
    settings.LEADFLOW_MAX_CUSTOM_ATTRIBUTES = 50
    many = {"email": "m@x.example", **{f"col{i}": "v" for i in range(5000)}}
    response = api_client.post("/api/leads/", many, format="json")
    assert response.status_code == 400 and "more than 50 custom attributes" in response.json()["custom"][0]
    response = api_client.post("/api/leads/", {"email": "m@x.example", "k" * 500: "v"}, format="json")
    assert response.status_code == 400 and "longer than 100 characters" in json.dumps(response.json())
    assert not Lead.objects.exists()


def test_event_properties_with_a_surrogate_are_refused(api_client, configured, inline_jobs):
    lead_ingest(data={"email": "ev@x.example"})
    body = json.dumps({"email": "ev@x.example", "type": "page_view", "properties": {"path": SURROGATE}})
    response = _post_raw(api_client, "/api/events/", body)
    assert response.status_code == 400 and "surrogate" in response.json()["properties"][0]
    assert not LeadEvent.objects.exists()


def test_event_properties_are_capped_in_size_and_depth(api_client, configured, inline_jobs):
    lead_ingest(data={"email": "ev@x.example"})
    big = {"email": "ev@x.example", "type": "page_view", "properties": {"blob": "a" * 20000}}
    response = api_client.post("/api/events/", big, format="json")
    assert response.status_code == 400 and "larger than 16384 bytes" in response.json()["properties"][0]
    deep: dict = {}
    node = deep
    for _ in range(30):
        node["n"] = {}
        node = node["n"]
    response = api_client.post("/api/events/", {"email": "ev@x.example", "type": "page_view", "properties": deep},
                               format="json")
    assert response.status_code == 400 and "nested deeper" in response.json()["properties"][0]
    assert not LeadEvent.objects.exists()


def test_a_hundred_thousand_nested_brackets_is_a_400_not_a_recursion_error(api_client, db):
    response = api_client.generic("POST", "/api/leads/", "[" * 100_000, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_occurred_at_must_be_within_the_accepted_range(api_client, configured, inline_jobs):
    lead_ingest(data={"email": "ev@x.example"})
    response = api_client.post("/api/events/", {"email": "ev@x.example", "type": "page_view",
                                                "occurred_at": "1900-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 400 and "in the past" in response.json()["occurred_at"][0]
    assert not LeadEvent.objects.exists()


def test_bulk_validates_every_item_and_stores_only_the_good_ones(api_client, configured, inline_jobs):
    items = [{"email": f"b{i}@x.example"} for i in range(10)]
    items[5] = {"email": "bad@x.example", "note": SURROGATE}
    response = _post_raw(api_client, "/api/leads/bulk/", json.dumps(items))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["action"] for r in results] == ["created"] * 5 + ["rejected"] + ["created"] * 4
    assert "surrogate" in results[5]["errors"]["note"][0]
    assert set(Lead.objects.values_list("email", flat=True)) == {f"b{i}@x.example" for i in range(10) if i != 5}


def test_a_bulk_that_fails_midway_writes_nothing_and_a_retry_runs_again(api_client, configured, monkeypatch):
    calls = {"n": 0}
    real = views.lead_ingest

    def failing(**kwargs):
        calls["n"] += 1
        if calls["n"] == 6:
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(views, "lead_ingest", failing)
    items = [{"email": f"f{i}@x.example"} for i in range(10)]
    response = api_client.post("/api/leads/bulk/", items, format="json", HTTP_IDEMPOTENCY_KEY="bulk-1")
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "server_error"
    assert not Lead.objects.exists()
    monkeypatch.setattr(views, "lead_ingest", real)
    again = api_client.post("/api/leads/bulk/", items, format="json", HTTP_IDEMPOTENCY_KEY="bulk-1")
    assert again.status_code == 200 and again.json()["counts"] == {"created": 10}
    assert Lead.objects.count() == 10
