"""Posting's writes on PostgreSQL as one statement.

Posting is the other hot path: the ticket, its SLA clock, its ``created`` event and its
posting counts in the report rollups are one ``WITH`` of data-modifying CTEs (each runs
exactly once, all or nothing), which also returns whether a webhook subscription may want
the event. Built once per set of ticket columns; SQLite, which has no writable CTEs, runs
the same writes one by one (``app.tickets.service``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import bindparam, select, true
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.reports.repository import posted_rollup_ctes
from app.sla.models import SlaClock
from app.tickets.events import EVENT_COLUMNS, EVENTS, HOOK_COLUMNS, event_cte
from app.tickets.models import Ticket
from app.webhooks.outbox import may_be_wanted

TICKETS = Ticket.__table__
CLOCKS = SlaClock.__table__

_statements: dict[tuple[tuple[str, ...], tuple[str, ...]], Any] = {}


def _param(table, column: str, prefix: str):
    return bindparam(f"{prefix}{column}", type_=table.c[column].type)


def _statement(ticket_columns: tuple[str, ...], clock_columns: tuple[str, ...]):
    ticket = (TICKETS.insert()
              .values({c: _param(TICKETS, c, "t_") for c in ticket_columns})
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
            .add_cte(clock, *posted_rollup_ctes(ticket)))


async def insert_posted(session: AsyncSession, *, ticket: dict[str, Any],
                        clock: dict[str, Any], event: dict[str, Any], day: date) -> Row[Any]:
    """Write a new ticket with its clock, ``created`` event and rollup counts; return its
    ``HOOK_COLUMNS`` columns, ``event_id`` and ``subscribed``."""
    key = (tuple(ticket), tuple(clock))
    statement = _statements.get(key)
    if statement is None:
        statement = _statements[key] = _statement(*key)
    params: dict[str, Any] = {f"t_{k}": v for k, v in ticket.items()}
    params.update({f"c_{k}": v for k, v in clock.items()})
    params.update({f"e_{k}": event[k] for k in EVENT_COLUMNS})
    params.update(day=day, month=day.replace(day=1))
    return (await session.execute(statement, params)).one()
