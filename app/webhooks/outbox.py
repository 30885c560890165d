"""Writing the outbox: one row per matching subscription, in the transaction of the change.

The after-event pipeline's ``outbox`` step (``app.workflow.pipeline``), so every process
that records a ticket event (API, SLA sweep, CLI) fills the outbox — after the deadlines
step, so a message carries the deadlines the event left.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, insert, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.jurisdiction.models import Department
from app.live.concerned import other_departments
from app.tickets.events import Event
from app.tickets.models import Ticket, ticket_number
from app.webhooks.models import OutboxMessage, OutboxStatus, WebhookSubscription

# Contact details stay inside Whistle: a receiving system reads them through the API,
# under its own scope checks, rather than finding them copied into every outbox row.
PRIVATE_EVENT_KEYS = frozenset({"reporter_name", "reporter_phone"})

# The active subscriptions of the ticket's department, of departments the event concerns
# (summoned by a whistle, reporting in) and of all departments, with the ticket's minimal fields:
# one round trip per event, returning no rows when nobody subscribes.
_MATCHING = (
    select(
        WebhookSubscription.id.label("subscription_id"),
        WebhookSubscription.event_types,
        Ticket.id,
        Ticket.created_at,
        Ticket.status,
        Ticket.level,
        Ticket.urgency,
        Ticket.item_code,
        Ticket.category_code,
        Ticket.street_id,
        Ticket.community_id,
        Ticket.grid_id,
        Ticket.resolve_due_at,
        Ticket.version,
        Department.code.label("department"),
    )
    .select_from(WebhookSubscription)
    .join(Ticket, Ticket.id == bindparam("ticket_id"))
    .outerjoin(Department, Department.id == Ticket.department_id)
    .where(
        WebhookSubscription.is_active.is_(True),
        or_(WebhookSubscription.department_id.is_(None),
            WebhookSubscription.department_id == Ticket.department_id,
            WebhookSubscription.department_id.in_(bindparam("others", expanding=True))),
    )
)


# For a set of events (``enqueue_for_events``): the same, for many tickets at once, without
# the departments an event concerns besides the ticket's own (events with some go one by one).
_MATCHING_MANY = (
    select(*_MATCHING.selected_columns)
    .select_from(WebhookSubscription)
    .join(Ticket, Ticket.id.in_(bindparam("ticket_ids", expanding=True)))
    .outerjoin(Department, Department.id == Ticket.department_id)
    .where(
        WebhookSubscription.is_active.is_(True),
        or_(WebhookSubscription.department_id.is_(None),
            WebhookSubscription.department_id == Ticket.department_id),
    )
)
_ANY_ACTIVE = select(WebhookSubscription.id).where(
    WebhookSubscription.is_active.is_(True)).limit(1)


def may_be_wanted(department_id: Any) -> Any:
    """Whether an active subscription may want events of a ticket of ``department_id`` (a
    column or parameter): its department's subscriptions or those to all departments. The
    hot paths ask it inside their one statement and skip the outbox's query when false."""
    subs = WebhookSubscription.__table__
    return exists().where(
        subs.c.is_active.is_(True),
        or_(subs.c.department_id.is_(None), subs.c.department_id == department_id))


def wants(event_types: list[str] | None, kind: str) -> bool:
    return not event_types or kind in event_types


def ticket_summary(row: Row[Any]) -> dict[str, Any]:
    """The ticket as a webhook shows it: enough to route and fetch it, no personal data."""
    return {
        "id": row.id,
        "number": ticket_number(row.id, row.created_at),
        "status": row.status,
        "level": row.level,
        "urgency": row.urgency,
        "item": row.item_code,
        "category": row.category_code,
        "department": row.department,
        "street_id": row.street_id,
        "community_id": row.community_id,
        "grid_id": row.grid_id,
        "resolve_due_at": row.resolve_due_at.isoformat() if row.resolve_due_at else None,
        "version": row.version,
        "url": f"/api/v1/tickets/{row.id}",
    }


def message_body(*, delivery_id: str, event_id: int, kind: str, ticket_id: int,
                 data: dict[str, Any], at: datetime, ticket: dict[str, Any]) -> dict[str, Any]:
    return {
        "delivery_id": delivery_id,
        "event": {
            "id": event_id,
            "kind": kind,
            "ticket_id": ticket_id,
            "data": {k: v for k, v in data.items() if k not in PRIVATE_EVENT_KEYS},
            "created_at": at.isoformat(),
        },
        "ticket": ticket,
    }


async def enqueue_for_event(session: AsyncSession, event: Event) -> None:
    if event.subscribed is False:  # the writer asked: no active subscription can want it
        return
    others = await other_departments(session, event.kind, event.data)
    rows = (await session.execute(_MATCHING, {"ticket_id": event.ticket_id,
                                              "others": others})).all()
    messages = _messages(event, rows)
    if messages:
        await session.execute(insert(OutboxMessage), messages)


async def enqueue_for_events(session: AsyncSession, events: Sequence[Event]) -> None:
    """The step over a set of events: when no subscription is active, one cheap query for
    the lot; else the subscriptions of all their tickets in one query and the messages in
    one insert. Events that concern other departments too go one by one."""
    wanted = [e for e in events if e.subscribed is not False]
    if not wanted or (await session.execute(_ANY_ACTIVE)).first() is None:
        return
    plain = []
    for event in wanted:
        if await other_departments(session, event.kind, event.data):
            await enqueue_for_event(session, event)
        else:
            plain.append(event)
    if not plain:
        return
    by_ticket: dict[int, list[Row[Any]]] = {}
    for row in (await session.execute(_MATCHING_MANY, {
            "ticket_ids": sorted({e.ticket_id for e in plain})})).all():
        by_ticket.setdefault(row.id, []).append(row)
    messages = [m for e in plain for m in _messages(e, by_ticket.get(e.ticket_id, []))]
    if messages:
        await session.execute(insert(OutboxMessage.__table__), messages)


def _messages(event: Event, rows: Sequence[Row[*tuple[Any, ...]]]) -> list[dict[str, Any]]:
    """The outbox rows of ``event`` for the matching subscriptions ``rows`` (ordered by
    subscription, as one event's query returns them)."""
    event_id, ticket_id, kind, data, at = (event.id, event.ticket_id, event.kind, event.data,
                                           event.at)
    messages = []
    for row in sorted(rows, key=lambda r: r.subscription_id):
        if not wants(row.event_types, kind):
            continue
        delivery_id = str(uuid.uuid4())
        messages.append({
            "subscription_id": row.subscription_id,
            "event_id": event_id,
            "ticket_id": ticket_id,
            "event_kind": kind,
            "payload": message_body(delivery_id=delivery_id, event_id=event_id, kind=kind,
                                    ticket_id=ticket_id, data=data, at=at,
                                    ticket=ticket_summary(row)),
            "delivery_id": delivery_id,
            "status": OutboxStatus.pending.value,
            "attempts": 0,
            "next_attempt_at": at,
            "created_at": at,
        })
    return messages

