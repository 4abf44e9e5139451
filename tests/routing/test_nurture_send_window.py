"""A nurture program's send window: its e-mails go out within its hours, on working days when it says so, in the
lead's own time zone (from its country and state); a step due outside waits for the window's next opening, said in
the enrollment's history. Without a window the step goes at once, whatever the hour."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from revops.base.choices import AutomationOutcome
from revops.base.models import AutomationLog, Notification
from revops.top.config import config_export, config_import
from routing.models import NurtureEnrollment, NurtureProgram
from routing.services import nurture_steps_send
from tests.routing.test_nurture import enrolled, make_program, nurture_lead

pytestmark = pytest.mark.django_db

MONDAY_7AM_IN_CALIFORNIA = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # 07:00 PST, 16:00 in Berlin
NINE_IN_CALIFORNIA = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
DUE_SINCE = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


def due(lead_fields: dict, **window) -> tuple:
    """A program and an enrollment whose first step is due since before every moment the tests send at."""
    program = make_program(delays=(0, 3), **window)
    enrollment = enrolled(nurture_lead(**lead_fields))
    NurtureEnrollment.objects.filter(pk=enrollment.pk).update(next_at=DUE_SINCE)
    enrollment.refresh_from_db()
    return program, enrollment


def test_a_step_due_before_the_window_in_the_leads_zone_waits_for_its_opening_then_goes():
    _, enrollment = due({"country": "US", "state": "CA"}, send_from_hour=9, send_until_hour=17)

    early = nurture_steps_send(now=MONDAY_7AM_IN_CALIFORNIA)
    enrollment.refresh_from_db()
    assert (early.sent, early.waiting) == (0, 1) and not Notification.objects.exists()
    assert enrollment.next_at == NINE_IN_CALIFORNIA and enrollment.next_position == 1
    reason = enrollment.history.first().history_change_reason
    assert "step 1 waits for the send window (Mon 07 Dec 09:00 PST, the lead's time)" in reason
    assert "1 waiting for their send window" in str(early)
    line = AutomationLog.objects.get(action="nurture_step_send", object_id=enrollment.lead_id)
    assert line.outcome == AutomationOutcome.NOOP and "step 1 waits for the send window (Mon 07 Dec 09:00 PST" in (
        line.detail)

    assert nurture_steps_send(now=MONDAY_7AM_IN_CALIFORNIA).sent == 0  # nothing due before the opening
    assert nurture_steps_send(now=NINE_IN_CALIFORNIA).sent == 1
    enrollment.refresh_from_db()
    assert enrollment.next_position == 2


def test_the_same_hour_is_inside_the_window_for_a_lead_in_another_zone():
    due({"country": "DE"}, send_from_hour=9, send_until_hour=17)
    assert nurture_steps_send(now=MONDAY_7AM_IN_CALIFORNIA).sent == 1  # 16:00 in Berlin


def test_a_step_due_after_the_window_waits_for_the_next_day():
    _, enrollment = due({"country": "DE"}, send_from_hour=9, send_until_hour=17)
    evening = datetime(2026, 12, 7, 17, 30, tzinfo=UTC)  # 18:30 in Berlin
    assert nurture_steps_send(now=evening).waiting == 1
    enrollment.refresh_from_db()
    assert enrollment.next_at == datetime(2026, 12, 8, 8, 0, tzinfo=UTC)  # Tuesday 09:00 CET


def test_without_weekends_a_saturday_step_waits_for_monday_and_a_public_holiday_is_skipped():
    _, saturday = due({"country": "GB", "email": "sat@example.co.uk"}, send_on_weekends=False)
    nurture_steps_send(now=datetime(2026, 12, 5, 12, 0, tzinfo=UTC))
    saturday.refresh_from_db()
    assert saturday.next_at == datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # Monday, the day's start: no hours set

    NurtureProgram.objects.update(send_from_hour=9, send_until_hour=17)
    _, christmas = due({"country": "US", "state": "TX", "email": "xmas@example.com"}, send_on_weekends=False,
                       send_from_hour=9, send_until_hour=17, name="Holiday aware")
    nurture_steps_send(now=datetime(2026, 12, 25, 16, 0, tzinfo=UTC))  # 10:00 in Texas, Christmas Day (a Friday)
    christmas.refresh_from_db()
    assert christmas.next_at == datetime(2026, 12, 28, 15, 0, tzinfo=UTC)  # Monday 09:00 CST


def test_without_a_window_a_step_goes_at_any_hour_and_a_lead_without_a_country_uses_the_companys_zone(settings):
    due({"country": "US", "state": "CA"})
    assert nurture_steps_send(now=datetime(2026, 12, 7, 11, 0, tzinfo=UTC)).sent == 1  # 03:00 in California

    settings.TIME_ZONE = "Asia/Tokyo"
    _, enrollment = due({"country": "", "email": "nowhere@example.com"}, send_from_hour=9, send_until_hour=17,
                        name="Company hours")
    nurture_steps_send(now=datetime(2026, 12, 7, 10, 0, tzinfo=UTC))  # 19:00 in Tokyo
    enrollment.refresh_from_db()
    assert enrollment.next_at == datetime(2026, 12, 8, 0, 0, tzinfo=UTC)  # Tuesday 09:00 in Tokyo


def test_the_window_needs_both_hours_in_order():
    program = NurtureProgram(name="Half a window", send_from_hour=9)
    with pytest.raises(ValidationError) as error:
        program.full_clean()
    assert "give both hours of the send window" in str(error.value.message_dict["send_until_hour"])
    program.send_until_hour = 8
    with pytest.raises(ValidationError) as error:
        program.full_clean()
    assert "must end after it starts (9:00)" in str(error.value.message_dict["send_until_hour"])
    program.send_until_hour = 25
    with pytest.raises(ValidationError) as error:
        program.full_clean()
    assert "send_until_hour" in error.value.message_dict
    assert NurtureProgram(name="Office hours", send_from_hour=9, send_until_hour=17).send_window_text() == (
        "09:00–17:00 daily, lead's time")


def test_the_window_travels_with_the_configuration():
    make_program("Office hours", send_from_hour=8, send_until_hour=18, send_on_weekends=False)
    data = config_export()
    entry = next(p for p in data["nurture_programs"] if p["name"] == "Office hours")
    assert (entry["send_from_hour"], entry["send_until_hour"], entry["send_on_weekends"]) == (8, 18, False)
    NurtureProgram.objects.update(send_from_hour=None, send_until_hour=None, send_on_weekends=True)
    config_import(data)
    program = NurtureProgram.objects.get(name="Office hours")
    assert (program.send_from_hour, program.send_until_hour, program.send_on_weekends) == (8, 18, False)
