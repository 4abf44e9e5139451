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
