"""Each street's working calendar (工作日历), kept in the database and cached in-process.

A street's calendar is its office periods (``StreetCalendar``; default 08:30–12:00 and
14:00–17:30 in the configured zone) plus China's holidays and 调休 days (from the
``holidays`` package, see ``app.sla.working_time``) plus local overrides: extra days off or on
for the street, or for all streets.

Changing a calendar recomputes nothing retroactively. Deadlines are stored on tickets when
they are computed (at posting, escalation, extension, resumption, ...), with the calendar
of that moment; a new calendar applies to deadlines computed after the change.
"""

from __future__ import annotations

import time as monotonic
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import rowcount
from app.errors import Conflict, InvalidInput, NotFound
from app.jurisdiction.models import Jurisdiction
from app.messages import M
from app.sla.models import CalendarOverride, StreetCalendar
from app.sla.working_time import DEFAULT_PERIODS, WorkingCalendar

ALL_STREETS = "all"  # the street code meaning "every street" for overrides

_cache: dict[int, tuple[float, WorkingCalendar]] = {}


def invalidate() -> None:
    """Forget cached calendars (after an edit in this process; others wait for the TTL)."""
    _cache.clear()


def format_periods(cal: WorkingCalendar) -> str:
    return ",".join(f"{start:%H:%M}-{end:%H:%M}" for start, end in cal.periods)


async def calendar_for(session: AsyncSession, street_id: int, *,
                       settings: Settings) -> WorkingCalendar:
    """The working calendar of a street, cached for ``settings.cache_check_seconds``."""
    now = monotonic.monotonic()
    hit = _cache.get(street_id)
    if hit is not None and now - hit[0] < settings.cache_check_seconds:
        return hit[1]
    cal = await _load(session, street_id, settings)
    _cache[street_id] = (now, cal)
    return cal


async def _load(session: AsyncSession, street_id: int, settings: Settings) -> WorkingCalendar:
    row = await session.get(StreetCalendar, street_id)
    rows = (await session.execute(
        select(CalendarOverride.street_id, CalendarOverride.day, CalendarOverride.is_working)
        .where(or_(CalendarOverride.street_id == street_id,
                   CalendarOverride.street_id.is_(None)))
    )).all()
    # The street's own override wins over an all-streets one for the same day.
    overrides = {day: working for sid, day, working in rows if sid is None}
    overrides.update({day: working for sid, day, working in rows if sid is not None})
    zone = ZoneInfo(row.timezone if row else settings.timezone)
    periods = WorkingCalendar.parse_periods(row.periods) if row else DEFAULT_PERIODS
    return WorkingCalendar(timezone=zone, periods=periods, overrides=overrides)


async def street_id_for(session: AsyncSession, code: str, *, allow_all: bool = False) -> int | None:
    """The id of the street with ``code``; None for ``all`` when ``allow_all``."""
    if allow_all and code == ALL_STREETS:
        return None
    street_id = (await session.execute(select(Jurisdiction.id).where(
        Jurisdiction.code == code, Jurisdiction.level == "street"))).scalar_one_or_none()
    if street_id is None:
        raise NotFound(M("error.no_street", code=code))
    return street_id


async def get_periods(*, session: AsyncSession, street_id: int,
                      settings: Settings) -> WorkingCalendar:
    return await _load(session, street_id, settings)


async def set_periods(*, session: AsyncSession, street_id: int, periods: str,
                      timezone: str | None, settings: Settings) -> WorkingCalendar:
    try:
        parsed = WorkingCalendar.parse_periods(periods)
    except ValueError as exc:
        raise InvalidInput.at(["body", "periods"], str(exc)) from None
    zone_name = timezone or settings.timezone
    try:
        ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput.at(["body", "timezone"], M("calendar.unknown_zone", zone=zone_name)) from None
    text = ",".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in parsed)
    row = await session.get(StreetCalendar, street_id)
    if row is None:
        session.add(StreetCalendar(street_id=street_id, periods=text, timezone=zone_name))
    else:
        row.periods, row.timezone = text, zone_name
    await session.flush()
    invalidate()
    return await _load(session, street_id, settings)


async def list_overrides(*, session: AsyncSession, street_id: int | None,
                         since: date | None = None) -> list[CalendarOverride]:
    query = select(CalendarOverride).where(
        CalendarOverride.street_id.is_(None) if street_id is None
        else CalendarOverride.street_id == street_id)
    if since is not None:
        query = query.where(CalendarOverride.day >= since)
    return list((await session.execute(query.order_by(CalendarOverride.day))).scalars())


async def add_override(*, session: AsyncSession, street_id: int | None, day: date,
                       is_working: bool, note: str) -> CalendarOverride:
    existing = await list_overrides(session=session, street_id=street_id, since=day)
    if any(o.day == day for o in existing):
        raise Conflict(M("calendar.override_exists", day=day))
    row = CalendarOverride(street_id=street_id, day=day, is_working=is_working, note=note)
    session.add(row)
    await session.flush()
    invalidate()
    return row


async def delete_override(*, session: AsyncSession, street_id: int | None, day: date) -> None:
    condition = (CalendarOverride.street_id.is_(None) if street_id is None
                 else CalendarOverride.street_id == street_id)
    result = await session.execute(
        delete(CalendarOverride).where(condition, CalendarOverride.day == day))
    if rowcount(result) == 0:
        raise NotFound(M("calendar.no_override", day=day))
    invalidate()
