"""The SLA clock (时限): working calendar, deadlines, elapsed time and warning states.

Pure functions only; callers pass the current instant. See ``app.sla.deadlines`` for the
conventions (working vs calendar basis, pauses, a working day = 7 working hours).
"""

from app.sla.calendar import (
    DEFAULT_PERIODS,
    WorkingCalendar,
    add_working_minutes,
    working_minutes_between,
)
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
