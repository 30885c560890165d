"""Quiet hours (免打扰) follow the street's working calendar: a message that is not urgent,
due outside a working day's office span (before its first working period begins, after
its last one ends, or on a day off), is held until the next working day's first period —
an SMS at 22:00 on a Friday before a holiday goes out at 08:30 on the first working day
after it. The lunch break is inside the span: it holds nothing. Urgent kinds (the
whistle, urgent tickets) go out at once.
"""

from __future__ import annotations

from datetime import datetime

from app.sla.working_time import WorkingCalendar


def release_at(due: datetime, calendar: WorkingCalendar, *, urgent: bool) -> datetime:
    """When a message due at ``due`` may be sent."""
    if urgent:
        return due
    today = calendar.working_intervals(due.astimezone(calendar.timezone).date())
    if today and today[0][0] <= due < today[-1][1]:
        return due
    begin, _ = next(calendar.intervals_from(due))
    return begin
