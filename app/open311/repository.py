"""The queries of the Open311 API: public reads of the tickets filed through it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.models import Attachment
from app.jurisdiction.models import Department
from app.tickets import repository as tickets_repo
from app.tickets.models import Source, Ticket, TicketEvent
from app.tickets.repository import TicketView

# The timeline event an Open311 POST adds next to "created": what the spec carries that a
# ticket has no column for (the media_url a client sent).
RECEIVED_EVENT = "open311_received"
# A resident's comment POSTed to servicerequestupdates by an integration key.
RESIDENT_UPDATE_EVENT = "open311_update"
# Event payload keys whose text explains a ticket's state to the public (处置结果 / 原因).
NOTE_KEYS = ("result", "reason")


def public_select() -> Any:
    """Tickets filed through Open311: the only ones its public reads show."""
    return tickets_repo.view_select().where(Ticket.source == Source.open311.value)


async def find_views(session: AsyncSession, *clauses: Any, limit: int) -> list[TicketView]:
    stmt = public_select().where(*clauses).order_by(Ticket.id.desc()).limit(limit)
    return await tickets_repo.load_views(session, stmt)


async def department_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(
        select(Department.id, Department.name).where(Department.id.in_(sorted(ids))))
    return {row.id: row.name for row in rows}


async def _events(session: AsyncSession, ticket_ids: Sequence[int],
                  *where: Any) -> list[tuple[int, dict[str, Any]]]:
    if not ticket_ids:
        return []
    rows = await session.execute(
        select(TicketEvent.ticket_id, TicketEvent.data)
        .where(TicketEvent.ticket_id.in_(list(ticket_ids)), *where)
        .order_by(TicketEvent.id))
    return [(r.ticket_id, r.data or {}) for r in rows]


async def latest_notes(session: AsyncSession, ticket_ids: Sequence[int]) -> dict[int, str]:
    """Each ticket's newest result or reason text (a handler's result, a return reason)."""
    notes: dict[int, str] = {}
    for ticket_id, data in await _events(session, ticket_ids,
                                               TicketEvent.kind != RECEIVED_EVENT):
        text = next((data[k] for k in NOTE_KEYS if isinstance(data.get(k), str) and data[k]),
                    None)
        if text:
            notes[ticket_id] = text
    return notes


async def submitted_media(session: AsyncSession, ticket_ids: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for ticket_id, data in await _events(session, ticket_ids,
                                                TicketEvent.kind == RECEIVED_EVENT):
        if isinstance(data.get("media_url"), str):
            found.setdefault(ticket_id, data["media_url"])
    return found


async def reporter_photos(session: AsyncSession, ticket_ids: Sequence[int]) -> dict[int, int]:
    """Each ticket's first photo sent with the report itself (linked to its ``created``
    event): the reporter's, never a handler's result photo."""
    if not ticket_ids:
        return {}
    rows = await session.execute(
        select(Attachment.ticket_id, func.min(Attachment.id))
        .join(TicketEvent, TicketEvent.id == Attachment.event_id)
        .where(Attachment.ticket_id.in_(list(ticket_ids)), TicketEvent.kind == "created")
        .group_by(Attachment.ticket_id))
    return {ticket_id: attachment_id for ticket_id, attachment_id in rows
            if ticket_id is not None}  # never None (IN above): for the type


async def event_photos(session: AsyncSession, event_ids: Sequence[int]) -> dict[int, int]:
    """Each event's first photo (a result photo, a failed verification's)."""
    if not event_ids:
        return {}
    rows = await session.execute(
        select(Attachment.event_id, func.min(Attachment.id))
        .where(Attachment.event_id.in_(list(event_ids))).group_by(Attachment.event_id))
    return {event_id: attachment_id for event_id, attachment_id in rows
            if event_id is not None}  # never None (IN above): for the type


async def public_events(session: AsyncSession, *, kinds: Sequence[str], start: datetime,
                        end: datetime, street_id: int | None,
                        limit: int) -> list[tuple[TicketEvent, Ticket]]:
    """Events of ``kinds`` on tickets filed through Open311, in the window, oldest first."""
    clauses = [Ticket.street_id == street_id] if street_id is not None else []
    rows = await session.execute(
        select(TicketEvent, Ticket).join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(TicketEvent.created_at >= start, TicketEvent.created_at <= end,
               TicketEvent.kind.in_(list(kinds)), Ticket.source == Source.open311.value,
               *clauses)
        .order_by(TicketEvent.created_at, TicketEvent.id).limit(limit))
    return [(event, ticket) for event, ticket in rows]


async def find_resident_update(session: AsyncSession, *, ticket_id: int,
                               api_key_id: int, update_id: str) -> int | None:
    """The event a key's earlier POST of the same update_id wrote, if any."""
    rows = await session.execute(
        select(TicketEvent.id, TicketEvent.data)
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == RESIDENT_UPDATE_EVENT,
               TicketEvent.actor_api_key_id == api_key_id)
        .order_by(TicketEvent.id))
    return next((event_id for event_id, data in rows
                 if (data or {}).get("update_id") == update_id), None)
