"""Extension (延期) and suspension (挂起) requests as a list: what a dispatcher has to decide.

The requests themselves are made and decided by workflow actions (``request-extension``,
``decide-extension`` …); this lists them for the tickets the caller can see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.auth.actor import Actor
from app.auth.scope import ticket_scope_clause
from app.sla.models import TicketRequest
from app.tickets.models import Ticket, ticket_number

RequestKind = Literal["extension", "suspension"]
RequestStatus = Literal["pending", "approved", "rejected"]


class TicketRequestOut(BaseModel):
    id: int
    ticket_id: int
    ticket_number: str
    ticket_status: str
    kind: RequestKind
    status: RequestStatus
    minutes: int | None = Field(description="extensions: the extra time asked for, in the "
                                            "item's basis (working minutes for working-time items)")
    reason: str
    requested_at: datetime
    decided_at: datetime | None
    note: str | None


async def list_requests(session: AsyncSession, *, actor: Actor, status: RequestStatus,
                        kind: RequestKind | None, limit: int, ticket_id: int | None = None,
                        after: int | None = None) -> list[TicketRequestOut]:
    """Oldest first; ``after`` (a request's id, the last of the previous page) continues
    past it in the same order, so a long backlog can be read to its end."""
    stmt = (select(TicketRequest, Ticket.created_at, Ticket.status)
            .join(Ticket, Ticket.id == TicketRequest.ticket_id)
            .where(TicketRequest.status == status, ticket_scope_clause(actor, Ticket))
            .order_by(TicketRequest.requested_at, TicketRequest.id)
            .limit(limit))
    if kind is not None:
        stmt = stmt.where(TicketRequest.kind == kind)
    if ticket_id is not None:
        stmt = stmt.where(TicketRequest.ticket_id == ticket_id)
    if after is not None:
        seen = aliased(TicketRequest)  # not correlated with the listed rows
        seen_at = select(seen.requested_at).where(seen.id == after).scalar_subquery()
        stmt = stmt.where(tuple_(TicketRequest.requested_at, TicketRequest.id)
                          > tuple_(seen_at, literal(after)))
    rows = (await session.execute(stmt)).all()
    return [TicketRequestOut(id=r.id, ticket_id=r.ticket_id,
                             ticket_number=ticket_number(r.ticket_id, created_at),
                             ticket_status=ticket_status, kind=r.kind, status=r.status,
                             minutes=r.minutes, reason=r.reason, requested_at=r.requested_at,
                             decided_at=r.decided_at, note=r.note)
            for r, created_at, ticket_status in rows]
