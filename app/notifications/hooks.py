"""Registers ``notify_for_event`` on the ticket timeline (listed in ``app.hooks``, after the
webhook outbox). The only place notifications are wired to events: replacing the hook
registry with an explicit pipeline means calling ``notify_for_event`` there instead."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.notifications.pipeline import notify_for_event
from app.tickets.events import Event, on_event


@on_event("notifications")
async def _notify(session: AsyncSession, event: Event) -> None:
    # Hooks get no settings: the process's own, as the deadlines hook does.
    await notify_for_event(session, event, settings=get_settings())
