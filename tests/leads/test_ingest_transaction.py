"""A lead POST's transaction covers only what decides and what writes: the record is normalized, checked and built
before it begins (on SQLite its BEGIN takes the one write lock), and a draft that fails its checks writes nothing."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from leads.models import Lead, SourceRecord
from leads.services import ingest, lead_ingest


@pytest.mark.django_db(transaction=True)
def test_normalization_and_the_new_leads_checks_run_before_the_transaction_begins(api_client, monkeypatch):
    seen: dict[str, bool] = {}

    def recorded(name, function):
        def wrapper(*args, **kwargs):
            seen[name] = connection.in_atomic_block
            return function(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(ingest, "normalize_row", recorded("normalize", ingest.normalize_row))
    monkeypatch.setattr(ingest, "erased_emails", recorded("erasure check", ingest.erased_emails))
    monkeypatch.setattr(ingest, "_lead_draft", recorded("draft", ingest._lead_draft))
    monkeypatch.setattr(ingest, "dedup_match", recorded("dedup", ingest.dedup_match))
    monkeypatch.setattr(ingest, "dedup_match_checking_erasure",
                        recorded("dedup and erasure check", ingest.dedup_match_checking_erasure))
    monkeypatch.setattr(ingest, "lead_insert_with_history", recorded("insert", ingest.lead_insert_with_history))
    response = api_client.post("/api/leads/", {"email": "ada@analytical.example", "first_name": "Ada",
                                               "company": "Analytical", "country": "GB"}, format="json")
    assert response.status_code == 201, response.content
    if connection.vendor == "postgresql":  # the erasure check rides in the duplicate check's statement
        assert seen == {"normalize": False, "draft": False, "dedup and erasure check": True, "insert": True}
    else:
        assert seen == {"normalize": False, "erasure check": False, "draft": False, "dedup": True, "insert": True}
    assert Lead.objects.filter(email="ada@analytical.example").count() == 1


@pytest.mark.django_db
def test_a_draft_that_fails_its_checks_writes_nothing_but_a_source_id_update_goes_on(monkeypatch):
    first = lead_ingest(data={"email": "grace@navy.example", "external_id": "g-1", "first_name": "Grace"},
                        source="crm", pipeline=False)
    assert first.action == "created"

    checks = Lead.full_clean

    def refuse(self, *args, **kwargs):  # a new lead's checks fail; a stored lead's pass as before
        if self.pk is None:
            raise ValidationError({"email": ["refused by the model's own checks"]})
        return checks(self, *args, **kwargs)

    monkeypatch.setattr(Lead, "full_clean", refuse)
    with pytest.raises(ValidationError):
        lead_ingest(data={"email": "linus@kernel.example", "first_name": "Linus"}, source="crm", pipeline=False)
    assert not Lead.objects.filter(email="linus@kernel.example").exists()
    again = lead_ingest(data={"email": "grace@navy.example", "external_id": "g-1", "city": "Arlington"},
                        source="crm", pipeline=False)
    assert again.action == "updated" and again.lead.pk == first.lead.pk  # the draft was never needed
    assert SourceRecord.objects.filter(source="crm", external_id="g-1").count() == 1
