"""Working days and office hours (kantooruren) for reminders and deadlines.

Working days are Monday to Friday minus the public holidays `holidays` returns for the country
(category "public"). For NL (holidays >= 0.108) that means, as days off: Nieuwjaarsdag, Goede
Vrijdag, Eerste and Tweede Paasdag, Koningsdag (26 April when the 27th is a Sunday),
Hemelvaartsdag, Eerste and Tweede Pinksterdag, Eerste and Tweede Kerstdag, and Bevrijdingsdag only
in lustrum years (2025, 2030, ...), as in Dutch practice. Goede Vrijdag is not a day off
everywhere; a municipality that works on it passes it in ``extra_working_days``.

Every method takes timezone-aware datetimes (any zone; naive ones raise `ValueError`) and returns
UTC. Arithmetic happens on local dates and wall-clock times, then converts back, so "the same time
one working day later" stays 10:00 across a DST change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays


class WorkingCalendar:
    def __init__(
        self,
        tz: str = "Europe/Amsterdam",
        office_start: time = time(8, 30),
        office_end: time = time(17, 30),
        country: str = "NL",
        *,
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
    ) -> None:
        if office_start >= office_end:
            raise ValueError("office_start must be before office_end")
        self.tz = ZoneInfo(tz)
        self.office_start = office_start
        self.office_end = office_end
        self.country = country
        self._extra_off = frozenset(extra_days_off)
        self._extra_on = frozenset(extra_working_days)
        self._by_year: dict[int, frozenset[date]] = {}

    # --- conversions -------------------------------------------------------------------------

    def local(self, dt: datetime) -> datetime:
        """`dt` as local wall-clock time."""
        if dt.tzinfo is None or dt.utcoffset() is None:
            raise ValueError(f"naive datetime {dt!r}: pass a timezone-aware datetime (UTC)")
        return dt.astimezone(self.tz)

    def at_local(self, day: date, at: time) -> datetime:
        """The UTC moment of local wall-clock time `at` on `day`."""
        return datetime.combine(day, at, tzinfo=self.tz).astimezone(UTC)

    # --- days ----------------------------------------------------------------------------------

    def holidays_in(self, year: int) -> frozenset[date]:
        if year not in self._by_year:
            self._by_year[year] = frozenset(holidays.country_holidays(self.country, years=year))
        return self._by_year[year]

    def is_working_day(self, day: date) -> bool:
        """Monday-Friday and not a public holiday. A datetime counts by its local date."""
        if isinstance(day, datetime):
            day = self.local(day).date()
        if day in self._extra_on:
            return True
        if day in self._extra_off:
            return False
        return day.weekday() < 5 and day not in self.holidays_in(day.year)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    # --- moments -------------------------------------------------------------------------------

    def is_office_time(self, dt: datetime) -> bool:
        local = self.local(dt)
        return self.is_working_day(local.date()) and self.office_start <= local.time() < self.office_end

    def next_office_moment(self, dt: datetime) -> datetime:
        """`dt` itself when in office time, else the start of the next office period."""
        local = self.local(dt)
        if self.is_office_time(dt):
            return dt.astimezone(UTC)
        day = local.date()
        if self.is_working_day(day) and local.time() < self.office_start:
            return self.at_local(day, self.office_start)
        return self.at_local(self.next_working_day(day), self.office_start)

    def add_working_days(self, dt: datetime, n: int) -> datetime:
        """The same local time of day, `n` working days later.

        The clock starts at the next office moment: a signal reported on Saturday (or on Friday
        evening) counts from Monday 08:30, so one working day later is Tuesday 08:30. With n = 0
        this is `next_office_moment`. The result is always in office time.
        """
        if n < 0:
            raise ValueError("n must be zero or more")
        start = self.local(self.next_office_moment(dt))
        day = start.date()
        for _ in range(n):
            day = self.next_working_day(day)
        return self.at_local(day, start.time())

    def working_days_between(self, a: datetime, b: datetime) -> int:
        """Working days from `a` to `b`: the working days after the day the clock starts (the next
        office moment of `a`, as in `add_working_days`) up to and including `b`'s local date.

        So ``working_days_between(a, add_working_days(a, n)) == n``, and a signal claimed on the
        day it was reported took 0 working days.
        """
        if b < a:
            raise ValueError("b must not be before a")
        start = self.local(self.next_office_moment(a)).date()
        end = self.local(b).date()
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count
