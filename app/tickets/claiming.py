"""Claim-next (领取下一件): hand a department's most urgent dispatched ticket to one of its
staff, once, however many claim at the same moment.

The hottest write of the system, so on PostgreSQL it is one statement: the claim, the
response clock stopped, the timeline event and the report-backlog marker are one ``WITH``
(data-modifying CTEs run exactly once, all or nothing), which also says whether any webhook
subscription may want the event. The remaining hooks (outbox, live queues) run after it
with the claimed row in hand. SQLite serialises writers, so there the plain UPDATE is
atomic and the rest follows it in the same transaction.

A claim is handed out once because the UPDATE's own condition re-checks the state of the
row its SKIP LOCKED probe locked; the guard against subscriptions is evaluated in the same
statement, so a claim made without outbox rows was made when no subscription wanted one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, literal, select, true, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.reports.models import ReportBacklog
from app.sla import service as sla
from app.sla.dialect import is_postgres
from app.tickets.events import HOOK_COLUMNS, Event, after_event, event_cte, record_event
from app.tickets.models import Ticket, TicketEvent, Urgency
from app.webhooks.outbox import may_be_wanted

TICKETS = Ticket.__table__
NOW = bindparam("now", type_=TICKETS.c.updated_at.type)
EVENT_DATA = {"via": "claim_next"}


def _next_in_queue(urgency: str):
    """The first unlocked dispatched ticket of one urgency, in deadline then age order:
    exactly the order of ``ix_tickets_queue`` after its equality columns, so the scan
    stops at the first row instead of sorting the whole queue under FOR UPDATE."""
    return (
        select(TICKETS.c.id)
        .where(TICKETS.c.department_id == bindparam("queue_department"),
               TICKETS.c.status == "dispatched", TICKETS.c.urgency == urgency)
        .order_by(TICKETS.c.resolve_due_at.asc().nulls_last(), TICKETS.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )


# Most urgent first (urgency descending), then the nearest deadline, then the oldest. One
# ORDER BY urgency DESC, resolve_due_at, id matches no index direction and made PostgreSQL
# sort every dispatched ticket of the department on each claim; COALESCE evaluates one
# index-ordered probe per urgency, stopping at the first that finds a ticket.
_CLAIM = (
    update(TICKETS)
    .where(TICKETS.c.id == func.coalesce(*(_next_in_queue(u.value)
                                           for u in sorted(Urgency, reverse=True))),
           TICKETS.c.status == "dispatched")
    .values(status="claimed", assignee_id=bindparam("claimer"), claimed_at=NOW,
            version=TICKETS.c.version + 1, updated_at=NOW, **sla.response_stopped_values(NOW))
    .returning(*(TICKETS.c[c] for c in HOOK_COLUMNS))
)


def _claim_statement(*, unless_subscribed: bool):
    """The PostgreSQL statement: claimed → clock stopped, event, backlog marker. Always one
    row: whether a subscription may want the event, then the claimed ticket's columns and
    the event's id (NULL when nothing was claimed). ``unless_subscribed``: claim only if
    no subscription may want the event (its outbox rows need a second statement)."""
    subscribed = may_be_wanted(bindparam("queue_department"))
    claim = _CLAIM.where(~subscribed) if unless_subscribed else _CLAIM
    claimed = claim.cte("claimed")
    clocks = sla.STOP_RESPONSE_CLOCK.table
    stopped = (update(clocks).where(clocks.c.ticket_id == claimed.c.id)
               .values(sla.CLOCK_STOPPED_VALUES).cte("stopped"))
    event = event_cte(claimed.c.id, [
        literal("claim"), literal("dispatched"), literal("claimed"), bindparam("claimer"),
        bindparam("actor_api_key_id"), bindparam("actor_role"),
        bindparam("data", type_=TicketEvent.__table__.c.data.type), NOW])
    backlog = ReportBacklog.__table__
    marked = (postgresql.insert(backlog)
              .from_select(["ticket_id", "marked_at"], select(claimed.c.id, NOW))
              .on_conflict_do_nothing(index_elements=[backlog.c.ticket_id])
              .cte("marked"))
    head = select(subscribed.label("subscribed")).subquery("head")
    return (select(head.c.subscribed, *(claimed.c[c] for c in HOOK_COLUMNS), event.c.event_id)
            .select_from(head.outerjoin(claimed, true()).outerjoin(event, true()))
            .add_cte(stopped, marked))


_CLAIM_PG = _claim_statement(unless_subscribed=False)
_CLAIM_PG_UNLESS_SUBSCRIBED = _claim_statement(unless_subscribed=True)


async def claim_next(*, session: AsyncSession, actor: Actor, department_id: int,
                     now: datetime) -> Row[Any] | None:
    """Claim the most urgent dispatched ticket of the department for ``actor``; a row of
    its ``HOOK_COLUMNS`` columns, or None when the queue is empty.

    On PostgreSQL this must be the first statement of its session: when no webhook
    subscription may want the event (the usual case) the claim is one statement, atomic by
    itself, so it runs outside a transaction block — no BEGIN and COMMIT round trips. When
    one may, the claim and its outbox rows run in a transaction of their own."""
    params = {"queue_department": department_id, "claimer": actor.user_id, "now": now}
    if not is_postgres(session):
        return await _claim_on_sqlite(session, actor, params)
    params.update(actor_api_key_id=actor.api_key_id, actor_role=actor.role.value,
                  data=EVENT_DATA)
    alone = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    row = (await alone.execute(_CLAIM_PG_UNLESS_SUBSCRIBED, params)).one()
    if not row.subscribed:
        if row.id is None:
            return None
        await _after_claim(session, row, now, committed=True)
        return row
    async with AsyncSession(bind=session.bind) as tx, tx.begin():
        row = (await tx.execute(_CLAIM_PG, params)).one()
        if row.id is None:
            return None
        await _after_claim(tx, row, now, committed=False)
    return row


async def _after_claim(session: AsyncSession, row: Row[Any], now: datetime, *,
                       committed: bool) -> None:
    # The statement marked the report backlog and stopped the clock (the deadlines hook has
    # nothing to do for a claim); the outbox and live queues remain.
    await after_event(session, Event(row.event_id, row.id, "claim", EVENT_DATA, now, ticket=row,
                                     subscribed=row.subscribed, committed=committed),
                      done=frozenset({"reports"}))


async def _claim_on_sqlite(session: AsyncSession, actor: Actor,
                           params: dict[str, Any]) -> Row[Any] | None:
    """SQLite serialises writers: the plain UPDATE is atomic, the rest follows it."""
    row = (await session.execute(_CLAIM, params)).first()
    if row is None:
        return None
    await sla.stop_response_clock(session, row.id)
    await record_event(session, ticket_id=row.id, kind="claim", actor=actor, at=params["now"],
                       from_status="dispatched", to_status="claimed", data=dict(EVENT_DATA))
    return row
