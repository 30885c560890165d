"""The queries of suggestion: a matrix version's words, the stored models, and the
history the model learns from."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.matrix.models import MatrixItem
from app.suggest.models import SuggestModel
from app.tickets.models import Status, Ticket, TicketEvent


async def item_texts(session: AsyncSession, version_id: int) -> Sequence[tuple]:
    """(code, name, description, keywords, synonyms) of each item, in code order."""
    rows = await session.execute(
        select(MatrixItem.code, MatrixItem.name, MatrixItem.description, MatrixItem.keywords,
               MatrixItem.synonyms)
        .where(MatrixItem.version_id == version_id).order_by(MatrixItem.code))
    return rows.all()


async def newest_model_id(session: AsyncSession, matrix_version_id: int) -> int | None:
    return (await session.execute(
        select(func.max(SuggestModel.id))
        .where(SuggestModel.matrix_version_id == matrix_version_id))).scalar_one_or_none()


async def model_bytes(session: AsyncSession, model_id: int) -> bytes:
    return (await session.execute(
        select(SuggestModel.scorer).where(SuggestModel.id == model_id))).scalar_one()


async def closed_tickets(session: AsyncSession, *, limit: int) -> Sequence[tuple[str, str]]:
    """(description, final item code) of the ``limit`` newest closed tickets."""
    rows = await session.execute(
        select(Ticket.description, Ticket.item_code).where(Ticket.status == Status.closed.value)
        .order_by(Ticket.id.desc()).limit(limit))
    return rows.all()


async def corrections(session: AsyncSession) -> Sequence[tuple[str, str]]:
    """(ticket description, the item a dispatcher corrected it to) of every reroute that
    changed the item (recorded as ``corrected_from`` in the reroute's event)."""
    rows = await session.execute(
        select(Ticket.description, TicketEvent.data)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(TicketEvent.kind == "reroute").order_by(TicketEvent.id))
    return [(description, data["item"]) for description, data in rows
            if data.get("corrected_from") and data.get("item")]


def add_model(session: AsyncSession, model: SuggestModel) -> None:
    session.add(model)


async def model_count(session: AsyncSession, matrix_version_id: int) -> int:
    return (await session.execute(
        select(func.count()).select_from(SuggestModel)
        .where(SuggestModel.matrix_version_id == matrix_version_id))).scalar_one()


async def item_counts(session: AsyncSession, *, since, grid=None) -> dict[str, int]:
    """How many tickets of each item were posted since ``since`` — in one grid (a
    ``GridRef``: by the scope index's three columns), or everywhere. Tickets still awaiting
    triage are left out: their item is a guess."""
    stmt = (select(Ticket.item_code, func.count())
            .where(Ticket.created_at >= since, Ticket.awaiting_triage.is_(False))
            .group_by(Ticket.item_code))
    if grid is not None:
        stmt = stmt.where(Ticket.street_id == grid.street_id,
                          Ticket.community_id == grid.community_id, Ticket.grid_id == grid.id)
    return {code: n for code, n in (await session.execute(stmt)).all()}
