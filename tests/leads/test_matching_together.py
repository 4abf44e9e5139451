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


@pytest.mark.django_db
def test_a_look_up_prepared_before_the_table_was_analyzed_reads_the_column_s_index():
    """PostgreSQL: the look-ups' plan made once and kept (a prepared statement's generic plan) while the table has no
    statistics yet — a fresh database, before autovacuum's first ANALYZE — reads each column's index, not the whole
    primary key filtering on the value (which grows with every lead stored).

    The test database's own leads_lead may carry statistics an earlier test's committed rows left behind (autovacuum
    analyzes them and keeps the figures after the rows are flushed), so the look-ups run against a temporary copy of
    the table, with the same columns and indexes, that shadows it for this transaction: autovacuum never analyzes a
    temporary table, so the planner sees exactly what it sees on a fresh database."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's plans")
    from revops.base.db.sql import _COMPILED, bulk_insert

    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE leads_lead (LIKE public.leads_lead INCLUDING ALL) ON COMMIT DROP")
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'pg_temp.leads_lead'::regclass")
        assert cursor.fetchone()[0] < 0  # never analyzed nor vacuumed
        cursor.execute("SELECT count(*) FROM pg_stats WHERE schemaname LIKE 'pg_temp%%' AND tablename = 'leads_lead'")
        assert cursor.fetchone()[0] == 0
    bulk_insert([Lead(first_name="Ann", email=f"a{n}@x{n}.example", domain=f"x{n}.example", company_key=f"x{n}")
                 for n in range(3000)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_temp.leads_lead")
        assert cursor.fetchone()[0] == 3000  # the copy, not the real table, took them
    lookups = [("email", "a7@x7.example", False, 1), ("domain", "x7.example", True, 3),
               ("company_key", "x7", True, 3)]
    answers = leads_live_matching_together(lookups)
    assert [[lead.email for lead in answer] for answer in answers] == [["a7@x7.example"]] * 3
    [sql] = [plan[0] for key, plan in _COMPILED.items() if key[0] == ("live matching together", tuple(
        (column, newest, limit) for column, _, newest, limit in lookups)) and key[2] == "postgresql"]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        numbered = sql
        for n in range(1, 4):
            numbered = numbered.replace("%s", f"${n}", 1)
        cursor.execute(f"PREPARE matching_generic AS {numbered}")
        try:
            cursor.execute("EXPLAIN EXECUTE matching_generic('a7@x7.example', 'x7.example', 'x7')")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE matching_generic")
    assert "Seq Scan" not in plan and "_pkey" not in plan, plan
    for n, column in enumerate(["email", "domain", "company_key"], start=1):
        assert f"Index Cond: (({column})::text = ${n})" in plan, plan
