"""How much of a ticket's limits is left *now*, counted as its item counts them (working
time on the street's calendar, or calendar time): what a countdown on a screen shows. The
stored deadlines are instants; at 17:00 on a Friday a deadline on Monday 10:00 is 90
working minutes away, not 65 hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.matrix.models import MatrixItem
from app.sla.deadlines import Basis, counted_minutes
from app.sla.street_calendars import calendar_for


@dataclass(frozen=True, slots=True)
class Countdown:
    basis: str  # working | calendar
    response_minutes_left: float | None  # negative: past due by that much
    resolve_minutes_left: float | None


def minutes_left(now: datetime, due: datetime | None, basis: Basis, cal) -> float | None:
    """Pure: counted minutes from ``now`` to ``due`` (negative once it has passed)."""
    if due is None:
        return None
    if due >= now:
        return counted_minutes(now, due, basis, cal)
    return -counted_minutes(due, now, basis, cal)


async def countdown(session: AsyncSession, ticket, *, now: datetime,
                    settings: Settings) -> Countdown:
    stored = (await session.execute(select(MatrixItem.time_basis).where(
        MatrixItem.version_id == ticket.matrix_version_id,
        MatrixItem.code == ticket.item_code))).scalar_one_or_none() or "working"
    basis: Basis = stored  # type: ignore[assignment]  # a str the CHECK keeps to the two
    cal = await calendar_for(session, ticket.street_id, settings=settings)
    response_due = None if ticket.claimed_at is not None else ticket.response_due_at
    resolve_due = None if ticket.resolved_at is not None else ticket.resolve_due_at
    return Countdown(basis, minutes_left(now, response_due, basis, cal),
                     minutes_left(now, resolve_due, basis, cal))
