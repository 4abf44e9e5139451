"""The SQL fast paths for the hot lead writes: same lock, same instance, same history row as the ORM."""

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.choices import EnrichmentStatus
from leads.models import Account, CompanyProfile, Lead
from leads.quality import data_quality_score
from leads.selectors import lead_locked
from leads.services import lead_enrich
from leads.writes import lead_save_with_history, leads_history_record
from revops.base.automation import automation_user_id
from routing.selectors import rep_open_lead_counts
from tests.races import first_read_misses

pytestmark = pytest.mark.django_db


def _lead(**extra) -> Lead:
    fields = dict(email="ada@example.com", first_name="Ada", last_name="Lovelace", country="GB", employees=120,
                  custom={"tier": "gold", "langs": ["en"]}, score_reasons=[{"code": "x", "points": 3}], score=42)
    return Lead.objects.create(**(fields | extra))


def test_lead_locked_reads_the_same_lead_as_the_orm():
    lead = _lead()
    with transaction.atomic():
        locked = lead_locked(lead_id=lead.pk)
    reference = Lead.objects.get(pk=lead.pk)
    for field in Lead._meta.concrete_fields:
        assert getattr(locked, field.attname) == getattr(reference, field.attname), field.name
    assert locked.custom == {"tier": "gold", "langs": ["en"]}
    assert locked.created_at.tzinfo is not None
    assert locked._state.adding is False and locked._state.db == "default"


@pytest.mark.django_db(transaction=True)
def test_lead_locked_needs_a_transaction_and_an_existing_lead():
    lead = _lead()
    with pytest.raises(TransactionManagementError):
        lead_locked(lead_id=lead.pk)
    with transaction.atomic(), pytest.raises(Lead.DoesNotExist):
        lead_locked(lead_id=lead.pk + 1000)


def test_lead_save_with_history_writes_the_fields_and_the_row_simple_history_would(revops_admin):
    lead = _lead()
    before = lead.updated_at
    lead.queue, lead.queue_reason, lead.owner = "review", "no rule matched", revops_admin
    with transaction.atomic():
        lead_save_with_history(lead, ["queue", "queue_reason", "owner"], reason="manual move", user=revops_admin)
    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.queue, stored.queue_reason, stored.owner_id) == ("review", "no rule matched", revops_admin.pk)
    assert stored.updated_at > before
    latest = stored.history.first()
    assert latest.history_type == "~" and latest.history_change_reason == "manual move"
    assert latest.history_user_id == revops_admin.pk
    assert (latest.queue, latest.owner_id, latest.custom, latest.email) == ("review", revops_admin.pk,
                                                                              lead.custom, "ada@example.com")
    # Undo by history works on it like on any row: the previous version is the created one.
    assert latest.prev_record.history_type == "+" and latest.prev_record.queue == ""
    assert sorted(latest.diff_against(latest.prev_record).changed_fields) == ["owner", "queue", "queue_reason"]


def test_leads_history_record_copies_each_lead_as_it_is_now():
    first, second = _lead(), _lead(email="grace@example.com", first_name="Grace")
    Lead.objects.filter(pk=second.pk).update(stage="mql")
    leads_history_record([(first.pk, "bulk one"), (second.pk, "bulk two")], now=timezone.now())
    assert first.history.first().history_change_reason == "bulk one"
    row = second.history.first()
    assert (row.history_change_reason, row.stage, row.history_user_id) == ("bulk two", "mql", automation_user_id())


def test_open_lead_count_reads_the_partial_index_on_sqlite(reps):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's planner; PostgreSQL chooses by its statistics")
    rita, ravi = reps
    _lead(owner=rita.user)
    _lead(email="b@example.com", owner=rita.user, stage="customer")
    _lead(email="c@example.com", owner=rita.user, outcome="won")
    _lead(email="d@example.com", owner=ravi.user)
    with CaptureQueriesContext(connection) as queries:
        assert rep_open_lead_counts(reps) == {rita.pk: 1, ravi.pk: 1}
    sql = queries.captured_queries[0]["sql"]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "lead_open_by_owner" in plan


def test_enrichment_writes_only_what_it_changed_with_the_history_row():
    CompanyProfile.objects.create(domain="initech.example", name="Initech", industry="Technology", employees=420,
                                  city="Austin")
    lead = _lead(email="bill@initech.example", domain="initech.example", company="", employees=None,
                 industry="Retail")
    assert lead_enrich(lead_id=lead.pk) == EnrichmentStatus.DONE
    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.company, stored.employees, stored.size_band, stored.city, stored.industry) == (
        "Initech", 420, "201-1000", "Austin", "Retail")  # empty fields filled; a given one kept
    assert stored.enriched_at is not None and stored.data_quality == data_quality_score(stored)
    latest = stored.history.first()
    assert latest.history_type == "~" and latest.history_user_id == automation_user_id()
    assert latest.history_change_reason.startswith("automation:enrichment filled ")
    assert set(latest.history_change_reason.removeprefix("automation:enrichment filled ").split(", ")) == {
        "company", "employees", "city"}
    assert sorted(latest.diff_against(latest.prev_record).changed_fields) == [
        "city", "company", "data_quality", "employees", "enriched_at", "enrichment_status", "size_band"]


def test_a_models_history_manager_class_is_built_once_and_each_manager_is_bound_to_its_instance():
    first, second = _lead(), _lead(email="grace@example.com")
    assert type(first.history) is type(second.history) is type(Lead.history)
    assert first.history.instance == first and Lead.history.instance is None
    assert [row.email for row in second.history.all()] == ["grace@example.com"]
    assert Lead.history.filter(id=first.pk).count() == 1


def test_a_lead_created_through_the_api_has_its_created_history_row_by_the_client(api_client, integration_user):
    response = api_client.post("/api/leads/", {"email": "new@fresh.example", "first_name": "Nia", "country": "US",
                                              "title": "VP Sales"}, format="json")
    assert response.status_code == 201
    lead = Lead.objects.get(pk=response.json()["id"])
    [created] = lead.history.filter(history_type="+")
    assert created.history_user_id == integration_user.pk and created.history_change_reason == "ingest from api"
    assert created.history_date == lead.created_at
    for field in ("email", "first_name", "country", "title", "seniority", "created_at", "source", "data_quality"):
        assert getattr(created, field) == getattr(lead, field), field


def test_an_event_on_a_merged_lead_is_recorded_on_its_survivor(api_client):
    survivor = _lead(email="keep@example.com")
    merged = _lead(email="gone@example.com", merged_into=survivor)
    response = api_client.post("/api/events/", {"lead": merged.pk, "type": "pricing_visit"}, format="json")
    assert response.status_code == 201 and response.json()["lead"] == survivor.pk
    assert Lead.objects.get(pk=survivor.pk).last_interaction_at is not None
    assert api_client.post("/api/events/", {"lead": merged.pk + 999, "type": "x"}, format="json").json()[
        "lead"] == [f"no lead with id {merged.pk + 999}"]


def test_an_event_posted_by_lead_id_reads_the_lead_once_locked(api_client):
    lead = _lead(email="once@example.com")
    with CaptureQueriesContext(connection) as queries:
        response = api_client.post("/api/events/", {"lead": lead.pk, "type": "pricing_visit"}, format="json")
    assert response.status_code == 201
    reads = [q["sql"] for q in queries.captured_queries
             if q["sql"].startswith("SELECT") and 'FROM "leads_lead"' in q["sql"]]
    assert len(reads) == 1  # exists, merged or not, and the row to update: one statement


def test_an_event_on_a_lead_merged_twice_is_recorded_on_the_last_survivor_with_nothing_left_on_the_others(
        api_client):
    survivor = _lead(email="last@example.com")
    middle = _lead(email="middle@example.com", merged_into=survivor)
    first = _lead(email="first@example.com", merged_into=middle)
    response = api_client.post("/api/events/", {"lead": first.pk, "type": "pricing_visit"}, format="json")
    assert response.status_code == 201 and response.json()["lead"] == survivor.pk
    assert Lead.objects.get(pk=survivor.pk).last_interaction_at is not None
    assert Lead.objects.get(pk=first.pk).last_interaction_at is None
    assert not first.events.exists() and not middle.events.exists()
    by_email = api_client.post("/api/events/", {"email": "LAST@example.com", "type": "x"}, format="json")
    assert by_email.status_code == 201 and by_email.json()["lead"] == survivor.pk


def test_a_lead_merged_again_each_time_its_events_are_recorded_answers_400_with_nothing_written(
        api_client, monkeypatch):
    from leads.services import events

    survivor = _lead(email="moving@example.com")
    tries = []

    def merged_again(lead_id, email):
        tries.append(lead_id)
        raise events._Merged(survivor.pk)

    monkeypatch.setattr(events, "_lead_locked_live", merged_again)
    response = api_client.post("/api/events/", {"lead": survivor.pk, "type": "pricing_visit"}, format="json")
    assert response.status_code == 400
    assert response.json()["lead"] == ["was merged while its events were recorded; post them again"]
    assert len(tries) == events.MERGED_RETRIES + 1 and not survivor.events.exists()


def test_the_first_lead_of_a_domain_creates_its_account_with_a_history_row_and_the_next_shares_it(
        api_client, integration_user, monkeypatch):
    first = api_client.post("/api/leads/", {"email": "a@umbrella.example", "company": "Umbrella"}, format="json")
    account = Account.objects.get(domain="umbrella.example")
    assert account.name == "Umbrella" and Lead.objects.get(pk=first.json()["id"]).account_id == account.pk
    [created] = account.history.all()
    assert created.history_type == "+" and created.history_user_id == integration_user.pk
    # Another request created the account between this one's read and its insert: the insert fails, it is read.
    first_read_misses(monkeypatch, Account)
    second = api_client.post("/api/leads/", {"email": "b@umbrella.example", "company": "Umbrella Corp"},
                             format="json")
    assert second.status_code == 201 and Lead.objects.get(pk=second.json()["id"]).account_id == account.pk
    assert Account.objects.filter(domain="umbrella.example").count() == 1
