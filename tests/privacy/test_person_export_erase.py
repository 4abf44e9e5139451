"""Privacy requests end to end: export → erase → export shows nothing personal left (and no table of the database
holds the person's e-mail, name or phone any more), counts and outcomes stay, an erasure record is written, a second
erasure is harmless, a stale record of the person is refused. Runs on SQLite and PostgreSQL."""

import json

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.models import Lead, LeadEvent
from leads.services import lead_ingest
from revops.base.choices import WebhookEvent
from revops.base.models import ErasureRecord, Notification, WebhookDelivery, WebhookSubscription
from revops.base.privacy import email_hash
from revops.top.privacy import leads_export
from routing.models import RoutingDecision, Task
from scoring.models import ScoreChange

pytestmark = pytest.mark.django_db(transaction=True)

PERSON = {"first_name": "Zelda", "last_name": "Quixotica", "email": "Zelda.Quixotica@Acme.example",
          "phone": "(415) 555-2671", "company": "Acme", "title": "VP Sales", "country": "United States",
          "industry": "SaaS", "employees": "250", "source": "webform", "external_id": "WF-778899",
          "city": "Fresnoville", "favourite_colour": "zelda's own words"}
NEEDLES = ["zelda", "quixotica", "4155552671", "wf-778899", "fresnoville"]


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def _person_with_a_past(api_client) -> list[int]:
    """The person arrives by API twice (the second record merges into the first), gets scored, routed, a task and a
    message, engages; another person arrives too."""
    first = api_client.post("/api/leads/", PERSON, format="json", HTTP_IDEMPOTENCY_KEY="zq-1")
    assert first.status_code == 201, first.content
    again = dict(PERSON, source="webinar", external_id="WEB-42", email="zelda.quixotica@acme.example")
    assert api_client.post("/api/leads/", again, format="json").status_code in (200, 201)  # merged
    survivor = Lead.objects.live().get(email="zelda.quixotica@acme.example")
    event = {"lead": survivor.pk, "type": "form_submit",
             "properties": {"message": "Zelda Quixotica asks for a call", "email": "zelda.quixotica@acme.example"}}
    assert api_client.post("/api/events/", event, format="json", HTTP_IDEMPOTENCY_KEY="zq-e").status_code == 201
    lead_ingest(data={"first_name": "Otto", "last_name": "Normal", "email": "otto@other.example",
                      "country": "United States"})
    return sorted(Lead.objects.filter(last_name="Quixotica").values_list("pk", flat=True))


def _database_mentions(needles: list[str]) -> dict[str, list[str]]:
    """Every table of the database, searched row by row (as text) for the needles."""
    found: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - table names from the db
            text = "\n".join(repr(row) for row in cursor.fetchall()).lower()
            hits = [n for n in needles if n in text or n in text.replace("\\u0027", "'")]
            if hits:
                found[table] = hits
    return found


def _outcomes(lead_ids):
    return list(Lead.objects.filter(pk__in=lead_ids).order_by("pk").values_list(
        "stage", "score", "band", "outcome", "deal_value", "created_at", "merged_into_id", "country", "industry"))


def test_export_then_erase_then_export_leaves_nothing_personal(api_client, configured, inline_jobs, revops_admin):
    # A webhook receiver that never answers: its deliveries keep copies of the person's lead in their bodies.
    WebhookSubscription.objects.create(name="warehouse", url="http://127.0.0.1:9/hook",
                                       events=[choice.value for choice in WebhookEvent])
    lead_ids = _person_with_a_past(api_client)
    assert WebhookDelivery.objects.filter(body__icontains="quixotica").exists()
    assert len(lead_ids) == 2
    admin = _client(revops_admin)

    exported = admin.get("/api/people/export/", {"email": "ZELDA.quixotica@acme.example "})
    assert exported.status_code == 200
    data = exported.json()
    assert data["lead_ids"] == lead_ids
    tables = data["tables"]
    for label in ("leads.Lead", "leads.Lead history", "leads.LeadEvent", "leads.LeadEvent history", "routing.Task",
                  "routing.Task history", "routing.RoutingDecision", "scoring.ScoreChange", "leads.MergeLog",
                  "leads.SourceRecord", "revops.Notification", "revops.Notification history"):
        assert tables.get(label), label
    assert {row["merged_into_id"] for row in tables["leads.Lead"]} == {None, lead_ids[0]} or \
        {row["merged_into_id"] for row in tables["leads.Lead"]} == {None, lead_ids[1]}
    assert "zelda.quixotica@acme.example" in json.dumps(data).lower()
    assert "Otto" not in json.dumps(data)
    before = _outcomes(lead_ids)
    counts = {model: model.objects.count() for model in (Lead, LeadEvent, Task, RoutingDecision, ScoreChange,
                                                         Notification)}
    assert _database_mentions(NEEDLES)  # the search finds the person before the erasure

    erased = admin.post("/api/people/erase/", {"email": "zelda.quixotica@acme.example"}, format="json")
    assert erased.status_code == 200, erased.content
    body = erased.json()
    assert body["repeat"] is False and body["leads"] == 2 and body["counts"]["leads.Lead"] == 2
    assert body["counts"]["leads.Lead history"] >= 2 and body["counts"]["revops.Notification"] >= 1

    assert admin.get("/api/people/export/", {"email": "zelda.quixotica@acme.example"}).json()["lead_ids"] == []
    after = json.dumps(leads_export(lead_ids)).lower()
    assert '"leads.lead history"' in after and '"routing.task"' in after  # the rows are there, anonymised
    assert [n for n in NEEDLES if n in after] == []
    assert "zelda.quixotica@acme.example" not in after, [after[max(i - 300, 0):i + 50] for i in
                                                         [after.find("zelda.quixotica@acme.example")]]
    assert _database_mentions(NEEDLES) == {}

    assert _outcomes(lead_ids) == before
    assert {model: model.objects.count() for model in counts} == counts
    assert Lead.objects.get(pk=lead_ids[0]).consent == "opt_out"
    assert Lead.objects.get(last_name="Normal").email == "otto@other.example"

    record = ErasureRecord.objects.get()
    assert record.user == revops_admin and record.lead_ids == lead_ids and not record.repeat
    assert record.email_hash == email_hash("zelda.quixotica@acme.example")
    assert record.counts == body["counts"]


def test_erasing_twice_is_harmless_and_says_so(api_client, configured, inline_jobs, revops_admin):
    lead_ids = _person_with_a_past(api_client)
    admin = _client(revops_admin)
    admin.post("/api/people/erase/", {"email": "zelda.quixotica@acme.example"}, format="json")
    snapshot = leads_export(lead_ids)["tables"]
    again = admin.post("/api/people/erase/", {"email": "zelda.quixotica@acme.example"}, format="json").json()
    assert again["repeat"] is True and again["counts"] == {} and again["detail"].startswith("already erased")
    assert leads_export(lead_ids)["tables"] == snapshot
    assert ErasureRecord.objects.filter(repeat=True).count() == 1


def test_a_stale_record_of_an_erased_person_is_refused_unless_they_opt_in(api_client, configured, inline_jobs,
                                                                          revops_admin):
    _person_with_a_past(api_client)
    call_command("person_erase", "zelda.quixotica@acme.example")
    stale = api_client.post("/api/leads/", PERSON, format="json")
    assert stale.status_code == 400 and "email" in stale.json()
    assert not Lead.objects.filter(email="zelda.quixotica@acme.example").exists()
    back = api_client.post("/api/leads/", dict(PERSON, consent="opt_in"), format="json")
    assert back.status_code == 201
    assert Lead.objects.live().get(email="zelda.quixotica@acme.example").consent == "opt_in"


def test_only_revops_admins_make_privacy_requests(api_client, sales_manager, integration_user, revops_admin):
    lead_ingest(data={"email": "p@x.example", "first_name": "Pia"})
    for user in (sales_manager, integration_user):
        client = _client(user)
        assert client.get("/api/people/export/", {"email": "p@x.example"}).status_code == 403
        assert client.post("/api/people/erase/", {"email": "p@x.example"}, format="json").status_code == 403
    assert Lead.objects.get().first_name == "Pia" and not ErasureRecord.objects.exists()
    admin = _client(revops_admin)
    missing = admin.get("/api/people/export/")
    assert missing.status_code == 400 and "email" in missing.json()
    assert admin.post("/api/people/erase/", {}, format="json").status_code == 400


def test_the_commands_export_to_a_file_and_erase(tmp_path, capsys):
    lead_ingest(data={"email": "cmd@x.example", "first_name": "Cyrilla", "phone": "+14155550100"})
    target = tmp_path / "person.json"
    call_command("person_export", "CMD@x.example", str(target))
    data = json.loads(target.read_text())
    assert data["tables"]["leads.Lead"][0]["first_name"] == "Cyrilla"
    call_command("person_erase", "cmd@x.example")
    assert "erased: 1 lead(s)" in capsys.readouterr().out
    call_command("person_erase", "cmd@x.example")
    assert "already erased" in capsys.readouterr().out
    assert ErasureRecord.objects.filter(via="command").count() == 2
    assert "cyrilla" not in json.dumps(leads_export(data["lead_ids"])).lower()


def test_the_dashboards_copy_of_an_erased_lead_is_scrubbed_at_once(db):
    """The lead facts copy the queue reason, which may name the person: the erasure rebuilds them from the scrubbed
    lead in its own transaction, not at the next refresh (which a kill switch may hold back)."""
    from revops.top.dashboard_facts import lead_facts_refresh
    from revops.top.models import LeadFacts
    from revops.top.privacy.erase import person_erase

    lead = Lead.objects.create(email="wanda.quill@acme.example", first_name="Wanda", last_name="Quill",
                               queue="review", queue_reason="possible duplicate of wanda.quill@acme.example")
    lead_facts_refresh()
    assert "wanda.quill" in LeadFacts.objects.get(pk=lead.pk).queue_reason
    assert person_erase(email="wanda.quill@acme.example").repeat is False
    facts = LeadFacts.objects.get(pk=lead.pk)
    assert "wanda" not in facts.queue_reason.lower() and facts.queue == "review"
    assert person_erase(email="wanda.quill@acme.example").repeat is True
