"""The working-time calendar (工作日历) and the two walks over it.

Conventions
-----------
* Every instant going in or out is a timezone-aware ``datetime``; results are in UTC. Naive
  datetimes are refused with ``ValueError`` rather than guessed at.
* A calendar is read in its own zone (``Asia/Shanghai`` by default): a *working day* is a
  local date that China's calendar (``holidays.China``, which knows the 调休 make-up working
  weekends and the Spring Festival / National Day weeks) calls a working day, unless a local
  override says otherwise. *Working time* is the union of the daily working periods
  (default 08:30–12:00 and 14:00–17:30, i.e. 7 working hours = one 工作日) on working days.
* Working time is a measure: ``add_working_minutes`` returns the *first* instant at which the
  requested amount has elapsed, so 11:00 + 60 working minutes is 12:00, not 14:00.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

from app.clock import SHANGHAI

Period = tuple[time, time]

DEFAULT_PERIODS: tuple[Period, ...] = ((time(8, 30), time(12, 0)), (time(14, 0), time(17, 30)))

# A calendar with no working day in this many consecutive days is broken, not busy.
_MAX_IDLE_DAYS = 400


@lru_cache(maxsize=64)
def _china_calendar(year: int) -> holidays.HolidayBase:
    """China's public holidays and make-up workdays for one year, built once per process."""
    return holidays.China(years=year)


@dataclass(frozen=True)
class WorkingCalendar:
    """Office hours of a street: working periods per day, China's holidays, local overrides.

    ``overrides`` maps a local date to ``True`` (an extra working day, e.g. a Saturday the
    street works) or ``False`` (an extra day off); it wins over the national calendar.
    """

    timezone: ZoneInfo = SHANGHAI
    periods: tuple[Period, ...] = DEFAULT_PERIODS
    overrides: Mapping[date, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        periods = tuple(self.periods)
        _validate_periods(periods)
        object.__setattr__(self, "periods", periods)
        # Read-only copy: a frozen calendar must not change under a caller's feet.
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))

    def __hash__(self) -> int:
        # Hashable so that callers may cache per calendar (e.g. one per street in a sweep).
        return hash((self.timezone, self.periods, frozenset(self.overrides.items())))

    @staticmethod
    def parse_periods(text: str) -> tuple[Period, ...]:
        """``"08:30-12:00,14:00-17:30"`` → validated periods."""
        periods = []
        for chunk in text.split(","):
            parts = chunk.strip().split("-")
            if len(parts) != 2:
                raise ValueError(f"working period {chunk.strip()!r} is not of the form HH:MM-HH:MM")
            try:
                start, end = (time.fromisoformat(part.strip()) for part in parts)
            except ValueError as exc:
                raise ValueError(f"working period {chunk.strip()!r}: {exc}") from None
            periods.append((start, end))
        result = tuple(periods)
        _validate_periods(result)
        return result

    @property
    def minutes_per_day(self) -> float:
        """Working minutes of a full working day (420 with the default periods)."""
        return sum(_minutes(start, end) for start, end in self.periods)

    def is_working_day(self, day: date) -> bool:
        override = self.overrides.get(day)
        if override is not None:
            return override
        return _china_calendar(day.year).is_working_day(day)

    def working_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working periods of one local date as UTC instants (empty on a day off)."""
        if not self.is_working_day(day):
            return []
        zone = self.timezone
        return [
            (
                datetime.combine(day, start, zone).astimezone(UTC),
                datetime.combine(day, end, zone).astimezone(UTC),
            )
            for start, end in self.periods
        ]

    def intervals_from(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals ending after ``instant``, clipped to start no earlier than it."""
        day = instant.astimezone(self.timezone).date()
        idle = 0
        while True:
            intervals = self.working_intervals(day)
            idle = 0 if intervals else idle + 1
            if idle > _MAX_IDLE_DAYS:
                raise ValueError(f"no working day in the {_MAX_IDLE_DAYS} days before {day}")
            for start, end in intervals:
                if end > instant:
                    yield max(start, instant), end
            day += timedelta(days=1)


def _minutes(start: time, end: time) -> float:
    return (end.hour * 60 + end.minute - start.hour * 60 - start.minute) + (
        end.second - start.second
    ) / 60


def _validate_periods(periods: tuple[Period, ...]) -> None:
    if not periods:
        raise ValueError("a working calendar needs at least one working period")
    previous_end: time | None = None
    for start, end in periods:
        if not start < end:
            raise ValueError(f"working period {start:%H:%M}-{end:%H:%M} must start before it ends")
        if previous_end is not None and start < previous_end:
            raise ValueError(
                f"working periods must be sorted and must not overlap: {start:%H:%M} "
                f"starts before the previous period ends at {previous_end:%H:%M}"
            )
        previous_end = end


def require_aware(value: datetime, name: str) -> datetime:
    """Refuse naive datetimes (there is no safe guess for their zone); return UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def add_working_minutes(start: datetime, minutes: float, cal: WorkingCalendar) -> datetime:
    """The instant at which ``minutes`` of working time have elapsed after ``start``.

    Outside working time the count begins at the next working period. Whole periods are
    taken at once, so a limit of weeks costs a few dozen steps, not one per minute.
    """
    start = require_aware(start, "start")
    if minutes < 0:
        raise ValueError(f"minutes must not be negative, got {minutes}")
    remaining = timedelta(minutes=minutes)
    if not remaining:
        return start
    for begin, end in cal.intervals_from(start):
        available = end - begin
        if available >= remaining:
            return begin + remaining
        remaining -= available
    raise AssertionError("intervals_from never ends")  # pragma: no cover


def working_minutes_between(start: datetime, end: datetime, cal: WorkingCalendar) -> float:
    """Working minutes in ``[start, end)``; 0 when ``end`` is not after ``start``."""
    start = require_aware(start, "start")
    end = require_aware(end, "end")
    if end <= start:
        return 0.0
    total = timedelta()
    day = start.astimezone(cal.timezone).date()
    last = end.astimezone(cal.timezone).date()
    while day <= last:
        for begin, finish in cal.working_intervals(day):
            overlap = min(finish, end) - max(begin, start)
            if overlap > timedelta():
                total += overlap
        day += timedelta(days=1)
    return total / timedelta(minutes=1)
