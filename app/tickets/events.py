"""The timeline: one immutable event per change, written in the same transaction.

``record_event`` is how events are written; every workflow action calls it. It checks the
kind against the event catalogue (``app.tickets.catalogue``) and then runs the after-event
pipeline of the session's unit of work (stored deadlines → report facts → webhook outbox →
live queues, see ``app.workflow.pipeline``) in the same transaction. The pipeline travels
with the session (``session.info``), put there by the session factory the process built
with ``app.workflow.pipeline.workflow_sessions``: every process runs the same steps in the
same order, and a session made without one cannot write events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import insert_rows
from app.tickets.catalogue import declared
from app.tickets.models import TicketEvent

EVENTS = TicketEvent.__table__
# Core, not ORM-enabled: no ORM bulk-insert machinery on every event.
_INSERT_EVENT = insert(EVENTS).returning(EVENTS.c.id)
# The columns of an event besides its ticket, in the order ``event_cte`` takes them.
EVENT_COLUMNS = ("kind", "from_status", "to_status", "actor_user_id", "actor_api_key_id",
                 "actor_role", "data", "created_at")
# What the pipeline's steps read from ``Event.ticket`` (live queues: where the ticket is, its state).
HOOK_COLUMNS = ("id", "department_id", "street_id", "community_id", "grid_id", "status")


@dataclass(frozen=True, slots=True)
class Event:
    """An event just written, as the pipeline's steps see it."""

    id: int
    ticket_id: int
    kind: str
    data: dict[str, Any]
    at: datetime
    # A row of the ticket's columns after the change (attribute access), when the writer
    # has one: it saves the steps a read.
    ticket: Any = None
    # Whether an active webhook subscription may want it; None when the writer did not ask.
    subscribed: bool | None = None


class AfterEvent(Protocol):
    """What runs after an event is written (``app.workflow.pipeline.Pipeline``)."""

    async def run(self, session: AsyncSession, event: Event) -> None: ...

    async def run_many(self, session: AsyncSession, events: Sequence[Event]) -> None: ...

    async def deliver(self, session: AsyncSession, event: Event) -> None: ...


# Where a session carries its unit of work's after-event pipeline (``session.info``).
PIPELINE_KEY = "whistle.after_event"


def pipeline_of(session: AsyncSession) -> AfterEvent:
    pipeline = session.info.get(PIPELINE_KEY)
    if pipeline is None:
        raise RuntimeError("this session has no after-event pipeline, so it cannot write "
                           "events: make its factory with app.workflow.pipeline."
                           "workflow_sessions")
    return pipeline


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
            "actor_role": actor.role_name if actor else "system"}


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
    """Write one timeline event and run the after-event pipeline; ``actor`` None means the
    system."""
    declared(kind)
    pipeline = pipeline_of(session)
    payload = data or {}
    event_id = (await session.execute(_INSERT_EVENT, {
        "ticket_id": ticket_id, "kind": kind, "from_status": from_status,
        "to_status": to_status, **actor_columns(actor), "data": payload, "created_at": at,
    })).scalar_one()
    await pipeline.run(session, Event(event_id, ticket_id, kind, payload, at))
    return event_id


@dataclass(frozen=True, slots=True)
class NewEvent:
    """One event for ``record_events``: what ``record_event`` takes, the actor None (the
    system) unless given."""

    ticket_id: int
    kind: str
    data: dict[str, Any]
    from_status: str | None = None
    to_status: str | None = None
    actor: Actor | None = None
    # The ticket's ``HOOK_COLUMNS`` after the change, when the writer has them (``Event.ticket``).
    ticket: Any = None


async def record_events(session: AsyncSession, new: Sequence[NewEvent], *,
                        at: datetime) -> list[int]:
    """Write many timeline events in one statement and run the after-event pipeline over
    them as a set (``Pipeline.run_many``: each step once for the lot, in the pipeline's
    order); their ids, in the order given. For the SLA sweep's thousands of warnings and
    breaches: the same rows and the same steps as ``record_event`` for each."""
    if not new:
        return []
    for event in new:
        declared(event.kind)
    pipeline = pipeline_of(session)
    # One statement, ids in the order of the rows (``insert_rows``).
    ids = [row[0] for row in await insert_rows(session, EVENTS, [
        {"ticket_id": e.ticket_id, "kind": e.kind, "from_status": e.from_status,
         "to_status": e.to_status, **actor_columns(e.actor), "data": e.data, "created_at": at}
        for e in new], returning=("id",), ordered=True)]
    await pipeline.run_many(session, [Event(event_id, e.ticket_id, e.kind, e.data, at,
                                            ticket=e.ticket)
                                      for event_id, e in zip(ids, new, strict=True)])
    return ids
