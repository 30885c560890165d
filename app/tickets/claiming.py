"""Claim-next (领取下一件): hand a department's most urgent dispatched ticket to one of its
staff, once, however many claim at the same moment.

The hottest write of the system, so on PostgreSQL it is one statement: the claim, the
response clock stopped, the timeline event and the report-backlog marker are one ``WITH``
(data-modifying CTEs run exactly once, all or nothing), which also says whether any webhook
subscription may want the event. The remaining hooks (outbox, live queues) run after it
with the claimed row in hand. SQLite serialises writers, so there the plain UPDATE is
atomic and the rest follows it in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, literal, or_, select, true, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.reports.models import ReportBacklog
from app.sla import service as sla
from app.sla.dialect import is_postgres
from app.tickets.events import Event, after_event, record_event
from app.tickets.models import Ticket, TicketEvent, Urgency
from app.webhooks.models import WebhookSubscription

TICKETS = Ticket.__table__
EVENTS = TicketEvent.__table__
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
    .returning(*TICKETS.c)
)


def _claim_statement():
    """The PostgreSQL statement: claimed → clock stopped, event, backlog marker; returns the
    claimed row, the event's id and whether a subscription may want the event."""
    claimed = _CLAIM.cte("claimed")
    clocks = sla.STOP_RESPONSE_CLOCK.table
    stopped = (update(clocks).where(clocks.c.ticket_id == claimed.c.id)
               .values(response_started_at=None, response_warn_at=None).cte("stopped"))
    event = (EVENTS.insert()
             .from_select(["ticket_id", "kind", "from_status", "to_status", "actor_user_id",
                           "actor_api_key_id", "actor_role", "data", "created_at"],
                          select(claimed.c.id, literal("claim"), literal("dispatched"),
                                 literal("claimed"), bindparam("claimer"),
                                 bindparam("actor_api_key_id"), bindparam("actor_role"),
                                 bindparam("data", type_=EVENTS.c.data.type), NOW))
             .returning(EVENTS.c.id.label("event_id"))
             .cte("event"))
    backlog = ReportBacklog.__table__
    marked = (postgresql.insert(backlog)
              .from_select(["ticket_id", "marked_at"], select(claimed.c.id, NOW))
              .on_conflict_do_nothing(index_elements=[backlog.c.ticket_id])
              .cte("marked"))
    subs = WebhookSubscription.__table__
    subscribed = exists().where(
        subs.c.is_active.is_(True),
        or_(subs.c.department_id.is_(None), subs.c.department_id == claimed.c.department_id))
    return (select(claimed, event.c.event_id, subscribed.label("subscribed"))
            .select_from(claimed.join(event, true()))
            .add_cte(stopped, marked))


_CLAIM_PG = _claim_statement()


async def claim_next(*, session: AsyncSession, actor: Actor, department_id: int,
                     now: datetime) -> Row[Any] | None:
    """Claim the most urgent dispatched ticket of the department for ``actor``; its row
    (the ticket's columns), or None when the queue is empty."""
    params = {"queue_department": department_id, "claimer": actor.user_id, "now": now}
    if is_postgres(session):
        row = (await session.execute(_CLAIM_PG, {
            **params, "actor_api_key_id": actor.api_key_id, "actor_role": actor.role.value,
            "data": EVENT_DATA})).first()
        if row is None:
            return None
        # The statement marked the report backlog and stopped the clock; the deadlines hook
        # has nothing to do for a claim.
        await after_event(session, Event(row.event_id, row.id, "claim", EVENT_DATA, now,
                                         ticket=row, subscribed=row.subscribed),
                          done=frozenset({"reports"}))
        return row
    row = (await session.execute(_CLAIM, params)).first()
    if row is None:
        return None
    await sla.stop_response_clock(session, row.id)
    await record_event(session, ticket_id=row.id, kind="claim", actor=actor, at=now,
                       from_status="dispatched", to_status="claimed", data=dict(EVENT_DATA))
    return row

