"""The timeline: one immutable event per change, written in the same transaction.

``record_event`` is how events are written; every workflow action calls it, and it runs the
domains' timeline hooks (stored deadlines, the report backlog, the webhook outbox, live
queues) in the same transaction. A hot path that writes its event inside a combined
statement (claim-next) runs the hooks with ``after_event``, naming the ones its statement
already did.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.tickets.models import TicketEvent

EVENTS = TicketEvent.__table__
# Core, not ORM-enabled: no ORM bulk-insert machinery on every event.
_INSERT_EVENT = insert(EVENTS).returning(EVENTS.c.id)
# The columns of an event besides its ticket, in the order ``event_cte`` takes them.
EVENT_COLUMNS = ("kind", "from_status", "to_status", "actor_user_id", "actor_api_key_id",
                 "actor_role", "data", "created_at")
# What the hooks read from ``Event.ticket`` (live queues: where the ticket is, its state).
HOOK_COLUMNS = ("id", "department_id", "street_id", "community_id", "grid_id", "status")


@dataclass(frozen=True, slots=True)
class Event:
    """An event just written, as the hooks see it."""

    id: int
    ticket_id: int
    kind: str
    data: dict[str, Any]
    at: datetime
    # A row of the ticket's columns after the change (attribute access), when the writer
    # has one: it saves the hooks a read.
    ticket: Any = None
    # Whether an active webhook subscription may want it; None when the writer did not ask.
    subscribed: bool | None = None
    # Already committed (written by one statement outside a transaction block): what hooks
    # would publish after the commit goes out at once.
    committed: bool = False


EventHook = Callable[[AsyncSession, Event], Awaitable[None]]
_hooks: dict[str, EventHook] = {}


def on_event(name: str) -> Callable[[EventHook], EventHook]:
    """Register a hook run after each event, inside the same transaction."""
    def register(hook: EventHook) -> EventHook:
        _hooks[name] = hook
        return hook
    return register


def event_cte(ticket_id: Any, values: Sequence[Any]) -> Any:
    """For a hot path's combined statement: a CTE inserting one event per row that
    ``ticket_id`` (a column of another CTE) comes from, with ``values`` in
    ``EVENT_COLUMNS`` order, returning ``event_id``."""
    return (EVENTS.insert()
            .from_select(["ticket_id", *EVENT_COLUMNS], select(ticket_id, *values))
            .returning(EVENTS.c.id.label("event_id"))
            .cte("event"))


def actor_columns(actor: Actor | None) -> dict[str, Any]:
    """Who made an event; ``None`` is the system (the SLA sweep)."""
    return {"actor_user_id": actor.user_id if actor else None,
            "actor_api_key_id": actor.api_key_id if actor else None,
            "actor_role": actor.role.value if actor else "system"}


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
    """Write one timeline event and run every hook; ``actor`` None means the system."""
    payload = data or {}
    event_id = (await session.execute(_INSERT_EVENT, {
        "ticket_id": ticket_id, "kind": kind, "from_status": from_status,
        "to_status": to_status, **actor_columns(actor), "data": payload, "created_at": at,
    })).scalar_one()
    await after_event(session, Event(event_id, ticket_id, kind, payload, at))
    return event_id


async def after_event(session: AsyncSession, event: Event, *,
                      done: frozenset[str] = frozenset()) -> None:
    """Run the hooks for an event already written, but those in ``done`` (which the
    statement that wrote it did itself)."""
    for name, hook in _hooks.items():
        if name not in done:
            await hook(session, event)
