"""Deadlines, pauses (挂起), extensions (延期) and SLA states on known dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.sla import (
    Pause,
    WorkingCalendar,
    add_working_minutes,
    deadline,
    elapsed_minutes,
    extend,
    sla_state,
    warning_at,
    working_minutes_between,
)
from tests.sla.helpers import sh

CAL = WorkingCalendar()
HOUR = 60
MONDAY = sh(2026, 3, 2, 9)  # an ordinary working Monday


def due(start, limit, basis="working", pauses=(), cal=CAL):
    return deadline(start=start, limit_minutes=limit, basis=basis, cal=cal, pauses=pauses)


# --- bases ---------------------------------------------------------------------------------


def test_working_deadline_is_the_working_time_walk():
    assert due(sh(2026, 2, 13, 16), 4 * HOUR) == add_working_minutes(
        sh(2026, 2, 13, 16), 4 * HOUR, CAL
    )


def test_calendar_basis_ignores_hours_weekends_and_holidays():
    # The eve of National Day, 22:00: a day of wall time is the next 22:00, holiday or not.
    assert due(sh(2026, 9, 30, 22), 24 * HOUR, basis="calendar") == sh(2026, 10, 1, 22)
    assert due(sh(2026, 3, 6, 17), 2 * HOUR, basis="calendar") == sh(2026, 3, 6, 19)
    assert due(sh(2026, 3, 6, 17), 30, basis="calendar").tzinfo is UTC


def test_calendar_basis_ignores_overrides():
    cal = WorkingCalendar(overrides={date(2026, 3, 2): False})
    assert due(MONDAY, HOUR, basis="calendar", cal=cal) == sh(2026, 3, 2, 10)


# --- pauses --------------------------------------------------------------------------------


def test_two_hour_pause_inside_the_window_moves_the_deadline_by_the_paused_working_time():
    without = due(MONDAY, 4 * HOUR)  # 09:00–12:00 + 14:00–15:00
    assert without == sh(2026, 3, 2, 15)
    paused = Pause(sh(2026, 3, 2, 10), sh(2026, 3, 2, 12))
    with_pause = due(MONDAY, 4 * HOUR, pauses=[paused])
    assert with_pause == sh(2026, 3, 2, 17)
    assert working_minutes_between(without, with_pause, CAL) == 2 * HOUR


def test_pause_over_lunch_only_moves_the_deadline_by_its_working_minutes():
    # 11:00–15:00 holds 2 working hours (11–12, 14–15), not 4.
    assert due(MONDAY, 4 * HOUR, pauses=[Pause(sh(2026, 3, 2, 11), sh(2026, 3, 2, 15))]) == sh(
        2026, 3, 2, 17
    )


def test_pause_outside_working_time_changes_nothing():
    weekend = Pause(sh(2026, 3, 7, 9), sh(2026, 3, 8, 18))
    assert due(sh(2026, 3, 6, 17), 2 * HOUR, pauses=[weekend]) == sh(2026, 3, 9, 10)


def test_pause_on_calendar_basis_moves_the_deadline_by_its_wall_time():
    pause = Pause(sh(2026, 3, 2, 20), sh(2026, 3, 3, 2))
    assert due(MONDAY, 24 * HOUR, basis="calendar", pauses=[pause]) == sh(2026, 3, 3, 15)


def test_overlapping_pauses_count_once():
    pauses = [
        Pause(sh(2026, 3, 2, 10), sh(2026, 3, 2, 11)),
        Pause(sh(2026, 3, 2, 10, 30), sh(2026, 3, 2, 11, 30)),
    ]
    assert due(MONDAY, 4 * HOUR, pauses=pauses) == sh(2026, 3, 2, 16, 30)


def test_pause_before_the_start_is_ignored_and_one_straddling_it_is_clipped():
    earlier = Pause(sh(2026, 2, 27, 9), sh(2026, 2, 27, 12))
    straddling = Pause(sh(2026, 3, 2, 8), sh(2026, 3, 2, 10))
    assert due(MONDAY, 4 * HOUR, pauses=[earlier]) == sh(2026, 3, 2, 15)
    assert due(MONDAY, 4 * HOUR, pauses=[straddling]) == sh(2026, 3, 2, 16)


def test_open_pause_means_no_deadline_while_paused():
    suspended = Pause(sh(2026, 3, 2, 10))
    assert due(MONDAY, 4 * HOUR, pauses=[suspended]) is None


def test_open_pause_after_the_limit_was_reached_keeps_the_past_deadline():
    # Overdue at 10:00, suspended at 11:00: the deadline stays what it was.
    assert due(MONDAY, HOUR, pauses=[Pause(sh(2026, 3, 2, 11))]) == sh(2026, 3, 2, 10)


def test_pause_ending_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="end before it starts"):
        Pause(sh(2026, 3, 2, 11), sh(2026, 3, 2, 10))


# --- elapsed time --------------------------------------------------------------------------


def test_elapsed_excludes_pauses_and_an_open_pause_stops_the_clock():
    now = sh(2026, 3, 2, 16)
    assert elapsed_minutes(start=MONDAY, now=now, basis="working", cal=CAL) == 5 * HOUR
    closed = Pause(sh(2026, 3, 2, 10), sh(2026, 3, 2, 11))
    assert elapsed_minutes(start=MONDAY, now=now, basis="working", cal=CAL, pauses=[closed]) == (
        4 * HOUR
    )
    still_open = Pause(sh(2026, 3, 2, 14, 30))
    assert elapsed_minutes(
        start=MONDAY, now=now, basis="working", cal=CAL, pauses=[closed, still_open]
    ) == (2 * HOUR + 30)


def test_elapsed_is_zero_before_the_start():
    assert elapsed_minutes(start=MONDAY, now=sh(2026, 3, 1), basis="calendar", cal=CAL) == 0


# --- extensions ----------------------------------------------------------------------------


def test_extension_moves_the_deadline_in_working_time():
    assert extend(sh(2026, 3, 6, 17), HOUR, "working", CAL) == sh(2026, 3, 9, 9)


def test_extension_in_calendar_time():
    assert extend(sh(2026, 3, 6, 17), 3 * HOUR, "calendar", CAL) == sh(2026, 3, 6, 20)


def test_extension_skips_a_pause_after_the_old_deadline():
    pause = Pause(sh(2026, 3, 6, 17), sh(2026, 3, 9, 9))
    assert extend(sh(2026, 3, 6, 17), HOUR, "working", CAL, pauses=[pause]) == sh(2026, 3, 9, 10)


# --- warning and state ----------------------------------------------------------------------


def test_warning_at_eighty_percent_of_a_working_limit():
    # 10 working hours from Monday 09:00: 6.5 h Monday, due Tuesday 12:00; 8 h → Tuesday 10:00.
    end = due(MONDAY, 10 * HOUR)
    assert end == sh(2026, 3, 3, 12)
    warn = warning_at(start=MONDAY, due=end, warning_share=0.8, basis="working", cal=CAL)
    assert warn == sh(2026, 3, 3, 10)


def test_warning_at_skips_pauses():
    pause = Pause(sh(2026, 3, 2, 10), sh(2026, 3, 2, 11))
    end = due(MONDAY, 10 * HOUR, pauses=[pause])
    assert end == sh(2026, 3, 3, 15)
    warn = warning_at(
        start=MONDAY, due=end, warning_share=0.8, basis="working", cal=CAL, pauses=[pause]
    )
    assert warn == sh(2026, 3, 3, 11)


@pytest.mark.parametrize(
    ("now", "state"),
    [
        (sh(2026, 3, 2, 9), "on_track"),
        (sh(2026, 3, 3, 9, 59), "on_track"),
        (sh(2026, 3, 3, 10), "warning"),
        (sh(2026, 3, 3, 11, 59), "warning"),
        (sh(2026, 3, 3, 12), "overdue"),
        (sh(2026, 3, 9, 12), "overdue"),
    ],
)
def test_sla_state(now, state):
    end = sh(2026, 3, 3, 12)
    assert sla_state(start=MONDAY, due=end, now=now, basis="working", cal=CAL) == state


def test_sla_state_with_another_warning_share():
    end = sh(2026, 3, 3, 12)
    now = sh(2026, 3, 2, 16)  # 5 of 10 working hours
    assert sla_state(start=MONDAY, due=end, now=now, basis="working", cal=CAL) == "on_track"
    assert (
        sla_state(start=MONDAY, due=end, now=now, warning_share=0.5, basis="working", cal=CAL)
        == "warning"
    )


# --- refused input -----------------------------------------------------------------------


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="basis"):
        due(MONDAY, HOUR, basis="fortnightly")
    with pytest.raises(ValueError, match="negative"):
        due(MONDAY, -1)
    with pytest.raises(ValueError, match="timezone-aware"):
        due(datetime(2026, 3, 2, 9), HOUR)
    with pytest.raises(ValueError, match="timezone-aware"):
        Pause(datetime(2026, 3, 2, 9))
    with pytest.raises(ValueError, match="warning_share"):
        warning_at(start=MONDAY, due=sh(2026, 3, 3), warning_share=1.5, basis="working", cal=CAL)
