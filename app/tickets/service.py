"""Posting, reading and listing tickets. Workflow actions live in ``tickets.workflow``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.models import Role
from app.auth.scope import can_post_in_grid, ticket_scope_clause
from app.errors import IdempotencyKeyReused, InvalidInput, NotFound
from app.reports.facts import reporting_day
from app.sla import service as sla
from app.sla.dialect import is_postgres
from app.suggest.posting import pick_item
from app.tickets import posting
from app.tickets import repository as repo
from app.tickets.events import Event, actor_columns, after_event, record_event
from app.tickets.lookups import GridRef, Lookups
from app.tickets.models import OPEN_STATUSES, Source, Ticket, TicketEvent
from app.tickets.repository import TicketView
from app.tickets.routing import route
from app.tickets.schemas import TicketCreate

MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class Posted:
    view: TicketView
    created: bool  # False when an Idempotency-Key retry returned the first ticket


def request_hash(data: TicketCreate) -> str:
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _resolve_grid(*, session: AsyncSession, lookups: Lookups, actor: Actor,
                        data: TicketCreate) -> GridRef:
    if data.grid is not None:
        grid = await lookups.grid_by_code(session, data.grid)
        if grid is None or not can_post_in_grid(actor, grid):
            raise InvalidInput.at(["body", "grid"], f"no grid {data.grid!r} in your scope")
        return grid
    assert data.location is not None  # the schema requires one of the two
    grid = await lookups.locate(session, data.location.lat, data.location.lon)
    if grid is None:
        raise InvalidInput.at(["body", "location"],
                              "the location is not inside any grid", "outside_every_grid")
    if not can_post_in_grid(actor, grid):
        raise InvalidInput.at(["body", "location"],
                              f"the location is in grid {grid.code}, outside your scope")
    return grid


def _source_for(actor: Actor, data: TicketCreate) -> Source:
    if actor.role is Role.integration:
        if data.source in (None, Source.grid_worker):
            return Source.hotline if data.source is None else Source.resident
        return data.source
    return Source.grid_worker if actor.role is Role.grid_worker else Source.hotline


async def post_ticket(
    *,
    session: AsyncSession,
    lookups: Lookups,
    actor: Actor,
    data: TicketCreate,
    idempotency_key: str | None,
    now: datetime,
    source: Source | None = None,
) -> Posted:
    """Route a new issue by the current matrix and queue it, once per Idempotency-Key."""
    if idempotency_key is not None:
        digest = request_hash(data)
        fresh = await repo.claim_idempotency_key(session, owner=actor.owner_key,
                                                 key=idempotency_key, request_hash=digest, at=now)
        if not fresh:
            return Posted(await _replay(session, actor, idempotency_key, digest), created=False)

    grid = await _resolve_grid(session=session, lookups=lookups, actor=actor, data=data)
    # Every lookup before the first write: nothing may wait once rows are locked.
    community_code, street_code = await lookups.codes_above(session, grid)
    by_text = None if data.item is not None else await pick_item(  # 智能分拨: no item given
        session=session, lookups=lookups, text=data.description, self_handle=data.self_handle)
    found = await lookups.current_item(session, by_text.item_code if by_text else data.item)
    if found is None:
        raise InvalidInput.at(["body", "item"], f"no item {data.item!r} in the current matrix")
    version_id, item = found
    routing = route(item, self_handle=data.self_handle,
                    may_self_handle=actor.role is Role.grid_worker)
    if by_text is not None:
        routing = by_text.routing(routing)
    department_id = None
    if routing.department_code is not None:
        department_id = await lookups.department_id(session, routing.department_code)
    deadlines = await sla.deadlines_for_posting(
        session, street_id=grid.street_id, item=item, urgency=data.urgency.value,
        level=routing.level, status=routing.status.value, now=now)

    values = {
        "matrix_version_id": version_id,
        "item_id": item.id,
        "item_code": item.code,
        "category_code": item.category_code,
        "street_id": grid.street_id,
        "community_id": grid.community_id,
        "grid_id": grid.id,
        "level": routing.level,
        "department_id": department_id,
        "status": routing.status.value,
        "urgency": data.urgency.value,
        "source": (source or _source_for(actor, data)).value,
        "description": data.description,
        "address": data.address,
        "lat": data.location.lat if data.location else None,
        "lon": data.location.lon if data.location else None,
        "reporter_name": data.reporter.name if data.reporter else None,
        "reporter_phone": data.reporter.phone if data.reporter else None,
        "self_handle": data.self_handle,
        "routing_reason": routing.reason,
        "created_by_user_id": actor.user_id,
        "created_by_api_key_id": actor.api_key_id,
        "assignee_id": actor.user_id if data.self_handle else None,
        "rework_count": 0,
        "return_count": 0,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        **deadlines.ticket_values(now),
    }
    ticket_id, event_id = await _write_posted(
        session, actor=actor, values=values, deadlines=deadlines, now=now,
        event_data={"level": routing.level, "department": routing.department_code,
                    "item": item.code, "matrix_version": version_id, "reason": routing.reason,
                    **({"suggestion": by_text.event_data()} if by_text else {})})
    await repo.link_attachments(session, attachment_ids=data.attachments,
                                uploader=(actor.user_id, actor.api_key_id),
                                ticket_id=ticket_id, event_id=event_id)
    if idempotency_key is not None:
        await repo.bind_idempotency_key(session, owner=actor.owner_key, key=idempotency_key,
                                        ticket_id=ticket_id)
    # The response is built from what was written (a new ticket's attachments are exactly
    # those just linked: any other id was a 422), not read back.
    view = TicketView(Ticket(id=ticket_id, **values), grid.code, community_code, street_code,
                      routing.department_code, item.name, tuple(sorted(set(data.attachments))))
    return Posted(view, created=True)


async def _write_posted(session: AsyncSession, *, actor: Actor, values: dict[str, Any],
                        deadlines: sla.Deadlines, now: datetime,
                        event_data: dict[str, Any]) -> tuple[int, int]:
    """The ticket, its SLA clock, its ``created`` event and the hooks; the ticket's and the
    event's ids. One statement on PostgreSQL (``app.tickets.posting``), which also adds
    the posting counts to the rollups (the reports hook's work)."""
    if is_postgres(session):
        event = {"kind": "created", "from_status": None, "to_status": values["status"],
                 **actor_columns(actor), "data": event_data, "created_at": now}
        row = await posting.insert_posted(session, ticket=values,
                                          clock=deadlines.clock_values(), event=event,
                                          day=reporting_day(now))
        await after_event(session, Event(row.event_id, row.id, "created", event_data, now,
                                         ticket=row, subscribed=row.subscribed),
                          done=frozenset({"reports"}))
        return row.id, row.event_id
    ticket_id = await repo.insert_ticket(session, values)
    await sla.insert_clock(session, ticket_id=ticket_id, deadlines=deadlines)
    event_id = await record_event(session, ticket_id=ticket_id, kind="created", actor=actor,
                                  at=now, to_status=values["status"], data=event_data)
    return ticket_id, event_id


async def _replay(session: AsyncSession, actor: Actor, key: str, digest: str) -> TicketView:
    record = await repo.find_idempotency_record(session, owner=actor.owner_key, key=key)
    if record is None or record.ticket_id is None:
        raise RuntimeError("idempotency record vanished")  # cannot happen: same transaction
    if record.request_hash != digest:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was first used with a different request body",
            errors=[{"loc": ["header", "Idempotency-Key"],
                     "msg": "already used with a different request body", "type": "reused"}],
        )
    view = await repo.get_view(session, record.ticket_id, ticket_scope_clause(actor, Ticket))
    if view is None:
        raise NotFound("the ticket created with this key is no longer visible to you")
    return view


async def get_ticket(*, session: AsyncSession, actor: Actor, ticket_id: int) -> TicketView:
    view = await repo.get_view(session, ticket_id, ticket_scope_clause(actor, Ticket))
    if view is None:
        raise NotFound(f"no ticket {ticket_id}")
    return view


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


async def _filter_clauses(session: AsyncSession, f: TicketFilter) -> list:
    clauses = []
    if f.statuses:
        clauses.append(Ticket.status.in_(f.statuses))
    if f.open_only:
        clauses.append(Ticket.status.in_(OPEN_STATUSES))
    if f.jurisdiction:
        node = await repo.node_by_code(session, f.jurisdiction)
        if node is None:
            raise InvalidInput.at(["query", "jurisdiction"], f"no jurisdiction {f.jurisdiction!r}")
        column = {"street": Ticket.street_id, "community": Ticket.community_id,
                  "grid": Ticket.grid_id}[node.level]
        clauses.append(column == node.id)
    if f.department:
        dept = await repo.department_by_code(session, f.department)
        if dept is None:
            raise InvalidInput.at(["query", "department"], f"no department {f.department!r}")
        clauses.append(Ticket.department_id == dept.id)
    for value, column in ((f.category, Ticket.category_code), (f.item, Ticket.item_code),
                          (f.urgency, Ticket.urgency), (f.source, Ticket.source)):
        if value:
            clauses.append(column == value)
    if f.created_from:
        clauses.append(Ticket.created_at >= f.created_from)
    if f.created_to:
        clauses.append(Ticket.created_at < f.created_to)
    return clauses


async def list_tickets(*, session: AsyncSession, actor: Actor, filters: TicketFilter,
                       limit: int, cursor: str | None) -> tuple[list[TicketView], str | None]:
    """Newest first, keyset-paginated by id; only what the actor may see."""
    clauses = [ticket_scope_clause(actor, Ticket), *await _filter_clauses(session, filters)]
    if cursor:
        clauses.append(Ticket.id < repo.decode_cursor(cursor))
    stmt = repo.view_select().where(and_(*clauses)).order_by(Ticket.id.desc()).limit(limit + 1)
    views = await repo.load_views(session, stmt)
    more = len(views) > limit
    views = views[:limit]
    return views, (repo.encode_cursor(views[-1].ticket.id) if more and views else None)


QUEUE_STATUSES = ("dispatched", "claimed", "in_progress", "rework", "suspended")


def queue_order(stmt: Select) -> Select:
    """Most urgent first, then the nearest deadline, then the oldest."""
    return stmt.order_by(
        (Ticket.urgency == "urgent").desc(),
        Ticket.resolve_due_at.is_(None),
        Ticket.resolve_due_at,
        Ticket.id,
    )


async def department_queue(*, session: AsyncSession, actor: Actor, department_code: str,
                           statuses: tuple[str, ...], limit: int) -> list[TicketView]:
    dept = await repo.department_by_code(session, department_code)
    if dept is None or not _may_read_department(actor, dept.id):
        raise NotFound(f"no department {department_code!r}")
    stmt = repo.view_select().where(
        Ticket.department_id == dept.id,
        Ticket.status.in_(statuses or QUEUE_STATUSES),
        ticket_scope_clause(actor, Ticket),
    )
    return await repo.load_views(session, queue_order(stmt).limit(limit))


def _may_read_department(actor: Actor, department_id: int) -> bool:
    if actor.role in (Role.department_staff, Role.department_lead):
        return actor.department_id == department_id
    return actor.role in (Role.admin, Role.street_dispatcher, Role.supervisor)


async def jurisdiction_queue(*, session: AsyncSession, actor: Actor, code: str,
                             statuses: tuple[str, ...], limit: int) -> list[TicketView]:
    """The queue of a community or a grid: tickets held at that level in that node."""
    node = await repo.node_by_code(session, code)
    if node is None or node.level == "street" or not await _node_in_scope(session, actor, node.id):
        raise NotFound(f"no community or grid {code!r}")
    column = Ticket.community_id if node.level == "community" else Ticket.grid_id
    stmt = repo.view_select().where(
        column == node.id,
        Ticket.level == node.level,
        Ticket.status.in_(statuses or (*QUEUE_STATUSES, "returned", "self_handling")),
        ticket_scope_clause(actor, Ticket),
    )
    return await repo.load_views(session, queue_order(stmt).limit(limit))


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
