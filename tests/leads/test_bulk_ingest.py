"""Bulk ingest gives the same outcome as ingesting row by row, with set-based writes for the clean rows."""

import pytest

from leads.dedup.match import CANDIDATES_PER_KEY
from leads.models import CompanyProfile, DuplicateReview, Lead, MergeLog, SourceRecord
from leads.services import lead_ingest, leads_bulk_ingest

pytestmark = pytest.mark.django_db

ROWS = [
    {"email": "a@acme.example", "first_name": "Ann", "last_name": "Lee", "external_id": "1"},
    {"email": "b@acme.example", "first_name": "Bob", "last_name": "Ray", "phone": "+14155550100"},
    {"email": "A@ACME.example", "title": "CFO"},  # same e-mail as row 2: merged
    {"email": "bad-address"},  # rejected
    {"phone": "+14155550100", "first_name": "Zed", "last_name": "Quinn"},  # same phone, other name: review
    {"email": "c@initech.example", "first_name": "Cy", "last_name": "Fox", "company": "Initech"},
    {"email": "new@x.example", "external_id": "1"},  # same source id as row 2: update
]


def test_bulk_ingest_matches_the_row_by_row_rules():
    CompanyProfile.objects.create(domain="initech.example", name="Initech", industry="Technology", employees=300)
    outcomes, created = leads_bulk_ingest(enumerate(ROWS, start=2), source="crm")
    assert [o.action for o in outcomes] == ["created", "created", "merged", "rejected", "review", "created",
                                            "updated"]
    assert [o.row for o in outcomes] == [2, 3, 4, 5, 6, 7, 8]
    assert outcomes[3].errors[0].field == "email"
    assert {lead.email for lead in created} == {"a@acme.example", "b@acme.example", "c@initech.example"}
    ann = Lead.objects.live().get(email="a@acme.example")
    assert ann.title == "CFO" and MergeLog.objects.get().survivor == ann
    assert DuplicateReview.objects.get().reason == "same_phone_different_name"
    assert SourceRecord.objects.get(source="crm", external_id="1").lead == ann
    cy = Lead.objects.get(email="c@initech.example")
    assert cy.industry == "Technology" and cy.employees == 300 and cy.enrichment_status == "done"
    assert cy.account.domain == "initech.example" and cy.data_quality > 0
    assert cy.history.get().history_change_reason == "bulk import"


def test_two_rows_of_the_same_person_in_one_batch_are_merged():
    outcomes, created = leads_bulk_ingest(enumerate([{"email": "x@y.example"}, {"email": "x@y.example",
                                                                                  "title": "CTO"}], start=2))
    assert [o.action for o in outcomes] == ["created", "merged"]
    assert Lead.objects.live().get().title == "CTO"


def test_similar_names_at_the_same_company_in_one_batch_open_a_review():
    rows = [{"email": "jon.smith@initech.example", "first_name": "Jon", "last_name": "Smith"},
            {"email": "j.smith@initech.example", "first_name": "John", "last_name": "Smith"}]
    outcomes, _ = leads_bulk_ingest(enumerate(rows, start=2))
    assert [o.action for o in outcomes] == ["created", "review"]


def _review_pairs() -> set[tuple[str, str, str, float]]:
    email = dict(Lead.objects.values_list("pk", "email"))
    return {(*sorted((email[r.lead_id], email[r.other_lead_id])), r.reason, r.similarity)
            for r in DuplicateReview.objects.all()}


def test_review_pairs_opened_in_bulk_are_the_pairs_ingesting_row_by_row_opens():
    stored = [{"email": "jon.smith@initech.example", "first_name": "Jon", "last_name": "Smith"},
              {"email": "maria@globex.example", "first_name": "Maria", "last_name": "Garcia", "company": "Globex"},
              {"email": "x@other.example", "first_name": "Maria", "last_name": "Garcia", "company": "Globex Corp"}]
    rows = [{"email": "john.smith@initech.example", "first_name": "John", "last_name": "Smith"},  # stored Jon
            {"email": "j.smyth@initech.example", "first_name": "John", "last_name": "Smyth"},  # both Smiths
            {"email": "ann@initech.example", "first_name": "Ann", "last_name": "Lee"},  # nobody similar
            {"email": "m.garcia@gmail.com", "first_name": "Maria", "last_name": "Garcia", "company": "Globex"},
            {"email": "ann.lee@initech.example", "first_name": "Anne", "last_name": "Lee"}]  # the Ann above

    def ingest(bulk: bool):
        for row in stored:
            lead_ingest(data=row)
        if bulk:
            outcomes, _ = leads_bulk_ingest(enumerate(rows, start=2))
            actions = [o.action for o in outcomes]
        else:
            actions = [lead_ingest(data=row).action for row in rows]
        return actions, _review_pairs()

    bulk = ingest(bulk=True)
    DuplicateReview.objects.all().delete()
    Lead.objects.all().delete()
    one_by_one = ingest(bulk=False)
    assert bulk == one_by_one
    assert bulk[0] == ["review", "review", "created", "review", "review"]
    assert ("m.garcia@gmail.com", "maria@globex.example", "similar_name_same_company", 100.0) in bulk[1]


def test_a_big_company_is_compared_with_its_newest_leads_only_as_row_by_row():
    names = [("John", "Smith")] * 3 + [("Person", f"Number{n:03d}") for n in range(CANDIDATES_PER_KEY + 5)]
    names[-2] = ("Jon", "Smith")  # among the newest: a candidate
    rows = [{"email": "johnny.smith@big.example", "first_name": "John", "last_name": "Smith"}]

    def ingest(bulk: bool):
        Lead.objects.bulk_create([Lead(email=f"p{n}@big.example", first_name=first, last_name=last,
                                       domain="big.example") for n, (first, last) in enumerate(names)])
        if bulk:
            action = leads_bulk_ingest(enumerate(rows, start=2))[0][0].action
        else:
            action = lead_ingest(data=rows[0]).action
        return action, _review_pairs()

    bulk = ingest(bulk=True)
    DuplicateReview.objects.all().delete()
    Lead.objects.all().delete()
    assert bulk == ingest(bulk=False)
    assert bulk[0] == "review"
    assert {pair[:2] for pair in bulk[1]} == {("johnny.smith@big.example", f"p{len(names) - 2}@big.example")}
