"""Quiet hours follow the working calendar: pure, so checked here on their own."""

from __future__ import annotations

from datetime import date

import pytest

from app.notifications.quiet import release_at
from app.sla.working_time import WorkingCalendar
from tests.sla.helpers import sh

CAL = WorkingCalendar()


@pytest.mark.parametrize(("due", "released"), [
    (sh(2026, 11, 23, 10, 0), sh(2026, 11, 23, 10, 0)),  # office hours: at once
    (sh(2026, 11, 23, 12, 30), sh(2026, 11, 23, 12, 30)),  # the lunch break holds nothing
    (sh(2026, 11, 23, 7, 0), sh(2026, 11, 23, 8, 30)),  # before opening: today's start
    (sh(2026, 11, 23, 17, 30), sh(2026, 11, 24, 8, 30)),  # closing time is quiet
    (sh(2026, 11, 27, 22, 0), sh(2026, 11, 30, 8, 30)),  # Friday night → Monday
    (sh(2026, 9, 30, 22, 0), sh(2026, 10, 8, 8, 30)),  # the National Day week
])
def test_a_message_outside_office_hours_waits_for_the_next_working_morning(due, released):
    assert release_at(due, CAL, urgent=False) == released
    assert release_at(due, CAL, urgent=True) == due


def test_a_local_day_off_moves_it_further():
    calendar = WorkingCalendar(overrides={date(2026, 11, 24): False})
    assert release_at(sh(2026, 11, 23, 22, 0), calendar, urgent=False) == sh(2026, 11, 25, 8, 30)
