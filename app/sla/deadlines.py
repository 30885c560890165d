"""Deadlines, elapsed time and SLA states of a ticket's clock (时限、计时与预警).

A limit is counted on one of two bases, named as in ``MatrixItem.time_basis``:

* ``"working"`` — working minutes of a ``WorkingCalendar``: office periods on working days,
  China's holidays and 调休 make-up days, local overrides. A limit of one working day
  (工作日) is 420 working minutes (7 working hours) with the default periods.
* ``"calendar"`` — wall-clock minutes; nights, weekends and holidays count (urgent items,
  the 30-minute whistle report-in).

Suspensions (挂起) are ``Pause`` intervals: time inside them is not counted. A pause with no
end means the clock is stopped *now*; a deadline that has not been reached when such a pause
began is unknown, and ``deadline`` returns ``None`` ("no deadline while paused"). Pauses may
overlap or lie partly before the start; only their union after the start matters.

Every function is pure: the current instant is an argument, never read from a clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from app.sla.working_time import (
    WorkingCalendar,
    add_working_minutes,
    require_aware,
    working_minutes_between,
)

Basis = Literal["working", "calendar"]
SlaState = Literal["on_track", "warning", "overdue"]
BASES: tuple[Basis, ...] = ("working", "calendar")


@dataclass(frozen=True)
class Pause:
    """A stretch of time the SLA clock stood still; ``end`` is ``None`` while it still does."""

    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", require_aware(self.start, "pause start"))
        if self.end is not None:
            end = require_aware(self.end, "pause end")
            if end < self.start:
                raise ValueError("a pause must not end before it starts")
            object.__setattr__(self, "end", end)


def counted_minutes(start: datetime, end: datetime, basis: Basis, cal: WorkingCalendar) -> float:
    """Counted minutes in ``[start, end)`` on ``basis``, ignoring pauses."""
    if basis == "working":
        return working_minutes_between(start, end, cal)
    _check_basis(basis)
    start, end = require_aware(start, "start"), require_aware(end, "end")
    return max(end - start, timedelta()) / timedelta(minutes=1)


def add_counted_minutes(
    start: datetime, minutes: float, basis: Basis, cal: WorkingCalendar
) -> datetime:
    """The first instant at which ``minutes`` counted minutes have elapsed after ``start``."""
    if basis == "working":
        return add_working_minutes(start, minutes, cal)
    _check_basis(basis)
    if minutes < 0:
        raise ValueError(f"minutes must not be negative, got {minutes}")
    return require_aware(start, "start") + timedelta(minutes=minutes)


def deadline(
    *,
    start: datetime,
    limit_minutes: float,
    basis: Basis,
    cal: WorkingCalendar,
    pauses: Iterable[Pause] = (),
) -> datetime | None:
    """The due instant: the first one at which ``limit_minutes`` counted minutes, paused time
    excluded, have elapsed since ``start``.

    ``None`` when an open pause began before the limit was reached: the clock is stopped and
    the due instant will only be known on resumption. A limit reached before an open pause
    began still has its (past) deadline — the ticket was overdue when it was suspended.
    """
    start = require_aware(start, "start")
    if limit_minutes < 0:
        raise ValueError(f"limit_minutes must not be negative, got {limit_minutes}")
    _check_basis(basis)
    cursor, remaining = start, float(limit_minutes)
    for pause_start, pause_end in _merged(pauses, after=start):
        before_pause = counted_minutes(cursor, pause_start, basis, cal)
        if before_pause >= remaining:
            break
        if pause_end is None:
            return None
        remaining -= before_pause
        cursor = pause_end
    return add_counted_minutes(cursor, remaining, basis, cal)


def elapsed_minutes(
    *,
    start: datetime,
    now: datetime,
    basis: Basis,
    cal: WorkingCalendar,
    pauses: Iterable[Pause] = (),
) -> float:
    """Counted minutes from ``start`` to ``now``, paused time excluded (0 if ``now ≤ start``)."""
    start, now = require_aware(start, "start"), require_aware(now, "now")
    total = counted_minutes(start, now, basis, cal)
    for pause_start, pause_end in _merged(pauses, after=start):
        if pause_start >= now:
            break
        stop = now if pause_end is None else min(pause_end, now)
        total -= counted_minutes(pause_start, stop, basis, cal)
    return max(total, 0.0)


def extend(
    due: datetime,
    extra_minutes: float,
    basis: Basis,
    cal: WorkingCalendar,
    pauses: Iterable[Pause] = (),
) -> datetime | None:
    """Move a deadline by an approved extension (延期) of ``extra_minutes`` counted minutes.

    The extra time is counted from the old deadline on, skipping pauses after it; ``None``
    only when an open pause stops the clock before the extension is used up.
    """
    return deadline(start=due, limit_minutes=extra_minutes, basis=basis, cal=cal, pauses=pauses)


def warning_at(
    *,
    start: datetime,
    due: datetime,
    warning_share: float,
    basis: Basis,
    cal: WorkingCalendar,
    pauses: Iterable[Pause] = (),
) -> datetime | None:
    """The instant at which ``warning_share`` of the limit ``start → due`` has elapsed
    (即将超时); the sweep stores it as the ticket's next check. ``None`` while an open pause
    stops the clock before that point.
    """
    if not 0 <= warning_share <= 1:
        raise ValueError(f"warning_share must be between 0 and 1, got {warning_share}")
    pauses = tuple(pauses)
    limit = elapsed_minutes(start=start, now=due, basis=basis, cal=cal, pauses=pauses)
    at = deadline(
        start=start, limit_minutes=limit * warning_share, basis=basis, cal=cal, pauses=pauses
    )
    # The walk may land an instant past ``due`` by rounding to microseconds; never report it.
    return None if at is None else min(at, require_aware(due, "due"))


def sla_state(
    *,
    start: datetime,
    due: datetime,
    now: datetime,
    warning_share: float = 0.8,
    basis: Basis,
    cal: WorkingCalendar,
    pauses: Iterable[Pause] = (),
) -> SlaState:
    """``overdue`` (超时) from ``due`` on, ``warning`` from ``warning_at`` on, else ``on_track``.

    ``due`` is what ``deadline``/``extend`` returned for the same pauses.
    """
    now, due = require_aware(now, "now"), require_aware(due, "due")
    if now >= due:
        return "overdue"
    warn = warning_at(
        start=start, due=due, warning_share=warning_share, basis=basis, cal=cal, pauses=pauses
    )
    if warn is not None and now >= warn:
        return "warning"
    return "on_track"


def _check_basis(basis: str) -> None:
    if basis not in BASES:
        raise ValueError(f"basis must be one of {', '.join(BASES)}, got {basis!r}")


def _merged(pauses: Iterable[Pause], *, after: datetime) -> list[tuple[datetime, datetime | None]]:
    """The union of the pauses, clipped to begin no earlier than ``after``, in time order.

    An open pause swallows everything after its start, so the list ends with it.
    """
    spans = sorted(
        ((max(p.start, after), p.end) for p in pauses if p.end is None or p.end > after),
        key=lambda span: span[0],
    )
    merged: list[tuple[datetime, datetime | None]] = []
    for span_start, span_end in spans:
        if merged and (merged[-1][1] is None or span_start <= merged[-1][1]):
            last_start, last_end = merged[-1]
            if last_end is not None:
                merged[-1] = (last_start, None if span_end is None else max(last_end, span_end))
            continue
        merged.append((span_start, span_end))
    return merged
