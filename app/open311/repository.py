"""The queries of the Open311 API: public reads of the tickets filed through it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.jurisdiction.models import Department
from app.tickets import repository as tickets_repo
from app.tickets.models import Source, Ticket, TicketEvent
from app.tickets.repository import TicketView

# The timeline event an Open311 POST adds next to "created": what the spec carries that a
# ticket has no column for (the media_url a client sent).
RECEIVED_EVENT = "open311_received"
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
