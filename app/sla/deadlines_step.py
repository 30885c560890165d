"""Keeping deadlines current: the after-event pipeline's ``deadlines`` step, which
recomputes them after every event that affects them, in the same transaction as the change.

What affects them is the event catalogue's to say (``affects_deadlines``,
``restarts_response``, ``ends_case`` in ``app.tickets.catalogue``); the pipeline
(``app.workflow.pipeline``) runs this step first, so that what follows it (report facts, the
webhook outbox, live queues) sees the new deadlines.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.sla import service
from app.sla.models import Whistle
from app.tickets.catalogue import declared
from app.tickets.events import Event


def deadlines_step(settings: Settings) -> Callable[[AsyncSession, Event], Awaitable[None]]:
    """The step, with the settings of the process that builds the pipeline (the warning
    share, the calendars' zone)."""

    async def keep_deadlines(session: AsyncSession, event: Event) -> None:
        kind = declared(event.kind)
        if not kind.moves_deadlines(event.data):
            return
        await service.refresh(session, ticket_id=event.ticket_id, now=event.at,
                              settings=settings, restart_response=kind.restarts_response)
        if kind.ends_case:
            await session.execute(update(Whistle)
                                  .where(Whistle.ticket_id == event.ticket_id,
                                         Whistle.closed_at.is_(None))
                                  .values(closed_at=event.at)
                                  .execution_options(synchronize_session=False))

    return keep_deadlines
