"""Claim-next (领取下一件): hand a department's most urgent dispatched ticket to one of its
staff, once, however many claim at the same moment.

The hottest write of the system, so on PostgreSQL it is one statement: the claim, the
response clock stopped, the timeline event and the report-backlog marker are one ``WITH``
(data-modifying CTEs run exactly once, all or nothing), which also says whether any webhook
subscription may want the event. It is compiled once and run straight on asyncpg, with its
constants in its text so that PostgreSQL plans it once per connection — inside the
request's transaction, like every other write: a request that fails after the claim (its
answer cannot be read back, the connection drops before the commit) leaves no claim
behind. The pipeline's delivery steps (outbox, live queues) run after it with the claimed
row in hand. SQLite serialises writers, so there the plain UPDATE is atomic and the rest
follows it in the same transaction.

A claim is handed out once because the UPDATE's own condition re-checks the state of the
row its SKIP LOCKED probe locked; the guard against subscriptions is evaluated in the same
statement, so a claim made without outbox rows was made when no subscription wanted one.
"""

from __future__ import annotations

import functools
from collections import namedtuple
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, bindparam, cast, func, literal_column, select, true, update
from sqlalchemy.engine import Dialect, Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.models import Attachment
from app.auth.actor import Actor
from app.db import DriverStatement, compile_for_driver, constant, is_postgres, run_on_driver
from app.jurisdiction.models import Department, Jurisdiction
from app.matrix.models import MatrixItem
from app.reports import backlog
from app.sla import service as sla
from app.tickets.events import HOOK_COLUMNS, Event, event_cte, pipeline_of, record_event
from app.tickets.models import Ticket, TicketEvent
from app.tickets.queue_order import URGENCY_RANK, within_urgency
from app.tickets.repository import TicketRecord, TicketView
from app.tickets.workflow import BY_ACTION
from app.webhooks.outbox import may_be_wanted

TICKETS = Ticket.__table__
NOW = bindparam("now", type_=TICKETS.c.updated_at.type)
EVENT_DATA = {"via": "claim_next"}


# The workflow table's claim row: from which state, to which, with which event.
CLAIM = BY_ACTION["claim"]
(QUEUED,) = CLAIM.sources
assert CLAIM.target is not None
CLAIMED = CLAIM.target


def claim_values(claimer: Any, now: Any) -> dict[str, Any]:
    """What a claim writes besides the state (the claim action's effect writes the same):
    the claimer, when, and the response clock stopped."""
    return {"assignee_id": claimer, "claimed_at": now, **sla.response_stopped_values(now)}


def _next_in_queue(urgency: str):
    """The first unlocked queued ticket of one urgency, in the queue's order within an
    urgency: the scan of ``ix_tickets_queue`` stops at the first row instead of sorting the
    whole queue under FOR UPDATE."""
    return (
        select(TICKETS.c.id)
        .where(TICKETS.c.department_id == bindparam("queue_department"),
               TICKETS.c.status == constant(QUEUED.value),
               TICKETS.c.urgency == constant(urgency))
        .order_by(*within_urgency(TICKETS))
        .limit(constant(1))
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )


# The queue's order (``app.tickets.queue_order``): one ORDER BY urgency rank, deadline, id
# matches no index and made PostgreSQL sort every dispatched ticket of the department on
# each claim; COALESCE evaluates one index-ordered probe per urgency, most urgent first,
# stopping at the first that finds a ticket.
_CLAIM_WHERE = (  # what a claim does; what it returns differs by dialect
    update(TICKETS)
    .where(TICKETS.c.id == func.coalesce(*(_next_in_queue(u.value) for u in URGENCY_RANK)),
           TICKETS.c.status == constant(QUEUED.value))
    .values(status=constant(CLAIMED.value), version=TICKETS.c.version + constant(1),
            updated_at=NOW, **claim_values(bindparam("claimer"), NOW))
)
_CLAIM = _CLAIM_WHERE.returning(*(TICKETS.c[c] for c in HOOK_COLUMNS))
# The PostgreSQL statement returns the whole claimed row, so the answer needs no re-read.
_CLAIM_ALL = _CLAIM_WHERE.returning(*TICKETS.c)


def _claim_statement(*, unless_subscribed: bool):
    """The PostgreSQL statement: claimed → clock stopped, event, backlog marker. Always one
    row: whether a subscription may want the event, then the claimed ticket's columns and
    the event's id (NULL when nothing was claimed). ``unless_subscribed``: claim only if
    no subscription may want the event (its outbox rows need a second statement)."""
    subscribed = may_be_wanted(bindparam("queue_department"))
    claim = _CLAIM_ALL.where(~subscribed) if unless_subscribed else _CLAIM_ALL
    claimed = claim.cte("claimed")
    clocks = sla.STOP_RESPONSE_CLOCK.table
    stopped = (update(clocks).where(clocks.c.ticket_id == claimed.c.id)
               .values(sla.CLOCK_STOPPED_VALUES).cte("stopped"))
    event = event_cte(claimed.c.id, [
        constant(CLAIM.event), constant(QUEUED.value), constant(CLAIMED.value),
        bindparam("claimer"),
        bindparam("actor_api_key_id"), bindparam("actor_role"),
        bindparam("data", type_=TicketEvent.__table__.c.data.type), NOW])
    marked = (backlog.marking("postgresql")
              .from_select(["ticket_id", "marked_at"], select(claimed.c.id, NOW))
              .cte("marked"))
    head = select(subscribed.label("subscribed")).subquery("head")
    # What the answer shows besides the row: the codes, the item's name, the attachments.
    grid, community, street = (Jurisdiction.__table__.alias(n)
                               for n in ("grid_node", "community_node", "street_node"))
    departments, items = Department.__table__, MatrixItem.__table__
    attachments = Attachment.__table__
    attachment_list = (select(func.string_agg(cast(attachments.c.id, String), literal_column("','")))
                       .where(attachments.c.ticket_id == claimed.c.id).scalar_subquery())
    return (select(head.c.subscribed, *claimed.c, grid.c.code, community.c.code, street.c.code,
                   departments.c.code, items.c.name, attachment_list, event.c.event_id)
            .select_from(head.outerjoin(claimed, true()).outerjoin(event, true())
                         .outerjoin(grid, grid.c.id == claimed.c.grid_id)
                         .outerjoin(community, community.c.id == claimed.c.community_id)
                         .outerjoin(street, street.c.id == claimed.c.street_id)
                         .outerjoin(departments, departments.c.id == claimed.c.department_id)
                         .outerjoin(items, items.c.id == claimed.c.item_id))
            .add_cte(stopped, marked))


_CLAIM_PG = _claim_statement(unless_subscribed=False)
_CLAIM_PG_UNLESS_SUBSCRIBED = _claim_statement(unless_subscribed=True)
# What the PostgreSQL statements return, in order: the claimed row (its ``HOOK_COLUMNS``
# among them) and what its answer shows.
# Its fields are known at import only, so to the type checker a Claimed is based on Any.
if TYPE_CHECKING:
    class Claimed(Any):
        pass
else:
    Claimed = namedtuple("Claimed", ["subscribed", *(c.name for c in TICKETS.c), "grid_code",
                                     "community_code", "street_code", "department_code",
                                     "item_name", "attachments", "event_id"])


def claimed_view(row: Any) -> TicketView | None:
    """The view of a claim made by the PostgreSQL statement, from what it returned; None
    for a claim that returned only its ``HOOK_COLUMNS`` (SQLite), to be read."""
    if not isinstance(row, Claimed):
        return None
    ticket = TicketRecord(*(getattr(row, c.name) for c in TICKETS.c))
    return TicketView(ticket, row.grid_code, row.community_code, row.street_code,
                      row.department_code, row.item_name,
                      tuple(sorted(int(i) for i in row.attachments.split(",")))
                      if row.attachments else ())


# What each claim gives its statement; anything else it sends would be a constant sent as a
# parameter, which costs a plan per claim (write those with ``app.db.constant``).
_CLAIM_VALUES = frozenset({"queue_department", "claimer", "now", "actor_api_key_id",
                           "actor_role", "data"})


@functools.cache
def _driver_statement(dialect: Dialect) -> DriverStatement:
    statement = compile_for_driver(_CLAIM_PG_UNLESS_SUBSCRIBED, dialect, fixed=False)
    constants = sorted({name for name, _ in statement.parameters} - _CLAIM_VALUES)
    if constants:
        raise TypeError(f"the claim statement sends constants as parameters: {constants}; "
                        "write them with app.db.constant")
    return statement


async def claim_next(*, session: AsyncSession, actor: Actor, department_id: int,
                     now: datetime) -> Any:
    """Claim the most urgent dispatched ticket of the department for ``actor``: a row of
    its ``HOOK_COLUMNS`` (attribute access), or None when the queue is empty.

    On PostgreSQL with asyncpg, when no webhook subscription may want the event (the usual
    case), the claim is one statement run straight on the driver. When one may (or with
    another driver), the claim and its outbox rows are written through SQLAlchemy. Either
    way it is part of the request's transaction, committed at the edge."""
    params: dict[str, Any] = {"queue_department": department_id, "claimer": actor.user_id,
                              "now": now}
    if not is_postgres(session):
        return await _claim_on_sqlite(session, actor, params)
    params.update(actor_api_key_id=actor.api_key_id, actor_role=actor.role.value,
                  data=EVENT_DATA)
    if session.get_bind().dialect.driver == "asyncpg":
        row = await _claim_on_driver(session, params)
        if not row.subscribed:
            if row.id is None:
                return None
            await _after_claim(session, row, now)
            return row
    row = Claimed(*(await session.execute(_CLAIM_PG, params)).one())
    if row.id is None:
        return None
    await _after_claim(session, row, now)
    return row


async def _claim_on_driver(session: AsyncSession, params: dict[str, Any]) -> Claimed:
    """Claim unless subscribed, on the session's connection and in its transaction, but
    straight on asyncpg: through SQLAlchemy's execution layer the Python work per claim
    cost more than PostgreSQL's, mostly in building the statement's cache key, a walk of
    its whole tree of CTEs, on every execution. The statement always returns one row (its
    ``id`` is None when the queue is empty)."""
    (row,) = await run_on_driver(session, _driver_statement(session.get_bind().dialect), params)
    return Claimed(*row)


async def _after_claim(session: AsyncSession, row: Claimed, now: datetime) -> None:
    # The statement kept the state (the clock stopped, the report backlog marked): the
    # pipeline's delivery steps remain.
    await pipeline_of(session).deliver(session, Event(
        row.event_id, row.id, CLAIM.event, EVENT_DATA, now, ticket=row,
        subscribed=row.subscribed))


async def _claim_on_sqlite(session: AsyncSession, actor: Actor,
                           params: dict[str, Any]) -> Row[Any] | None:
    """SQLite serialises writers: the plain UPDATE is atomic, the rest follows it."""
    row = (await session.execute(_CLAIM, params)).first()
    if row is None:
        return None
    await sla.stop_response_clock(session, row.id)
    await record_event(session, ticket_id=row.id, kind=CLAIM.event, actor=actor,
                       at=params["now"], from_status=QUEUED.value, to_status=CLAIMED.value,
                       data=dict(EVENT_DATA))
    return row
