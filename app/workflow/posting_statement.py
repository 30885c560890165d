"""Posting's writes on PostgreSQL as one statement.

Posting is the other hot path: the ticket, its SLA clock and its ``created`` event are
one ``WITH`` of data-modifying CTEs (each runs exactly once, all or nothing), which also
returns whether a webhook subscription may want the event. The posting counts in the
report rollups are not in it: every post of a street, day and item adds to the same rollup
rows, whose lock a transaction holds until it commits, so posting counts them last, just
before its commit (``app.workflow.posting``); inside this statement the lock was held
through the delivery steps' round trips, and concurrent posts queued behind it.

Built once per set of ticket columns; SQLite, which has no writable CTEs, runs the same
writes one by one (``app.workflow.posting``).

With an Idempotency-Key the statement begins with the key's record, which takes the new
ticket's id from the tickets' sequence (the foreign key is checked when the statement
ends, after the ticket is written): when the caller already used the key, ``ON CONFLICT DO
NOTHING`` inserts no record, so no ticket and nothing after it, and the statement returns
no row — the request then answers the first ticket. A concurrent twin waits on the key's
unique index until the first commits. One round trip where claiming the key, posting and
binding the key to the ticket took three.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, literal, select, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.sla.models import SlaClock
from app.tickets.events import EVENT_COLUMNS, EVENTS, HOOK_COLUMNS, event_cte
from app.tickets.models import IdempotencyRecord, Ticket
from app.webhooks.outbox import may_be_wanted

TICKETS = Ticket.__table__
CLOCKS = SlaClock.__table__
KEYS = IdempotencyRecord.__table__

_statements: dict[tuple[tuple[str, ...], tuple[str, ...], bool], Any] = {}


def _param(table, column: str, prefix: str):
    return bindparam(f"{prefix}{column}", type_=table.c[column].type)


def _keyed_ticket(ticket_columns: tuple[str, ...]):
    """The key's record first, with the ticket's id drawn for it; the ticket only if the
    record was written."""
    record = (postgresql.insert(KEYS)
              .values(owner=bindparam("k_owner", type_=KEYS.c.owner.type),
                      key=bindparam("k_key", type_=KEYS.c.key.type),
                      request_hash=bindparam("k_request_hash", type_=KEYS.c.request_hash.type),
                      created_at=bindparam("k_created_at", type_=KEYS.c.created_at.type),
                      ticket_id=func.nextval(func.pg_get_serial_sequence(
                          literal(TICKETS.name), literal("id"))))
              .on_conflict_do_nothing(index_elements=[KEYS.c.owner, KEYS.c.key])
              .returning(KEYS.c.ticket_id)
              .cte("idempotency_key"))
    return TICKETS.insert().from_select(
        ["id", *ticket_columns],
        select(record.c.ticket_id, *(_param(TICKETS, c, "t_") for c in ticket_columns)))


def _statement(ticket_columns: tuple[str, ...], clock_columns: tuple[str, ...], keyed: bool):
    insert = (_keyed_ticket(ticket_columns) if keyed else
              TICKETS.insert().values({c: _param(TICKETS, c, "t_") for c in ticket_columns}))
    ticket = (insert
              .returning(*(TICKETS.c[c] for c in HOOK_COLUMNS), TICKETS.c.category_code,
                         TICKETS.c.item_code, TICKETS.c.source)
              .cte("ticket"))
    clock = (CLOCKS.insert()
             .from_select(["ticket_id", *clock_columns],
                          select(ticket.c.id, *(_param(CLOCKS, c, "c_") for c in clock_columns)))
             .cte("clock"))
    event = event_cte(ticket.c.id, [_param(EVENTS, c, "e_") for c in EVENT_COLUMNS])
    subscribed = may_be_wanted(ticket.c.department_id)
    return (select(*(ticket.c[c] for c in HOOK_COLUMNS), event.c.event_id,
                   subscribed.label("subscribed"))
            .select_from(ticket.join(event, true()))
            .add_cte(clock))


async def insert_posted(session: AsyncSession, *, ticket: dict[str, Any],
                        clock: dict[str, Any], event: dict[str, Any],
                        idempotency: dict[str, Any] | None = None) -> Row[Any] | None:
    """Write a new ticket with its clock and ``created`` event; return its
    ``HOOK_COLUMNS`` columns, ``event_id`` and ``subscribed``. With ``idempotency`` (the
    record's owner, key, request_hash and created_at), the key's record first: None when
    the key was already used, and then nothing was written."""
    key = (tuple(ticket), tuple(clock), idempotency is not None)
    statement = _statements.get(key)
    if statement is None:
        statement = _statements[key] = _statement(*key)
    params: dict[str, Any] = {f"k_{k}": v for k, v in (idempotency or {}).items()}
    params.update({f"t_{k}": v for k, v in ticket.items()})
    params.update({f"c_{k}": v for k, v in clock.items()})
    params.update({f"e_{k}": event[k] for k in EVENT_COLUMNS})
    return (await session.execute(statement, params)).first()
