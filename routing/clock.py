"""The working-hours clock: add working minutes to an instant in a rep's time zone, skipping the hours outside the
rep's working day, the days they do not work (weekends by default) and the public holidays of their country.

Pure (no models): ``WorkingTime`` is built from a rep by ``routing.services.sla.rep_working_time``.

Time is measured in real elapsed minutes: the working day is set on the wall clock (09:00–17:00 local), and the
minutes of a day are counted between those two instants in UTC, so on a DST change day a 00:00–24:00 day has 23 or
25 hours and a 09:00–17:00 day keeps its 8.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays

END_OF_DAY = time(23, 59, 59)
MORNING = time(9, 0)
# The countries the ``holidays`` package has a calendar for; any other (or none) has no public holidays.
_SUPPORTED_COUNTRIES = frozenset(holidays.list_supported_countries())
MAX_DAYS_AHEAD = 3 * 366  # a rep who never works (no working days) gets the due time of three years' search


@lru_cache(maxsize=64)
def public_holidays(country: str) -> Container[date]:
    """The public holidays of a country (ISO alpha-2), expanded year by year as dates are asked; none when the
    ``holidays`` package does not know the country (or it is empty)."""
    code = country.upper()
    if code not in _SUPPORTED_COUNTRIES:
        return frozenset()
    return holidays.country_holidays(code)


@dataclass(frozen=True)
class WorkingTime:
    """When a rep works: time zone, daily hours on the wall clock, working weekdays (Monday = 0), holiday country."""

    time_zone: str = "UTC"
    start: time = time(0, 0)
    end: time = END_OF_DAY
    weekdays: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))
    country: str = ""

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in public_holidays(self.country)

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """The working hours of a day as two instants in UTC (the end of ``23:59:59`` means midnight)."""
        zone = self.zone
        begin = datetime.combine(day, self.start, tzinfo=zone)
        if self.end >= END_OF_DAY:
            close = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone)
        else:
            close = datetime.combine(day, self.end, tzinfo=zone)
        return begin.astimezone(UTC), close.astimezone(UTC)


def working_add(start: datetime, minutes: float, working: WorkingTime) -> datetime:
    """The instant ``minutes`` working minutes after ``start`` (aware), in UTC.

    Steps: walk the rep's local days from the day of ``start``; on each working day take the part of its working
    hours after the cursor; spend the remaining minutes there or go on to the next day. Zero minutes returns
    ``start`` itself (due now, even outside working hours).
    """
    remaining = timedelta(minutes=minutes)
    cursor = start.astimezone(UTC)
    if remaining <= timedelta(0):
        return cursor
    day = cursor.astimezone(working.zone).date() - timedelta(days=1)  # the previous local day may run past midnight
    for _ in range(MAX_DAYS_AHEAD):
        if working.is_working_day(day):
            begin, close = working.day_bounds(day)
            begin = max(begin, cursor)
            if begin < close:
                if begin + remaining <= close:
                    return begin + remaining
                remaining -= close - begin
                cursor = close
        day += timedelta(days=1)
    return cursor + remaining


def next_working_morning(after: datetime, working: WorkingTime) -> datetime:
    """The beginning of the rep's first working day after the local day of ``after``, in UTC ("tomorrow morning"
    in the rep's time zone; a Friday's is Monday's, a holiday is skipped). A day that starts at midnight (a rep with
    no set hours) starts at ``MORNING`` for this purpose: nobody is called back at 00:00."""
    day = after.astimezone(working.zone).date() + timedelta(days=1)
    for _ in range(MAX_DAYS_AHEAD):
        if working.is_working_day(day):
            if working.start == time(0, 0):
                return datetime.combine(day, MORNING, tzinfo=working.zone).astimezone(UTC)
            return working.day_bounds(day)[0]
        day += timedelta(days=1)
    return after.astimezone(UTC) + timedelta(days=1)


def working_open_at(at: datetime, working: WorkingTime) -> datetime:
    """The first instant at or after ``at`` inside the working hours, in UTC: ``at`` itself when it is inside them,
    else the start of the next working day's hours (weekends and public holidays skipped)."""
    cursor = at.astimezone(UTC)
    day = cursor.astimezone(working.zone).date() - timedelta(days=1)  # the previous local day may run past midnight
    for _ in range(MAX_DAYS_AHEAD):
        if working.is_working_day(day):
            begin, close = working.day_bounds(day)
            if cursor < close:
                return max(begin, cursor)
        day += timedelta(days=1)
    return cursor
