"""Publishing queue events from the transaction that records them.

The after-event pipeline's ``live`` step (``app.workflow.pipeline``), its last. The event
waits in the session until its transaction commits and then goes to this process's
broker: handed over in-process on SQLite, NOTIFYed to every process on PostgreSQL. A
rolled-back change is forgotten. A PostgreSQL process running no broker (the worker,
commands) NOTIFYs inside the transaction instead, which PostgreSQL delivers only if it
commits.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Text, bindparam, cast, event, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.db import among
from app.live.broker import CHANNEL, QueueEvent, database_key_of, has_notifier, publish_committed
from app.live.concerned import other_departments
from app.live.postgres import batches
from app.tickets.catalogue import LIVE_EVENTS
from app.tickets.events import Event
from app.tickets.models import Ticket

# Which timeline kinds change what a department's queue shows, and the SSE event name each
# is pushed as, is the event catalogue's ``live`` column (``app.tickets.catalogue``).
QUEUE_EVENTS = LIVE_EVENTS

_TICKET = select(Ticket.department_id, Ticket.street_id, Ticket.community_id, Ticket.grid_id,
                 Ticket.status)
_PENDING = "live.pending_queue_events"


def _notify_statement(event_id: int, kind: str, ticket_id: int):
    """SELECT pg_notify(channel, json) FROM tickets WHERE id = … AND department_id IS NOT
    NULL: the lookup and the NOTIFY in one round trip."""
    payload = func.json_build_object(
        "event_id", event_id, "kind", kind, "ticket_id", Ticket.id,
        "department_id", Ticket.department_id, "street_id", Ticket.street_id,
        "community_id", Ticket.community_id, "grid_id", Ticket.grid_id,
        "status", Ticket.status)
    return (select(func.pg_notify(CHANNEL, cast(payload, Text)))
            .where(Ticket.id == ticket_id, Ticket.department_id.is_not(None)))


async def publish_queue_event(session: AsyncSession, event: Event) -> None:
    event_id, ticket_id, kind, data = event.id, event.ticket_id, event.kind, event.data
    if kind not in LIVE_EVENTS:
        return
    bind = session.get_bind()
    key = database_key_of(bind.engine)
    # A process without a PostgreSQL broker (the worker, a command) NOTIFYs inside its
    # transaction: PostgreSQL then delivers it if, and only if, the change commits.
    notify_now = bind.dialect.name == "postgresql" and not has_notifier(key)
    others = await other_departments(session, kind, data)
    if notify_now and not others:  # the lookup and the NOTIFY in one round trip
        await session.execute(_notify_statement(event_id, kind, ticket_id))
        return
    row = event.ticket or (await session.execute(_TICKET.where(Ticket.id == ticket_id))).first()
    if row is None:
        return
    departments = [d for d in dict.fromkeys([row.department_id, *others]) if d is not None]
    events = [QueueEvent(event_id=event_id, kind=kind, ticket_id=ticket_id, department_id=d,
                         street_id=row.street_id, community_id=row.community_id,
                         grid_id=row.grid_id, status=row.status) for d in departments]
    if notify_now:
        for queue_event in events:
            await session.execute(select(func.pg_notify(CHANNEL, queue_event.to_json())))
    else:
        _pending(session.sync_session, key).extend(events)


_NOTIFY_MANY = select(func.pg_notify(CHANNEL, func.unnest(
    bindparam("payloads", type_=postgresql.ARRAY(Text)))))


async def publish_queue_events(session: AsyncSession, events: Sequence[Event]) -> None:
    """The step over a set of events: their tickets read in one query, and on PostgreSQL
    without a broker the events NOTIFYed in a few payloads (lists, as a broker sends them)
    by one statement. Events that concern other departments too go one by one."""
    plain: list[Event] = []
    for e in events:
        if e.kind not in LIVE_EVENTS:
            continue
        if await other_departments(session, e.kind, e.data):
            await publish_queue_event(session, e)
        else:
            plain.append(e)
    if not plain:
        return
    # The tickets the writer passed along (the sweep's rows), the rest read in one query.
    rows = {e.ticket_id: e.ticket for e in plain if e.ticket is not None}
    missing = sorted({e.ticket_id for e in plain} - rows.keys())
    if missing:
        rows.update((r.id, r) for r in (await session.execute(
            select(Ticket.id, *_TICKET.selected_columns).where(
                among(session, Ticket.id, missing)))).all())
    queue_events = [
        QueueEvent(event_id=e.id, kind=e.kind, ticket_id=e.ticket_id,
                   department_id=row.department_id, street_id=row.street_id,
                   community_id=row.community_id, grid_id=row.grid_id, status=row.status)
        for e in plain if (row := rows.get(e.ticket_id)) is not None
        and row.department_id is not None]
    if not queue_events:
        return
    bind = session.get_bind()
    key = database_key_of(bind.engine)
    if bind.dialect.name == "postgresql" and not has_notifier(key):
        await session.execute(_NOTIFY_MANY, {"payloads": batches(queue_events)})
    else:
        _pending(session.sync_session, key).extend(queue_events)


def _pending(session: Session, database_key: str) -> list[QueueEvent]:
    return session.info.setdefault(_PENDING, (database_key, []))[1]


# Listened to on the Session class once, not on each session: registering listeners per
# session cost more than the rest of publishing on the claim path. Both do nothing for a
# session with no pending events.
@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is not None:
        publish_committed(*pending)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
