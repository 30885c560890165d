"""The timeline: one immutable event per change, written in the same transaction.

``record_event`` is the only way events are written; every workflow action calls it, and
it is where later subscribers (live queues, webhooks) hook their outbox rows in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.tickets.models import TicketEvent

# Core, not ORM-enabled: no ORM bulk-insert machinery on every event.
_INSERT_EVENT = insert(TicketEvent.__table__).returning(TicketEvent.__table__.c.id)

# Functions called with (session, event_id, ticket_id, kind, data, at) after each event is
# written, inside the same transaction (e.g. the webhook outbox).
EventHook = Callable[[AsyncSession, int, int, str, dict[str, Any], datetime], Awaitable[None]]
_hooks: list[EventHook] = []


def on_event(hook: EventHook) -> EventHook:
    _hooks.append(hook)
    return hook


async def record_event(
    session: AsyncSession,
    *,
    ticket_id: int,
    kind: str,
    actor: Actor | None,
    at: datetime,
    from_status: str | None = None,
    to_status: str | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Write one timeline event; ``actor`` None means the system (the SLA sweep)."""
    payload = data or {}
    event_id = (
        await session.execute(
            _INSERT_EVENT,
            {
                "ticket_id": ticket_id,
                "kind": kind,
                "from_status": from_status,
                "to_status": to_status,
                "actor_user_id": actor.user_id if actor else None,
                "actor_api_key_id": actor.api_key_id if actor else None,
                "actor_role": actor.role.value if actor else "system",
                "data": payload,
                "created_at": at,
            },
        )
    ).scalar_one()
    for hook in _hooks:
        await hook(session, event_id, ticket_id, kind, payload, at)
    return event_id
