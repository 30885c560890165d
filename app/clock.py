"""Injected time. The service asks ``Clock.now()``; tests hand in a ``FrozenClock`` and move it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.db import utc_now

# The zone every street in this service keeps its office hours and case numbers in.
SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock:
    def now(self) -> datetime:
        return utc_now()


class FrozenClock(Clock):
    """A clock that only moves when told to (tests, benchmarks, the demo seeder)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware datetime")
        self._now = at

    def now(self) -> datetime:
        return self._now

    def set(self, at: datetime) -> None:
        self._now = at

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now
