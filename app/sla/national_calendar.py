"""Is China's calendar of the coming year known? (节假日安排)

The State Council publishes each year's holidays and make-up workdays (调休) in a notice
around November of the year before; the ``holidays`` package learns them in a release after
that. Until it has, the package guesses the statutory days and knows no 调休 at all, so
deadlines over the New Year would count a make-up Saturday as a day off and a bridging
weekday as a working day. Whistle cannot know the notice; it can say that it does not:

- a year is *known* when the installed ``holidays`` lists that year's State Council
  arrangements for China, or when an admin has entered overrides for all streets in that
  year (``POST /api/v1/calendars/all/overrides``, README "The calendar");
- the current year is always checked; the next one from December 1 (local time) on.

``calendar_status(…)`` is the one answer: the worker logs it, ``GET
/api/v1/calendar/status`` and ``whistle calendar-check`` show it, metrics and readiness
detail can read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import holidays
from holidays.countries import china
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.sla.models import CalendarOverride

# From this month on, next year's arrangements are due (the notice comes in November).
WARN_FROM_MONTH = 12


def years_known_to_holidays() -> frozenset[int]:
    """The years whose State Council arrangements (调休) the installed package lists."""
    # The package keeps them as ChinaStaticHolidays.special_public_holidays, by year.
    static = getattr(china, "ChinaStaticHolidays", None)
    return frozenset(getattr(static, "special_public_holidays", None) or {})


@dataclass(frozen=True, slots=True)
class YearStatus:
    year: int
    known_to_holidays: bool
    overrides: int  # all-streets overrides entered for the year

    @property
    def known(self) -> bool:
        return self.known_to_holidays or self.overrides > 0


@dataclass(frozen=True, slots=True)
class CalendarStatus:
    holidays_version: str
    years: tuple[YearStatus, ...]

    @property
    def ok(self) -> bool:
        return all(y.known for y in self.years)

    @property
    def warning(self) -> str | None:
        missing = [y.year for y in self.years if not y.known]
        if not missing:
            return None
        years = ", ".join(str(y) for y in missing)
        return (f"China's official holidays and make-up workdays (调休) of {years} are not "
                f"known to the installed holidays package ({self.holidays_version}) and no "
                f"override for all streets exists: upgrade holidays, or enter the State "
                f"Council's notice as overrides (README, 'The calendar')")


def years_to_check(today: date) -> tuple[int, ...]:
    if today.month >= WARN_FROM_MONTH:
        return today.year, today.year + 1
    return (today.year,)


def status_of(today: date, *, overrides_by_year: dict[int, int],
              known_years: Iterable[int] | None = None) -> CalendarStatus:
    """Pure: the status on local date ``today`` given the overrides per year."""
    known = frozenset(years_known_to_holidays() if known_years is None else known_years)
    return CalendarStatus(
        holidays_version=holidays.__version__,
        years=tuple(YearStatus(year=year, known_to_holidays=year in known,
                               overrides=overrides_by_year.get(year, 0))
                    for year in years_to_check(today)))


async def calendar_status(session: AsyncSession, *, now: datetime,
                          zone: ZoneInfo) -> CalendarStatus:
    today = now.astimezone(zone).date()
    years = years_to_check(today)
    rows = await session.execute(
        select(CalendarOverride.day, func.count())
        .where(CalendarOverride.street_id.is_(None),
               CalendarOverride.day >= date(years[0], 1, 1),
               CalendarOverride.day <= date(years[-1], 12, 31))
        .group_by(CalendarOverride.day))
    per_year: dict[int, int] = {}
    for day, count in rows:
        per_year[day.year] = per_year.get(day.year, 0) + count
    return status_of(today, overrides_by_year=per_year)
