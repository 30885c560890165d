"""The notification step of ``whistle worker``: raise what no event raises (report-in
deadlines drawing near), then send the outbox.

报到即将超时: a summoned department that has not reported in ``REPORT_IN_LEAD`` before its
deadline is reminded once (its lead, the street's dispatchers, its group robot). Raising it
twice — two workers, a re-run pass — writes nothing new: the summons is the dedupe key.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import unit_of_work
from app.notifications.delivery import run_deliveries_once
from app.notifications.pipeline import notify
from app.notifications.rules import Kind
from app.sla.models import Whistle, WhistleSummons

REPORT_IN_LEAD = timedelta(minutes=10)


async def remind_report_ins(session: AsyncSession, *, now: datetime,
                            settings: Settings) -> int:
    """Remind every summoned department whose report-in deadline is near."""
    due = (await session.execute(
        select(WhistleSummons.id, WhistleSummons.ticket_id, WhistleSummons.whistle_id,
               WhistleSummons.department_id, WhistleSummons.due_at)
        .join(Whistle, Whistle.id == WhistleSummons.whistle_id)
        .where(WhistleSummons.reported_in_at.is_(None), WhistleSummons.missed_at.is_(None),
               WhistleSummons.due_at > now, WhistleSummons.due_at <= now + REPORT_IN_LEAD,
               Whistle.closed_at.is_(None))
        .order_by(WhistleSummons.id))).all()
    for summons in due:
        await notify(session, Kind.report_in_due, ticket_id=summons.ticket_id, at=now,
                     data={"whistle_id": summons.whistle_id,
                           "department_id": summons.department_id,
                           "report_in_due_at": summons.due_at.isoformat()},
                     event_id=None, key=f"s{summons.id}", settings=settings)
    return len(due)


async def notifications_pass(sessions: async_sessionmaker[AsyncSession], now: datetime, *,
                             settings: Settings, http: httpx.AsyncClient | None = None) -> int:
    """One worker step: reminders, then deliveries; returns the delivery attempts."""
    async with unit_of_work(sessions) as session:
        await remind_report_ins(session, now=now, settings=settings)
    return await run_deliveries_once(sessions, now, settings=settings, http=http)
