"""Working-time walks on known dates: 2026 Spring Festival and National Day with their
make-up working days (调休), lunch breaks, weekends, local overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.sla import (
    DEFAULT_PERIODS,
    WorkingCalendar,
    add_working_minutes,
    working_minutes_between,
)
from tests.sla.helpers import sh

CAL = WorkingCalendar()
HOUR = 60
WORKING_DAY = 7 * HOUR


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# --- the national calendar as the library states it for 2026 ---------------------------


def test_spring_festival_2026_days_off_and_make_up_saturdays():
    assert all(not CAL.is_working_day(d) for d in days(date(2026, 2, 15), date(2026, 2, 23)))
    assert CAL.is_working_day(date(2026, 2, 14))  # Saturday, make-up working day
    assert CAL.is_working_day(date(2026, 2, 28))  # Saturday, make-up working day
    assert CAL.is_working_day(date(2026, 2, 24))


def test_national_day_2026_days_off_and_make_up_days():
    assert CAL.is_working_day(date(2026, 9, 30))
    assert all(not CAL.is_working_day(d) for d in days(date(2026, 10, 1), date(2026, 10, 7)))
    assert CAL.is_working_day(date(2026, 10, 10))  # Saturday, make-up working day
    assert CAL.is_working_day(date(2026, 9, 20))  # Sunday, make-up working day
    assert not CAL.is_working_day(date(2026, 10, 11))


# --- Spring Festival ---------------------------------------------------------------------


def test_four_working_hours_from_friday_before_spring_festival_end_on_make_up_saturday():
    # Friday 16:00–17:30 gives 1.5 h; Saturday 14 Feb is a make-up working day: 08:30 + 2.5 h.
    assert add_working_minutes(sh(2026, 2, 13, 16), 4 * HOUR, CAL) == sh(2026, 2, 14, 11)


def test_two_working_days_from_friday_before_spring_festival_skip_the_whole_festival():
    # 1.5 h Friday + 7 h make-up Saturday; 15–23 Feb off; Tuesday 24 Feb: 3.5 h + 2 h → 16:00.
    assert add_working_minutes(sh(2026, 2, 13, 16), 2 * WORKING_DAY, CAL) == sh(2026, 2, 24, 16)


def test_an_hour_from_the_end_of_the_make_up_saturday_lands_after_the_festival():
    assert add_working_minutes(sh(2026, 2, 14, 17), HOUR, CAL) == sh(2026, 2, 24, 9)


def test_the_second_make_up_saturday_counts():
    assert add_working_minutes(sh(2026, 2, 27, 17), HOUR, CAL) == sh(2026, 2, 28, 9)


# --- National Day --------------------------------------------------------------------------


def test_two_working_days_from_the_eve_of_national_day():
    # 30 Sep 10:00: 2 h + 3.5 h; 1–7 Oct off; Thu 8 Oct 7 h; Fri 9 Oct 08:30 + 1.5 h.
    assert add_working_minutes(sh(2026, 9, 30, 10), 2 * WORKING_DAY, CAL) == sh(2026, 10, 9, 10)


def test_three_and_four_working_days_from_the_eve_of_national_day():
    # The third day ends on the make-up Saturday 10 Oct; Sunday 11 Oct is off again.
    assert add_working_minutes(sh(2026, 9, 30, 10), 3 * WORKING_DAY, CAL) == sh(2026, 10, 10, 10)
    assert add_working_minutes(sh(2026, 9, 30, 10), 4 * WORKING_DAY, CAL) == sh(2026, 10, 12, 10)


def test_national_day_week_holds_no_working_minutes():
    assert working_minutes_between(sh(2026, 9, 30, 17, 30), sh(2026, 10, 8, 8, 30), CAL) == 0
    assert working_minutes_between(sh(2026, 9, 30, 9), sh(2026, 10, 8, 10), CAL) == 390 + 90


# --- a day's shape ---------------------------------------------------------------------------


def test_limit_spanning_the_lunch_break():
    assert add_working_minutes(sh(2026, 3, 2, 11, 30), HOUR, CAL) == sh(2026, 3, 2, 14, 30)


def test_limit_used_up_exactly_at_noon_ends_at_noon():
    assert add_working_minutes(sh(2026, 3, 2, 11), HOUR, CAL) == sh(2026, 3, 2, 12)


def test_limit_spanning_a_weekend():
    # Friday 17:00–17:30 gives 30 min; the other 90 run from Monday 08:30.
    assert add_working_minutes(sh(2026, 3, 6, 17), 2 * HOUR, CAL) == sh(2026, 3, 9, 10)


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        (sh(2026, 3, 2, 7), 30, sh(2026, 3, 2, 9)),  # before hours: count from 08:30
        (sh(2026, 3, 2, 12, 30), 30, sh(2026, 3, 2, 14, 30)),  # lunch: count from 14:00
        (sh(2026, 3, 2, 18), 30, sh(2026, 3, 3, 9)),  # evening: count from tomorrow
        (sh(2026, 3, 7, 10), 30, sh(2026, 3, 9, 9)),  # Saturday: count from Monday
    ],
)
def test_start_outside_working_time(start, minutes, expected):
    assert add_working_minutes(start, minutes, CAL) == expected


def test_zero_minutes_is_the_start_itself_even_outside_hours():
    assert add_working_minutes(sh(2026, 3, 2, 7), 0, CAL) == sh(2026, 3, 2, 7)


def test_sunday_4_january_2026_is_a_working_day():
    # 1–3 Jan are the New Year holiday; the walk crosses a year boundary to reach it.
    assert CAL.is_working_day(date(2026, 1, 4))
    assert add_working_minutes(sh(2025, 12, 31, 17), HOUR, CAL) == sh(2026, 1, 4, 9)
    assert working_minutes_between(sh(2026, 1, 4), sh(2026, 1, 5), CAL) == WORKING_DAY


def test_weeks_long_limit_is_exact():
    # Four plain weeks of March 2026: 20 working days end on Friday 27 March at 17:30.
    assert add_working_minutes(sh(2026, 3, 2, 8, 30), 20 * WORKING_DAY, CAL) == sh(
        2026, 3, 27, 17, 30
    )


def test_working_minutes_between():
    assert working_minutes_between(sh(2026, 3, 2, 11), sh(2026, 3, 2, 15), CAL) == 2 * HOUR
    assert working_minutes_between(sh(2026, 3, 6, 17), sh(2026, 3, 9, 10), CAL) == 2 * HOUR
    assert working_minutes_between(sh(2026, 3, 2, 15), sh(2026, 3, 2, 11), CAL) == 0


def test_results_are_utc_and_inputs_may_be_in_any_zone():
    due = add_working_minutes(datetime(2026, 3, 2, 3, 30, tzinfo=UTC), 30, CAL)  # 11:30 local
    assert due.tzinfo is UTC
    assert due == sh(2026, 3, 2, 12)


# --- local overrides ---------------------------------------------------------------------


def test_extra_day_off_pushes_the_deadline_a_day():
    cal = WorkingCalendar(overrides={date(2026, 3, 9): False})
    assert add_working_minutes(sh(2026, 3, 6, 17), 2 * HOUR, cal) == sh(2026, 3, 10, 10)


def test_extra_working_saturday_pulls_the_deadline_in():
    cal = WorkingCalendar(overrides={date(2026, 3, 7): True})
    assert add_working_minutes(sh(2026, 3, 6, 17), 2 * HOUR, cal) == sh(2026, 3, 7, 10)


def test_override_can_cancel_a_national_make_up_day():
    cal = WorkingCalendar(overrides={date(2026, 2, 14): False})
    assert add_working_minutes(sh(2026, 2, 13, 17), HOUR, cal) == sh(2026, 2, 24, 9)


def test_calendar_keeps_its_own_copy_of_the_overrides():
    overrides = {date(2026, 3, 7): True}
    cal = WorkingCalendar(overrides=overrides)
    overrides[date(2026, 3, 7)] = False
    assert cal.is_working_day(date(2026, 3, 7))


def test_equal_calendars_hash_alike():
    first = WorkingCalendar(overrides={date(2026, 3, 7): True})
    second = WorkingCalendar(overrides={date(2026, 3, 7): True})
    assert first == second
    assert len({first, second, CAL}) == 2


# --- periods ---------------------------------------------------------------------------------


def test_parse_periods_reads_the_default():
    assert WorkingCalendar.parse_periods("08:30-12:00, 14:00-17:30") == DEFAULT_PERIODS
    assert WorkingCalendar().minutes_per_day == WORKING_DAY


def test_custom_periods():
    cal = WorkingCalendar(periods=WorkingCalendar.parse_periods("09:00-17:00"))
    assert cal.minutes_per_day == 8 * HOUR
    assert add_working_minutes(sh(2026, 3, 2, 16), 2 * HOUR, cal) == sh(2026, 3, 3, 10)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("12:00-08:30", "must start before it ends"),
        ("08:30-08:30", "must start before it ends"),
        ("08:00-12:00,11:00-13:00", "must not overlap"),
        ("14:00-17:00,08:00-12:00", "sorted"),
        ("08:30", "HH:MM-HH:MM"),
        ("8h-12h", "8h-12h"),
        ("", "HH:MM-HH:MM"),
    ],
)
def test_bad_periods_are_refused_with_a_clear_message(text, message):
    with pytest.raises(ValueError, match=message):
        WorkingCalendar.parse_periods(text)


def test_constructor_validates_periods():
    with pytest.raises(ValueError, match="at least one"):
        WorkingCalendar(periods=())
    with pytest.raises(ValueError, match="must not overlap"):
        WorkingCalendar(periods=((time(8), time(12)), (time(11), time(13))))


# --- refused input -----------------------------------------------------------------------


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_minutes(datetime(2026, 3, 2, 9), 30, CAL)
    with pytest.raises(ValueError, match="timezone-aware"):
        working_minutes_between(sh(2026, 3, 2, 9), datetime(2026, 3, 2, 10), CAL)


def test_negative_minutes_are_refused():
    with pytest.raises(ValueError, match="negative"):
        add_working_minutes(sh(2026, 3, 2, 9), -1, CAL)


def test_a_calendar_without_working_days_is_an_error_not_a_hang():
    never = {date(2026, 1, 1) + timedelta(days=n): False for n in range(800)}
    with pytest.raises(ValueError, match="no working day"):
        add_working_minutes(sh(2026, 1, 1), 1, WorkingCalendar(overrides=never))
