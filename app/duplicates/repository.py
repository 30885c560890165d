"""The SQL of the duplicate checks: radius queries as a bounding box on an index.

No PostGIS: ``ix_tickets_nearby`` is a btree on ``(item_code, lat, lon, created_at)``
over open tickets with a location (a partial index, so closed history never enters it).
A radius query becomes ``item_code = ? AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?``:
the index seeks to the item and the latitude band and checks longitude and age inside
the index; the caller then keeps what lies within the exact radius. The open statuses are
written into the statement as constants, as the index's predicate is, so PostgreSQL can
prove the index applies to every plan of it (a parameter could not be).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.jurisdiction.models import Jurisdiction
from app.tickets.models import OPEN_STATUSES, Ticket

# A runaway cap: a box of 100 m holds a handful of open tickets of one item.
MAX_CANDIDATES = 200


def open_with_location(ticket) -> ColumnElement[bool]:
    """The predicate of ``ix_tickets_nearby``, for ``ticket`` (the model or an alias)."""
    return and_(ticket.status.in_([literal_column(f"'{s}'") for s in OPEN_STATUSES]),
                ticket.lat.is_not(None))


@dataclass(frozen=True, slots=True)
class Box:
    """Half-sides in degrees of the box that holds a radius (see ``degrees_around``)."""

    d_lat: float
    d_lon: float


_Grid = aliased(Jurisdiction)
NEARBY_COLUMNS = (Ticket.id, Ticket.created_at, Ticket.status, Ticket.item_code, Ticket.lat,
                  Ticket.lon, Ticket.description, Ticket.address, Ticket.reporter_name,
                  Ticket.reporter_phone, Ticket.street_id, Ticket.community_id,
                  Ticket.department_id, _Grid.code.label("grid_code"))


def open_near_statement(*, item_code: str, lat: float, lon: float, box: Box,
                        since: datetime, scope: ColumnElement[bool],
                        exclude_id: int | None = None) -> Select:
    """Open tickets of ``item_code`` posted since ``since`` inside the box around a point
    and inside ``scope``."""
    stmt = (
        select(*NEARBY_COLUMNS)
        .join(_Grid, _Grid.id == Ticket.grid_id)
        .where(Ticket.item_code == item_code,
               Ticket.lat.between(lat - box.d_lat, lat + box.d_lat),
               Ticket.lon.between(lon - box.d_lon, lon + box.d_lon),
               Ticket.created_at >= since,
               open_with_location(Ticket), scope)
        # Roughly nearest first (a degree of longitude is shorter than one of latitude),
        # so that a crowded box still keeps the nearest under the cap.
        .order_by(func.abs(Ticket.lat - lat) + func.abs(Ticket.lon - lon) * box.d_lat / box.d_lon)
        .limit(MAX_CANDIDATES)
    )
    if exclude_id is not None:
        stmt = stmt.where(Ticket.id != exclude_id)
    return stmt


async def open_near(session: AsyncSession, **criteria: Any) -> Sequence[Row]:
    """What ``open_near_statement(**criteria)`` selects (one statement)."""
    return (await session.execute(open_near_statement(**criteria))).all()


def open_located_statement(*, scope: ColumnElement[bool], within: ColumnElement[bool],
                           item_code: str | None, cap: int) -> Select:
    """Every open ticket with a location inside ``scope`` and ``within`` (a jurisdiction
    filter, or true), in the index's order (item, then latitude): what a sweep over
    latitude bands pairs up in Python. One read of the open tickets (never of closed
    history), whose cost does not depend on how the planner would join them to themselves."""
    stmt = (
        select(Ticket.id, Ticket.item_code, Ticket.lat, Ticket.lon, Ticket.created_at)
        .where(open_with_location(Ticket), scope, within)
        .order_by(Ticket.item_code, Ticket.lat, Ticket.lon, Ticket.created_at)
        .limit(cap)
    )
    if item_code is not None:
        stmt = stmt.where(Ticket.item_code == item_code)
    return stmt


async def open_located(session: AsyncSession, **criteria: Any) -> Sequence[Row]:
    return (await session.execute(open_located_statement(**criteria))).all()
