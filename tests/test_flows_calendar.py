"""Working days and office hours in Europe/Amsterdam, with Dutch public holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from flows.calendar import WorkingCalendar

AMS = ZoneInfo("Europe/Amsterdam")
CAL = WorkingCalendar()


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    """A moment given as Amsterdam wall-clock time, returned in UTC like the rest of the code."""
    return datetime(y, m, d, hh, mm, tzinfo=AMS).astimezone(UTC)


def utc(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


# --- holidays (as holidays.NL returns them) --------------------------------------------------------


def test_easter_2027_good_friday_and_easter_monday_are_days_off() -> None:
    # holidays.NL lists Goede Vrijdag as a public holiday, so it is not a working day here.
    assert not CAL.is_working_day(date(2027, 3, 26))
    assert not CAL.is_working_day(date(2027, 3, 29))
    assert CAL.is_working_day(date(2027, 3, 25))
    assert CAL.is_working_day(date(2027, 3, 30))


def test_a_municipality_open_on_good_friday_can_say_so() -> None:
    open_on_good_friday = WorkingCalendar(extra_working_days=[date(2027, 3, 26)])
    assert open_on_good_friday.is_working_day(date(2027, 3, 26))


def test_christmas_and_new_year_are_days_off() -> None:
    assert not CAL.is_working_day(date(2026, 12, 25))
    # Christmas 2027 falls on a weekend; NL has no substitute day, so Monday the 27th is a working day.
    assert CAL.is_working_day(date(2027, 12, 27))
    assert not CAL.is_working_day(date(2027, 1, 1))


def test_kings_day_is_a_day_off() -> None:
    assert not CAL.is_working_day(date(2026, 4, 27))
    assert not CAL.is_working_day(date(2025, 4, 26))  # the 27th was a Sunday


def test_liberation_day_is_a_day_off_only_in_lustrum_years() -> None:
    assert not CAL.is_working_day(date(2025, 5, 5))
    assert CAL.is_working_day(date(2026, 5, 5))


def test_weekends_are_not_working_days() -> None:
    assert not CAL.is_working_day(date(2026, 6, 6))
    assert not CAL.is_working_day(date(2026, 6, 7))
    assert CAL.is_working_day(date(2026, 6, 8))


def test_extra_days_off_are_honoured() -> None:
    assert not WorkingCalendar(extra_days_off=[date(2026, 6, 8)]).is_working_day(date(2026, 6, 8))


# --- office time -----------------------------------------------------------------------------------


def test_office_hours_are_half_past_eight_to_half_past_five_local() -> None:
    assert CAL.is_office_time(local(2026, 6, 8, 8, 30))
    assert CAL.is_office_time(local(2026, 6, 8, 17, 29))
    assert not CAL.is_office_time(local(2026, 6, 8, 17, 30))
    assert not CAL.is_office_time(local(2026, 6, 8, 8, 29))
    assert not CAL.is_office_time(local(2026, 6, 6, 11))  # Saturday


def test_office_hours_are_local_time_not_utc() -> None:
    # 07:00 UTC in summer is 09:00 in Amsterdam.
    assert CAL.is_office_time(utc(2026, 6, 8, 7))
    # 16:00 UTC in summer is 18:00 in Amsterdam.
    assert not CAL.is_office_time(utc(2026, 6, 8, 16))


def test_next_office_moment_in_office_time_is_now() -> None:
    now = local(2026, 6, 9, 14, 12)
    assert CAL.next_office_moment(now) == now


def test_next_office_moment_early_morning_is_half_past_eight_that_day() -> None:
    assert CAL.next_office_moment(local(2026, 6, 9, 6)) == local(2026, 6, 9, 8, 30)


def test_next_office_moment_on_friday_evening_is_monday_morning() -> None:
    assert CAL.next_office_moment(local(2026, 6, 12, 19)) == local(2026, 6, 15, 8, 30)


def test_next_office_moment_over_easter_is_tuesday() -> None:
    assert CAL.next_office_moment(local(2027, 3, 25, 18)) == local(2027, 3, 30, 8, 30)


def test_results_are_utc() -> None:
    assert CAL.next_office_moment(local(2026, 6, 12, 19)).tzinfo is UTC
    assert CAL.add_working_days(local(2026, 6, 12, 10), 1).tzinfo is UTC


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        CAL.is_office_time(datetime(2026, 6, 8, 10))
    with pytest.raises(ValueError, match="naive"):
        CAL.add_working_days(datetime(2026, 6, 8, 10), 1)


# --- adding working days ---------------------------------------------------------------------------


def test_a_signal_on_the_thursday_before_easter_is_chased_on_tuesday() -> None:
    reported = local(2027, 3, 25, 10)
    chased = CAL.add_working_days(reported, 1)
    assert chased == local(2027, 3, 30, 10)
    # Summer time started on Easter Sunday: same wall clock, one hour less in UTC.
    assert (reported.hour, chased.hour) == (9, 8)


def test_a_signal_before_christmas_is_chased_after_the_weekend() -> None:
    assert CAL.add_working_days(local(2026, 12, 24, 11), 1) == local(2026, 12, 28, 11)


def test_a_signal_before_kings_day_is_chased_on_tuesday() -> None:
    assert CAL.add_working_days(local(2026, 4, 24, 9), 1) == local(2026, 4, 28, 9)


def test_one_working_day_over_the_spring_dst_weekend_keeps_the_wall_clock() -> None:
    friday = local(2026, 3, 27, 10)  # 09:00 UTC (CET)
    monday = CAL.add_working_days(friday, 1)
    assert monday == utc(2026, 3, 30, 8)  # 10:00 CEST
    assert monday.astimezone(AMS).time() == time(10, 0)


def test_one_working_day_over_the_autumn_dst_weekend_keeps_the_wall_clock() -> None:
    friday = local(2026, 10, 23, 16)  # 14:00 UTC (CEST)
    assert CAL.add_working_days(friday, 1) == utc(2026, 10, 26, 15)  # 16:00 CET


def test_a_signal_reported_on_saturday_counts_from_monday_office_start() -> None:
    saturday = local(2026, 6, 13, 11)
    assert CAL.add_working_days(saturday, 0) == local(2026, 6, 15, 8, 30)
    assert CAL.add_working_days(saturday, 1) == local(2026, 6, 16, 8, 30)


def test_a_signal_reported_in_the_evening_counts_from_the_next_morning() -> None:
    assert CAL.add_working_days(local(2026, 6, 8, 21), 1) == local(2026, 6, 10, 8, 30)


def test_five_working_days_over_a_weekend() -> None:
    assert CAL.add_working_days(local(2026, 6, 10, 14), 5) == local(2026, 6, 17, 14)


def test_negative_working_days_are_refused() -> None:
    with pytest.raises(ValueError):
        CAL.add_working_days(local(2026, 6, 10), -1)


# --- counting working days -------------------------------------------------------------------------


def test_claimed_the_same_day_is_zero_working_days() -> None:
    assert CAL.working_days_between(local(2026, 6, 8, 9), local(2026, 6, 8, 16)) == 0


def test_counting_over_easter() -> None:
    assert CAL.working_days_between(local(2027, 3, 25, 10), local(2027, 3, 30, 9)) == 1
    assert CAL.working_days_between(local(2027, 3, 25, 10), local(2027, 4, 1, 9)) == 3


def test_a_weekend_report_claimed_on_monday_took_zero_working_days() -> None:
    assert CAL.working_days_between(local(2026, 6, 13, 11), local(2026, 6, 15, 10)) == 0


def test_counting_agrees_with_adding() -> None:
    for start in (local(2026, 6, 13, 11), local(2027, 3, 25, 10), local(2026, 12, 23, 17, 45)):
        for n in range(0, 12):
            assert CAL.working_days_between(start, CAL.add_working_days(start, n)) == n


def test_counting_backwards_is_refused() -> None:
    with pytest.raises(ValueError):
        CAL.working_days_between(local(2026, 6, 9), local(2026, 6, 8))


def test_office_hours_must_make_sense() -> None:
    with pytest.raises(ValueError):
        WorkingCalendar(office_start=time(17), office_end=time(9))
