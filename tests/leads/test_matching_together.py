"""The duplicate check's look-ups asked together (one UNION ALL statement on PostgreSQL) answer exactly what each
asked alone answers: the same leads, in the same order, cut at the same limit, merged leads left out."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.choices import MatchRule
from leads.dedup.match import dedup_match
from leads.models import Lead
from leads.selectors import leads_live_matching, leads_live_matching_together

EMAILS = ["a@acme.example", "b@acme.example", ""]
PHONES = ["+14155550100", "+14155550101", ""]
DOMAINS = ["acme.example", "globex.example", ""]
KEYS = ["acme", "globex", ""]

stored = st.lists(
    st.tuples(st.sampled_from(EMAILS), st.sampled_from(PHONES), st.sampled_from(DOMAINS), st.sampled_from(KEYS),
              st.booleans()),
    min_size=0, max_size=40,
)
asked = st.lists(
    st.tuples(st.sampled_from(["email", "phone", "domain", "company_key"]), st.integers(0, 1), st.booleans(),
              st.sampled_from([1, 3, 50])),
    min_size=1, max_size=4, unique_by=lambda lookup: lookup[0],
)


def store(rows) -> None:
    Lead.objects.all().delete()
    leads = Lead.objects.bulk_create([Lead(first_name="Ann", last_name="Lee", email=email, phone=phone, domain=domain,
                                           company_key=key) for email, phone, domain, key, _ in rows])
    survivor = leads[0] if leads else None
    for lead, (*_, merged) in zip(leads, rows, strict=True):
        if merged and lead is not survivor:
            Lead.objects.filter(pk=lead.pk).update(merged_into=survivor)


VALUES = {"email": EMAILS, "phone": PHONES, "domain": DOMAINS, "company_key": KEYS}


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=stored, lookups=asked)
def test_lookups_together_answer_what_each_answers_alone(rows, lookups):
    store(rows)
    lookups = [(column, VALUES[column][which], newest_first, limit) for column, which, newest_first, limit in lookups]
    together = leads_live_matching_together(lookups)
    alone = [leads_live_matching(column, value, newest_first=newest_first, limit=limit)
             for column, value, newest_first, limit in lookups]
    assert [[lead.pk for lead in leads] for leads in together] == [[lead.pk for lead in leads] for leads in alone]


@pytest.mark.django_db
def test_the_duplicate_check_is_one_statement_where_the_database_takes_a_union():
    Lead.objects.create(first_name="Ann", last_name="Lee", email="ann@acme.example", domain="acme.example",
                        company_key="acme", phone="+14155550100")
    Lead.objects.create(first_name="Anne", last_name="Lee", email="anne.lee@acme.example", domain="acme.example",
                        company_key="acme")
    values = {"email": "new@acme.example", "phone": "+14155550199", "first_name": "Ann", "last_name": "Lee",
              "domain": "acme.example", "company": "Acme"}
    with CaptureQueriesContext(connection) as queries:
        certain, uncertain = dedup_match(values)
    assert certain is None
    assert {m.lead.email for m in uncertain} == {"ann@acme.example", "anne.lee@acme.example"}
    expected = 1 if connection.features.supports_slicing_ordering_in_compound else 4
    assert len(queries.captured_queries) == expected

    values["email"] = "ann@acme.example"
    certain, uncertain = dedup_match(values)
    assert (certain.lead.email, certain.rule, uncertain) == ("ann@acme.example", MatchRule.EMAIL, [])
