"""The SLA (时限): working time, deadlines, the clocks of each ticket and the sweep.

    working_time.py      the working-time calendar (工作日历) and the walks over it: pure
    deadlines.py         deadlines, elapsed time and warning states: pure functions of
                         (start, duration, calendar, pauses), the instant passed in
    street_calendars.py  each street's calendar, stored and cached
    national_calendar.py whether China's holidays of a year are known
    service.py           a ticket's deadlines, computed and stored on every change
    sweep.py, effects.py warnings, breaches and the ladder, acted on by the worker

What is re-exported here is the pure maths. See ``app.sla.deadlines`` for the conventions
(working vs calendar basis, pauses, a working day = 7 working hours).
"""

from app.sla.deadlines import (
    BASES,
    Basis,
    Pause,
    SlaState,
    add_counted_minutes,
    counted_minutes,
    deadline,
    elapsed_minutes,
    extend,
    sla_state,
    warning_at,
)
from app.sla.working_time import (
    DEFAULT_PERIODS,
    WorkingCalendar,
    add_working_minutes,
    working_minutes_between,
)

__all__ = [
    "BASES",
    "DEFAULT_PERIODS",
    "Basis",
    "Pause",
    "SlaState",
    "WorkingCalendar",
    "add_counted_minutes",
    "add_working_minutes",
    "counted_minutes",
    "deadline",
    "elapsed_minutes",
    "extend",
    "sla_state",
    "warning_at",
    "working_minutes_between",
]
