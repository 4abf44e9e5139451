"""The SQL that subtracts two stored datetimes for the speed digest gives the exact milliseconds (to the
microsecond) on both databases, whole seconds and negative durations included."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revops.top.duration_days import _milliseconds
from revops.top.models import LeadFacts

pytestmark = pytest.mark.django_db

instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=instants, gap=st.one_of(st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=40)),
                                     st.integers(-5, 5).map(lambda s: timedelta(seconds=s))))
def test_the_milliseconds_between_two_stored_datetimes_are_exact(start, gap):
    end = start + gap
    LeadFacts.objects.all().delete()
    LeadFacts.objects.create(id=1, created_at=start, first_assigned_at=end)
    table = connection.ops.quote_name(LeadFacts._meta.db_table)
    sql = _milliseconds(f"{table}.first_assigned_at", f"{table}.created_at")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql} FROM {table} WHERE id = %s", [1])
        [(milliseconds,)] = cursor.fetchall()
    assert milliseconds == pytest.approx(gap / timedelta(milliseconds=1), abs=1e-6)
