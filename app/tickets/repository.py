"""The SQL of the tickets domain. Statements on the posting hot path are built once."""

from __future__ import annotations

import base64
import binascii
import functools
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, String, cast, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement

from app.attachments.models import Attachment
from app.db import driver_statement, insert_for, run_on_driver, runs_on_driver
from app.errors import InvalidInput
from app.ids import MAX_ID
from app.jurisdiction.models import Department, Jurisdiction
from app.matrix.models import MatrixItem
from app.messages import M
from app.tickets.models import IdempotencyRecord, Ticket, ticket_number

GridNode = aliased(Jurisdiction, name="grid_node")
CommunityNode = aliased(Jurisdiction, name="community_node")
StreetNode = aliased(Jurisdiction, name="street_node")

# Core, not ORM-enabled, inserts: nothing to track in the session, less work per post.
INSERT_TICKET = insert(Ticket.__table__).returning(Ticket.__table__.c.id)


@dataclass(frozen=True, slots=True)
class TicketView:
    """A ticket with the codes and names its API representation shows."""

    ticket: Ticket
    grid_code: str
    community_code: str
    street_code: str
    department_code: str | None
    item_name: str
    attachment_ids: tuple[int, ...] = ()


def view_select() -> Select:
    return (
        select(Ticket, GridNode.code, CommunityNode.code, StreetNode.code, Department.code,
               MatrixItem.name)
        .join(GridNode, GridNode.id == Ticket.grid_id)
        .join(CommunityNode, CommunityNode.id == Ticket.community_id)
        .join(StreetNode, StreetNode.id == Ticket.street_id)
        .outerjoin(Department, Department.id == Ticket.department_id)
        .join(MatrixItem, MatrixItem.id == Ticket.item_id)
    )


async def load_views(session: AsyncSession, stmt: Select,
                     known_attachments: dict[int, list[int]] | None = None) -> list[TicketView]:
    """The views of the tickets ``stmt`` selects; ``known_attachments`` (ticket id → ids)
    when the caller knows them, saving their query."""
    rows = (await session.execute(stmt)).all()
    ids = [row[0].id for row in rows]
    attachments: dict[int, list[int]] = dict(known_attachments or {})
    if ids and known_attachments is None:
        found = await session.execute(
            select(Attachment.ticket_id, Attachment.id)
            .where(Attachment.ticket_id.in_(ids))
            .order_by(Attachment.id)
        )
        for ticket_id, attachment_id in found:
            if ticket_id is not None:  # never None (IN above): for the type
                attachments.setdefault(ticket_id, []).append(attachment_id)
    return [
        TicketView(row[0], row[1], row[2], row[3], row[4], row[5],
                   tuple(attachments.get(row[0].id, ())))
        for row in rows
    ]


TICKETS = Ticket.__table__
_FIELDS = tuple(c.name for c in TICKETS.c)


# Its fields are Ticket's columns, known only at import: to the type checker the base is
# Any, so a record stands where a Ticket is expected, as it does at run time.
if TYPE_CHECKING:
    _Record = Any
else:
    _Record = namedtuple("TicketRecord", _FIELDS)


class TicketRecord(_Record):
    """A ticket's columns as read by the hot reads (``read_views``): what an ORM ``Ticket``
    shows, attribute for attribute, without its identity map and instrumentation."""

    __slots__ = ()

    @property
    def number(self) -> str:
        return ticket_number(self.id, self.created_at)


def _attachment_list(dialect_name: str) -> ColumnElement[str]:
    """The ticket's attachment ids as one text value ("3,5"), so the view is one query."""
    a = Attachment.__table__
    ids = select(a.c.id).where(a.c.ticket_id == TICKETS.c.id).correlate(TICKETS)
    if dialect_name == "postgresql":
        agg = func.string_agg(cast(a.c.id, String), ",")
    else:
        agg = func.group_concat(a.c.id)
    return ids.with_only_columns(agg).scalar_subquery()


@functools.cache
def _view_columns(dialect_name: str) -> Select:
    """The hot reads' statement: the ticket's columns, the codes and names its
    representation shows, and its attachments — one round trip, no ORM entities."""
    grid, community, street = (Jurisdiction.__table__.alias(n)
                               for n in ("grid_node", "community_node", "street_node"))
    departments, items = Department.__table__, MatrixItem.__table__
    return (
        select(*TICKETS.c, grid.c.code, community.c.code, street.c.code, departments.c.code,
               items.c.name, _attachment_list(dialect_name))
        .select_from(TICKETS)
        .join(grid, grid.c.id == TICKETS.c.grid_id)
        .join(community, community.c.id == TICKETS.c.community_id)
        .join(street, street.c.id == TICKETS.c.street_id)
        .outerjoin(departments, departments.c.id == TICKETS.c.department_id)
        .join(items, items.c.id == TICKETS.c.item_id)
    )


def view_statement(session: AsyncSession, *where: ColumnElement[bool]) -> Select:
    """The hot reads' statement for the tickets ``where`` selects (add order and limit)."""
    return _view_columns(session.get_bind().dialect.name).where(*where)


def _view(row: Any) -> TicketView:
    n = len(_FIELDS)
    return TicketView(TicketRecord(*row[:n]), row[n], row[n + 1], row[n + 2], row[n + 3],
                      row[n + 4], tuple(sorted(int(i) for i in row[n + 5].split(",")))
                      if row[n + 5] else ())


async def read_views(session: AsyncSession, stmt: Select,
                     params: dict[str, Any] | None = None) -> list[TicketView]:
    """The views a ``view_statement`` selects, read in one round trip."""
    return [_view(row) for row in (await session.execute(stmt, params or {})).all()]


async def read_views_compiled(session: AsyncSession, key: tuple, build: Callable[[], Select],
                              params: dict[str, Any]) -> list[TicketView]:
    """``read_views(session, build(), params)``, with the statement compiled once per
    ``key`` and run straight on asyncpg (``app.db.run_on_driver``): the same rows without
    SQLAlchemy's execution layer (building the statement, its cache key, its result
    processing), which cost GET one ticket more than PostgreSQL's work. ``key`` must name
    everything ``build`` writes into the statement but ``params`` (bound by name). With
    another driver (SQLite), through the session."""
    if not runs_on_driver(session):
        return await read_views(session, build(), params)
    statement = driver_statement(session, ("ticket_views", *key), build)
    return [_view(row) for row in await run_on_driver(session, statement, params)]


def scope_key(actor: Any) -> tuple:
    """What ``ticket_scope_clause`` reads of an actor: a compiled read's key part."""
    return (actor.kind, actor.id, actor.role, actor.jurisdiction_id, actor.scope_level,
            actor.department_id, actor.grid_ids)


async def insert_ticket(session: AsyncSession, values: dict[str, Any]) -> int:
    return (await session.execute(INSERT_TICKET, values)).scalar_one()


async def claim_idempotency_key(session: AsyncSession, *, owner: str, key: str,
                                request_hash: str, at: datetime) -> bool:
    """Insert the key; False when it already exists. On PostgreSQL a concurrent twin
    waits here on the unique index until the first transaction commits, then sees it."""
    stmt = (
        insert_for(session)(IdempotencyRecord)
        .values(owner=owner, key=key, request_hash=request_hash, created_at=at)
        .on_conflict_do_nothing(index_elements=["owner", "key"])
        .returning(IdempotencyRecord.id)
    )
    return (await session.execute(stmt)).first() is not None


async def find_idempotency_record(session: AsyncSession, *, owner: str,
                                  key: str) -> IdempotencyRecord | None:
    return (
        await session.execute(
            select(IdempotencyRecord).where(IdempotencyRecord.owner == owner,
                                            IdempotencyRecord.key == key)
        )
    ).scalar_one_or_none()


async def bind_idempotency_key(session: AsyncSession, *, owner: str, key: str,
                               ticket_id: int) -> None:
    await session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.owner == owner, IdempotencyRecord.key == key)
        .values(ticket_id=ticket_id)
    )


async def link_attachments(session: AsyncSession, *, attachment_ids: list[int],
                           uploader: tuple[int | None, int | None], ticket_id: int,
                           event_id: int | None) -> None:
    """Attach the uploader's unlinked attachments; any id that is not one is a 422."""
    if not attachment_ids:
        return
    user_id, api_key_id = uploader
    owner_clause = (Attachment.uploaded_by_user_id == user_id if user_id is not None
                    else Attachment.uploaded_by_api_key_id == api_key_id)
    linked = (
        await session.execute(
            update(Attachment)
            .where(Attachment.id.in_(attachment_ids), Attachment.ticket_id.is_(None), owner_clause)
            .values(ticket_id=ticket_id, event_id=event_id)
            .returning(Attachment.id)
        )
    ).scalars().all()
    missing = [i for i, a in enumerate(attachment_ids) if a not in set(linked)]
    if missing:
        raise InvalidInput(
            M("error.attachment_unusable"),
            errors=[{"loc": ["body", "attachments", i],
                     "msg": M("error.no_unused_attachment", id=attachment_ids[i]),
                     "type": "value_error"} for i in missing],
        )


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"t:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        if kind != "t" or not 0 < int(value) <= MAX_ID:
            raise ValueError
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput.at(["query", "cursor"], M("error.bad_cursor")) from exc


async def node_by_code(session: AsyncSession, code: str) -> Jurisdiction | None:
    return (
        await session.execute(select(Jurisdiction).where(Jurisdiction.code == code))
    ).scalar_one_or_none()
