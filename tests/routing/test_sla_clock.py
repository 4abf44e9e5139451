"""The working-hours clock (weekends, holidays, time zones, DST change days) and the SLA policy over band, stage and
source."""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from routing.clock import WorkingTime, next_working_morning, working_add
from routing.models import SlaPolicy
from routing.services import due_at_for, rep_working_time, sla_minutes_for, sla_policy_for

BERLIN = ZoneInfo("Europe/Berlin")
NINE_TO_FIVE_DE = WorkingTime(time_zone="Europe/Berlin", start=time(9), end=time(17), country="DE")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def test_four_working_hours_from_friday_4pm_in_berlin_land_on_monday():
    due = working_add(berlin(2026, 11, 27, 16, 0), 240, NINE_TO_FIVE_DE)  # a Friday
    assert due.astimezone(BERLIN) == berlin(2026, 11, 30, 12, 0)


def test_minutes_inside_the_day_stay_on_the_same_day():
    assert working_add(berlin(2026, 11, 25, 10, 0), 90, NINE_TO_FIVE_DE).astimezone(BERLIN) == berlin(
        2026, 11, 25, 11, 30)


def test_a_start_before_opening_counts_from_opening_and_after_closing_from_the_next_morning():
    assert working_add(berlin(2026, 11, 25, 7, 0), 60, NINE_TO_FIVE_DE).astimezone(BERLIN) == berlin(
        2026, 11, 25, 10, 0)
    assert working_add(berlin(2026, 11, 25, 20, 0), 60, NINE_TO_FIVE_DE).astimezone(BERLIN) == berlin(
        2026, 11, 26, 10, 0)


def test_public_holidays_of_the_reps_country_are_skipped():
    # Thursday 24 December 2026, 16:00: Christmas Day (Fri) and Boxing Day (Sat) are German holidays, then Sunday.
    due = working_add(berlin(2026, 12, 24, 16, 0), 120, NINE_TO_FIVE_DE)
    assert due.astimezone(BERLIN) == berlin(2026, 12, 28, 10, 0)
    us = WorkingTime(time_zone="Europe/Berlin", start=time(9), end=time(17), country="US")
    assert working_add(berlin(2026, 12, 24, 16, 0), 120, us).astimezone(BERLIN) == berlin(2026, 12, 28, 10, 0)
    # Reformation Day (31 Oct) is no national holiday in Germany; 3 October (German Unity Day) is.
    assert working_add(berlin(2029, 10, 2, 16, 0), 120, NINE_TO_FIVE_DE).astimezone(BERLIN) == berlin(
        2029, 10, 4, 10, 0)


def test_the_reps_time_zone_sets_the_working_day():
    new_york = WorkingTime(time_zone="America/New_York", start=time(9), end=time(17))
    # 21:00 UTC on a Wednesday is 16:00 in New York: one hour left today, then 09:00 next morning.
    due = working_add(datetime(2026, 11, 25, 21, 0, tzinfo=UTC), 120, new_york)
    assert due == datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # 10:00 EST


def test_a_dst_change_day_counts_real_hours():
    all_day = WorkingTime(time_zone="Europe/Berlin", weekdays=frozenset(range(7)))
    # Sunday 29 March 2026 has 23 hours in Berlin: 24 working hours from its midnight end at 01:00 on Monday.
    due = working_add(berlin(2026, 3, 29, 0, 0), 24 * 60, all_day)
    assert due.astimezone(BERLIN) == berlin(2026, 3, 30, 1, 0)
    # Sunday 25 October 2026 has 25 hours: 24 working hours end at 23:00 the same day.
    due = working_add(berlin(2026, 10, 25, 0, 0), 24 * 60, all_day)
    assert due.astimezone(BERLIN) == berlin(2026, 10, 25, 23, 0)
    # A 09:00–17:00 day keeps its 8 hours across the change.
    assert working_add(berlin(2026, 3, 27, 16, 0), 120, NINE_TO_FIVE_DE).astimezone(BERLIN) == berlin(
        2026, 3, 30, 10, 0)


def test_zero_minutes_is_due_at_once_and_tomorrow_morning_skips_the_weekend():
    start = berlin(2026, 11, 28, 11, 0)  # a Saturday
    assert working_add(start, 0, NINE_TO_FIVE_DE) == start.astimezone(UTC)
    assert next_working_morning(berlin(2026, 11, 27, 18, 0), NINE_TO_FIVE_DE).astimezone(BERLIN) == berlin(
        2026, 11, 30, 9, 0)


@pytest.mark.django_db
def test_the_most_specific_policy_wins_and_the_defaults_follow_the_field():
    assert sla_minutes_for("A", "sql", "webform")[0] == 240  # hot inbound: 4 working hours
    assert sla_minutes_for("A", "sql", "outbound")[0] == 24 * 60  # outbound-sourced: 24
    SlaPolicy.objects.create(band="A", minutes=60)
    SlaPolicy.objects.create(band="A", stage="sql", minutes=30)
    SlaPolicy.objects.create(source="partner", minutes=600)
    assert sla_minutes_for("A", "mql", "webform")[0] == 60
    assert sla_minutes_for("A", "sql", "webform")[0] == 30
    assert sla_minutes_for("A", "sql", "partner")[0] == 600  # the source counts most
    assert sla_policy_for("C", "mql", "webform").pk is None  # no row: the built-in default


@pytest.mark.django_db
def test_due_time_uses_the_assigned_reps_calendar(reps):
    rita = reps[0]
    rita.time_zone, rita.country = "Europe/Berlin", "DE"
    rita.working_hours_start, rita.working_hours_end = time(9), time(17)
    rita.full_clean()
    rita.save()
    assert rep_working_time(rita).weekdays == frozenset(range(5))
    due = due_at_for(minutes=240, rep=rita, now=berlin(2026, 11, 27, 16, 0))
    assert due.astimezone(BERLIN) == berlin(2026, 11, 30, 12, 0)


@pytest.mark.django_db
def test_a_rep_with_an_unknown_country_or_weekday_is_refused(reps):
    rita = reps[0]
    rita.country = "XX"
    with pytest.raises(ValidationError, match="country"):
        rita.full_clean()
    rita.country, rita.working_days = "DE", "0, 8"
    with pytest.raises(ValidationError, match="working_days"):
        rita.full_clean()


def test_tomorrow_morning_of_a_rep_without_set_hours_is_nine_oclock():
    all_day = WorkingTime(time_zone="Europe/Berlin", country="DE")
    assert next_working_morning(berlin(2026, 11, 27, 18, 0), all_day).astimezone(BERLIN) == berlin(
        2026, 11, 30, 9, 0)
