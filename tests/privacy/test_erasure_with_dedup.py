"""On PostgreSQL the API's erasure check of a new record rides in its duplicate check's statement
(``leads.dedup.match.dedup_match_checking_erasure``): the same decisions as the erasure check and the duplicate check
asked apart, one statement fewer for every lead the API takes. SQLite asks the erasure check on its own, before the
write transaction (tests/leads/test_ingest_transaction.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.dedup.match import dedup_match, dedup_match_checking_erasure
from leads.models import Lead
from leads.services import lead_ingest
from revops.base.models import ErasureRecord
from revops.base.privacy import email_hash, email_hash_unkeyed, erased_emails, erasure_hashes_to_check

pytestmark = pytest.mark.django_db

EMAILS = ["ann@acme.example", "bob@acme.example", "cy@globex.example"]


def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL answers the erasure check with the duplicate check")


stored = st.lists(st.tuples(st.sampled_from(EMAILS), st.sampled_from(["Ann", "Bob", "Cy"]), st.booleans()),
                  max_size=6)
erased = st.lists(st.tuples(st.sampled_from(EMAILS), st.booleans()), max_size=3)
record = st.fixed_dictionaries({
    "email": st.sampled_from(EMAILS), "first_name": st.sampled_from(["Ann", "Bob", "Cy", ""]),
    "domain": st.sampled_from(["acme.example", "globex.example", ""]),
    "company": st.sampled_from(["Acme", "Globex", ""]), "consent": st.sampled_from(["", "unknown", "opt_in"])})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stored=stored, erased=erased, values=record)
def test_the_decisions_are_those_of_the_two_checks_asked_apart(stored, erased, values):
    _postgres_only()
    Lead.objects.all().delete()
    ErasureRecord.objects.all().delete()
    leads = [Lead.objects.create(first_name=name, email=email, domain=email.split("@")[1],
                                 company_key=email.split("@")[1].split(".")[0]) for email, name, _ in stored]
    for lead, (*_, merged) in zip(leads, stored, strict=True):
        if merged and lead is not leads[0]:
            Lead.objects.filter(pk=lead.pk).update(merged_into=leads[0])
    for email, keyed in erased:  # recorded under the install's key, or before there was one
        ErasureRecord.objects.get_or_create(email_hash=(email_hash if keyed else email_hash_unkeyed)(email),
                                            defaults={"via": "command", "lead_ids": [], "counts": {}})
    hashes = erasure_hashes_to_check(values)
    if not hashes:  # an opt-in is never refused: nothing to ask
        assert values["consent"] == "opt_in"
        return
    match, uncertain, refused = dedup_match_checking_erasure(values, hashes)
    apart = dedup_match(values)
    assert (match, uncertain) == apart
    live_holder = Lead.objects.live().filter(email=values["email"]).exists()
    assert refused == (bool(erased_emails([values])) and not live_holder)


def test_a_new_lead_costs_no_statement_of_its_own_for_the_erasure_check():
    _postgres_only()
    with CaptureQueriesContext(connection) as queries:
        result = lead_ingest(data={"email": "dee@initech.example", "first_name": "Dee", "company": "Initech"},
                             source="api", pipeline=False)
    assert result.action == "created"
    erasure_reads = [q["sql"] for q in queries.captured_queries if "revops_erasurerecord" in q["sql"]]
    assert len(erasure_reads) == 1 and '"leads_lead"' in erasure_reads[0]  # one statement, both answers


def test_an_erased_person_is_refused_and_one_who_came_back_is_merged():
    ErasureRecord.objects.create(email_hash=email_hash("eve@initech.example"), via="command", lead_ids=[], counts={})
    refused = lead_ingest(data={"email": "Eve@Initech.example", "first_name": "Eve"}, source="api", pipeline=False)
    assert refused.action == "rejected" and refused.errors[0].field == "email"
    assert "erased on request" in refused.errors[0].reason
    assert not Lead.objects.exists()
    back = lead_ingest(data={"email": "eve@initech.example", "first_name": "Eve", "consent": "opt_in"},
                       source="api", pipeline=False)
    assert back.action == "created"
    again = lead_ingest(data={"email": "eve@initech.example", "first_name": "Eve", "company": "Initech"},
                        source="crm", pipeline=False)
    assert again.action == "merged" and again.lead.pk == back.lead.pk  # a live lead holds the e-mail: accepted


def test_a_record_with_a_source_id_is_checked_before_it_may_update_its_lead():
    """A record that may update a lead by its source id needs no duplicate check: its erasure check is asked on its
    own, before the transaction, and an erased person's record is refused even when the source id is known."""
    first = lead_ingest(data={"email": "fay@initech.example", "first_name": "Fay", "external_id": "c-1"},
                        source="crm", pipeline=False)
    with CaptureQueriesContext(connection) as queries:
        update = lead_ingest(data={"email": "fay@initech.example", "city": "Austin", "external_id": "c-1"},
                             source="crm", pipeline=False)
    assert update.action == "updated" and update.lead.pk == first.lead.pk
    assert not [q for q in queries.captured_queries if '"leads_lead"."domain"' in q["sql"] and "UNION" in q["sql"]]
    ErasureRecord.objects.create(email_hash=email_hash("gus@initech.example"), via="command", lead_ids=[], counts={})
    refused = lead_ingest(data={"email": "gus@initech.example", "external_id": "c-1"}, source="crm", pipeline=False)
    assert refused.action == "rejected" and refused.errors[0].field == "email"
