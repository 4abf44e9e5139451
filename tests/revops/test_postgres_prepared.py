"""On PostgreSQL a statement a connection runs again and again is prepared there (``DATABASE_PREPARE_THRESHOLD``):
Django leaves psycopg's preparing off unless asked, and every run was parsed and planned anew."""

import pytest
from django.db import connection

from leads.models import Lead

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")


@pytest.mark.django_db
def test_a_statement_run_five_times_is_prepared_on_the_connection(settings):
    assert settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"] == 5
    assert connection.get_connection_params()["prepare_threshold"] == 5

    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                           ['%"leads_lead"."email" = $1%'])
            return cursor.fetchone()[0]

    for _ in range(4):
        list(Lead.objects.filter(email="someone@example.com").values_list("pk", flat=True))
    assert prepared() == 0
    for _ in range(2):
        list(Lead.objects.filter(email="someone@example.com").values_list("pk", flat=True))
    assert prepared() == 1


@pytest.mark.django_db(transaction=True)
def test_the_per_form_statements_are_not_parsed_again_on_each_run(monkeypatch):
    """psycopg keeps a statement text's conversion only under its limits (4,096 characters, 50 parameters); the
    backend raises them, so the dedup look-up (a union over the lead's columns) and a new lead written with its
    history row in one statement are parsed once, not on every form."""
    from psycopg import _queries

    from leads.services.ingest import lead_ingest
    from revops.base.db.postgresql.base import CACHED_STATEMENT_LENGTH, CACHED_STATEMENT_PARAMS

    assert _queries.MAX_CACHED_STATEMENT_LENGTH >= CACHED_STATEMENT_LENGTH
    assert _queries.MAX_CACHED_STATEMENT_PARAMS >= CACHED_STATEMENT_PARAMS
    parsed_uncached: list[int] = []
    original = _queries._query2pg_nocache

    def counting(query, encoding):
        parsed_uncached.append(len(query))
        return original(query, encoding)

    def form(n: int) -> None:
        lead_ingest(data={"first_name": "Ada", "last_name": f"L{n}", "email": f"ada{n}@parsed{n}.example",
                          "company": f"Parsed {n}", "phone": f"+1 212 555 01{n:02d}", "country": "US"},
                    source="api", pipeline=False)

    form(1)
    monkeypatch.setattr(_queries, "_query2pg_nocache", counting)
    form(2)
    assert parsed_uncached == []
    monkeypatch.setattr(_queries, "MAX_CACHED_STATEMENT_LENGTH", 4096)
    monkeypatch.setattr(_queries, "MAX_CACHED_STATEMENT_PARAMS", 50)
    form(3)
    assert max(parsed_uncached) > 4096  # psycopg's own limits: the look-up parsed on every run
