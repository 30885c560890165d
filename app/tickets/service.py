"""Reading and listing tickets and queues. Posting and workflow actions are orchestration:
``app.workflow.posting`` and ``app.workflow.actions``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.models import Role
from app.auth.scope import ticket_scope_clause
from app.errors import InvalidInput, NotFound
from app.jurisdiction.repository import department_by_code
from app.messages import M
from app.tickets import repository as repo
from app.tickets.models import OPEN_STATUSES, Ticket, TicketEvent
from app.tickets.queue_order import queue_order as in_queue_order
from app.tickets.repository import TicketView

MAX_PAGE = 200


_TICKET_ID = bindparam("ticket_id", 0, type_=Ticket.__table__.c.id.type)
_BEFORE = bindparam("before", 0, type_=Ticket.__table__.c.id.type)


async def get_ticket(*, session: AsyncSession, actor: Actor, ticket_id: int) -> TicketView:
    views = await repo.read_views_compiled(
        session, ("ticket", *repo.scope_key(actor)),
        lambda: repo.view_statement(session, Ticket.id == _TICKET_ID,
                                    ticket_scope_clause(actor, Ticket)),
        {"ticket_id": ticket_id})
    if not views:
        raise NotFound(M("error.no_ticket", id=ticket_id))
    return views[0]


async def list_events(*, session: AsyncSession, actor: Actor, ticket_id: int) -> list[TicketEvent]:
    await get_ticket(session=session, actor=actor, ticket_id=ticket_id)  # scope check
    rows = await session.execute(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
    )
    return list(rows.scalars())


@dataclass(frozen=True, slots=True)
class TicketFilter:
    statuses: tuple[str, ...] = ()
    open_only: bool = False
    jurisdiction: str | None = None
    department: str | None = None
    category: str | None = None
    item: str | None = None
    urgency: str | None = None
    source: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    sla_state: str | None = None


def _page(session: AsyncSession, clauses: list[ColumnElement[bool]], after_cursor: bool,
          limit: int) -> Select:
    if after_cursor:
        clauses = [*clauses, Ticket.id < _BEFORE]
    return (repo.view_statement(session, and_(*clauses)).order_by(Ticket.id.desc())
            .limit(limit + 1))


def _value_clauses(f: TicketFilter) -> list[ColumnElement[bool]]:
    """The filters that are values, not codes to look up."""
    clauses: list[ColumnElement[bool]] = []
    if f.statuses:
        clauses.append(Ticket.status.in_(f.statuses))
    if f.open_only:
        clauses.append(Ticket.status.in_(OPEN_STATUSES))
    for value, column in ((f.category, Ticket.category_code), (f.item, Ticket.item_code),
                          (f.urgency, Ticket.urgency), (f.source, Ticket.source),
                          (f.sla_state, Ticket.sla_state)):
        if value:
            clauses.append(column == value)
    if f.created_from:
        clauses.append(Ticket.created_at >= f.created_from)
    if f.created_to:
        clauses.append(Ticket.created_at < f.created_to)
    return clauses


async def _filter_clauses(session: AsyncSession, f: TicketFilter) -> list[ColumnElement[bool]]:
    clauses = _value_clauses(f)
    if f.jurisdiction:
        node = await repo.node_by_code(session, f.jurisdiction)
        if node is None:
            raise InvalidInput.at(["query", "jurisdiction"],
                                  M("error.no_jurisdiction", code=f.jurisdiction))
        node_column = {"street": Ticket.street_id, "community": Ticket.community_id,
                       "grid": Ticket.grid_id}[node.level]
        clauses.append(node_column == node.id)
    if f.department:
        dept = await department_by_code(session, f.department)
        if dept is None:
            raise InvalidInput.at(["query", "department"],
                                  M("error.no_department", code=f.department))
        clauses.append(Ticket.department_id == dept.id)
    return clauses


async def list_tickets(*, session: AsyncSession, actor: Actor, filters: TicketFilter,
                       limit: int, cursor: str | None) -> tuple[list[TicketView], str | None]:
    """Newest first, keyset-paginated by id; only what the actor may see."""
    params = {"before": repo.decode_cursor(cursor)} if cursor else {}
    if filters.jurisdiction is None and filters.department is None:
        # Filters of values only (no code to look up): the page's statement is a function
        # of the actor's scope, the filters and the limit, compiled once for them.
        def build() -> Select:
            return _page(session, [ticket_scope_clause(actor, Ticket),
                                   *_value_clauses(filters)], bool(cursor), limit)

        views = await repo.read_views_compiled(
            session, ("page", *repo.scope_key(actor), filters, bool(cursor), limit), build,
            params)
    else:
        clauses = [ticket_scope_clause(actor, Ticket), *await _filter_clauses(session, filters)]
        views = await repo.read_views(session, _page(session, clauses, bool(cursor), limit),
                                      params)
    more = len(views) > limit
    views = views[:limit]
    return views, (repo.encode_cursor(views[-1].ticket.id) if more and views else None)


QUEUE_STATUSES = ("dispatched", "claimed", "in_progress", "rework", "suspended")


def queue_order(stmt: Select) -> Select:
    """The one queue order (``app.tickets.queue_order``), which claim-next follows too."""
    return stmt.order_by(*in_queue_order(Ticket.__table__))


async def department_queue(*, session: AsyncSession, actor: Actor, department_code: str,
                           statuses: tuple[str, ...], limit: int) -> list[TicketView]:
    dept = await department_by_code(session, department_code)
    if dept is None or not _may_read_department(actor, dept.id):
        raise NotFound(M("error.no_department", code=department_code))
    def build() -> Select:
        return queue_order(repo.view_statement(
            session,
            Ticket.department_id == dept.id,
            Ticket.status.in_(statuses or QUEUE_STATUSES),
            ticket_scope_clause(actor, Ticket),
        )).limit(limit)

    return await repo.read_views_compiled(
        session, ("department_queue", *repo.scope_key(actor), dept.id, statuses, limit), build,
        {})


def _may_read_department(actor: Actor, department_id: int) -> bool:
    if actor.role in (Role.department_staff, Role.department_lead):
        return actor.department_id == department_id
    return actor.role in (Role.admin, Role.street_dispatcher, Role.supervisor)


async def jurisdiction_queue(*, session: AsyncSession, actor: Actor, code: str,
                             statuses: tuple[str, ...], limit: int) -> list[TicketView]:
    """The queue of a community or a grid: tickets held at that level in that node."""
    node = await repo.node_by_code(session, code)
    if node is None or node.level == "street" or not await _node_in_scope(session, actor, node.id):
        raise NotFound(M("error.no_community_or_grid", code=code))
    column = Ticket.community_id if node.level == "community" else Ticket.grid_id
    stmt = repo.view_statement(
        session,
        column == node.id,
        Ticket.level == node.level,
        Ticket.status.in_(statuses or (*QUEUE_STATUSES, "returned", "self_handling")),
        Ticket.awaiting_triage.is_(False),  # 待分拨: in the triage queue until routed
        ticket_scope_clause(actor, Ticket),
    )
    return await repo.read_views(session, queue_order(stmt).limit(limit))


async def _node_in_scope(session: AsyncSession, actor: Actor, node_id: int) -> bool:
    from app.jurisdiction.models import Jurisdiction  # local: only for this rare check

    if actor.role is Role.admin:
        return True
    if actor.role is Role.grid_worker:
        return node_id in actor.grid_ids
    if actor.jurisdiction_id is None:
        return False
    row = await session.execute(
        select(Jurisdiction.id).where(
            Jurisdiction.id == node_id,
            or_(Jurisdiction.id == actor.jurisdiction_id,
                Jurisdiction.parent_id == actor.jurisdiction_id,
                Jurisdiction.community_id == actor.jurisdiction_id,
                Jurisdiction.street_id == actor.jurisdiction_id),
        )
    )
    return row.first() is not None
