"""Posting a ticket (上报): route a new issue by the current matrix and queue it, with its
SLA clock, its ``created`` event and the after-event pipeline, once per Idempotency-Key.

Orchestration: it reads the matrix and the tree, computes deadlines (``app.sla``) and counts
the ticket in the reports (``app.reports``: through the pipeline, or on PostgreSQL by the
report facts step run last, after the one statement of ``app.workflow.posting_statement``
and the delivery steps).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.models import Role
from app.auth.scope import can_post_in_grid, ticket_scope_clause
from app.config import Settings
from app.db import is_postgres
from app.duplicates.service import Nearby, possible_duplicates
from app.errors import IdempotencyKeyReused, InvalidInput, NotFound
from app.messages import M
from app.reports.facts_step import keep_report_facts
from app.sla import service as sla
from app.suggest.posting import TextPick, pick_item
from app.tickets import repository as repo
from app.tickets.events import Event, actor_columns, pipeline_of, record_event
from app.tickets.lookups import GridRef, Lookups
from app.tickets.models import Source, Ticket
from app.tickets.repository import TicketView
from app.tickets.routing import route
from app.tickets.schemas import TicketCreate
from app.workflow import posting_statement as posting


@dataclass(frozen=True, slots=True)
class Posted:
    view: TicketView
    created: bool  # False when an Idempotency-Key retry returned the first ticket
    possible_duplicates: list[Nearby] = field(default_factory=list)  # 疑似重复, nearest first


def request_hash(data: TicketCreate) -> str:
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _resolve_grid(*, session: AsyncSession, lookups: Lookups, actor: Actor,
                        data: TicketCreate) -> GridRef:
    if data.grid is not None:
        grid = await lookups.grid_by_code(session, data.grid)
        if grid is None or not can_post_in_grid(actor, grid):
            raise InvalidInput.at(["body", "grid"], M("error.grid_not_in_scope", code=data.grid))
        return grid
    assert data.location is not None  # the schema requires one of the two
    grid = await lookups.locate(session, data.location.lat, data.location.lon)
    if grid is None:
        raise InvalidInput.at(["body", "location"],
                              M("error.outside_every_grid"), "outside_every_grid")
    if not can_post_in_grid(actor, grid):
        raise InvalidInput.at(["body", "location"],
                              M("error.location_outside_scope", code=grid.code))
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
    settings: Settings,
    source: Source | None = None,
) -> Posted:
    """Route a new issue by the current matrix and queue it, once per Idempotency-Key.

    On PostgreSQL the key's record is written by posting's one statement
    (``app.workflow.posting_statement``), which writes nothing when the key was used; on
    SQLite the key is claimed first and bound to the ticket after."""
    # (key, digest of the request) when the post has an Idempotency-Key
    keyed = None if idempotency_key is None else (idempotency_key, request_hash(data))
    keyed_statement = keyed is not None and is_postgres(session)
    if keyed is not None and not keyed_statement:
        fresh = await repo.claim_idempotency_key(session, owner=actor.owner_key, key=keyed[0],
                                                 request_hash=keyed[1], at=now)
        if not fresh:
            return await _replayed(session, actor, *keyed, now, settings)
    try:
        new = await _route_new(session=session, lookups=lookups, actor=actor, data=data,
                               now=now, settings=settings, source=source)
    except InvalidInput:
        # A retry is answered with the first ticket even if the body no longer routes
        # (the matrix changed since), as when the key was claimed before routing.
        if keyed_statement and keyed is not None and await repo.find_idempotency_record(
                session, owner=actor.owner_key, key=keyed[0]) is not None:
            return await _replayed(session, actor, *keyed, now, settings)
        raise
    # Before the write, so that the lookup holds no lock yet.
    nearby = await _nearby(session, actor, new.values["item_code"], new.values["lat"],
                           new.values["lon"], now, settings)
    written = await _write_posted(
        session, actor=actor, values=new.values, deadlines=new.deadlines, now=now,
        event_data=new.event_data,
        idempotency=None if not keyed_statement or keyed is None else {
            "owner": actor.owner_key, "key": keyed[0], "request_hash": keyed[1],
            "created_at": now})
    if written is None:  # the key was used: nothing was written
        assert keyed is not None  # nothing is written only under a key
        return await _replayed(session, actor, *keyed, now, settings)
    ticket_id, event_id = written
    await repo.link_attachments(session, attachment_ids=data.attachments,
                                uploader=(actor.user_id, actor.api_key_id),
                                ticket_id=ticket_id, event_id=event_id)
    if keyed is not None and not keyed_statement:
        await repo.bind_idempotency_key(session, owner=actor.owner_key, key=keyed[0],
                                        ticket_id=ticket_id)
    # The response is built from what was written (a new ticket's attachments are exactly
    # those just linked: any other id was a 422), not read back.
    view = TicketView(Ticket(id=ticket_id, **new.values), new.grid.code, new.community_code,
                      new.street_code, new.department_code, new.item_name,
                      tuple(sorted(set(data.attachments))))
    return Posted(view, created=True, possible_duplicates=nearby)


@dataclass(frozen=True, slots=True)
class _NewTicket:
    """A routed post: the ticket's columns, its deadlines and what its event and its view
    show."""

    values: dict[str, Any]
    deadlines: sla.Deadlines
    event_data: dict[str, Any]
    grid: GridRef
    community_code: str
    street_code: str
    department_code: str | None
    item_name: str


async def _route_new(*, session: AsyncSession, lookups: Lookups, actor: Actor,
                     data: TicketCreate, now: datetime, settings: Settings,
                     source: Source | None) -> _NewTicket:
    """Route the post by the current matrix and compute its deadlines; no writes."""
    grid = await _resolve_grid(session=session, lookups=lookups, actor=actor, data=data)
    # Every lookup before the first write: nothing may wait once rows are locked.
    community_code, street_code = await lookups.codes_above(session, grid)
    by_text: TextPick | None = None
    code = data.item
    if code is None:  # 智能分拨: no item given
        # The text alone decides: a post routed with no person looking must not hinge on
        # what its grid usually reports (context re-ranks the suggestions people see).
        by_text = await pick_item(session=session, lookups=lookups, text=data.description,
                                  self_handle=data.self_handle, now=now)
        code = by_text.item_code
    found = await lookups.current_item(session, code)
    if found is None:
        raise InvalidInput.at(["body", "item"], M("error.no_item", code=data.item))
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
        level=routing.level, status=routing.status.value, now=now, settings=settings)

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
        "awaiting_triage": by_text is not None and not by_text.confident,
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
    event_data = {"level": routing.level, "department": routing.department_code,
                  "item": item.code, "matrix_version": version_id, "reason": routing.reason,
                  **({"suggestion": by_text.event_data()} if by_text else {})}
    return _NewTicket(values, deadlines, event_data, grid, community_code, street_code,
                      routing.department_code, item.name)


async def _replayed(session: AsyncSession, actor: Actor, key: str, digest: str,
                    now: datetime, settings: Settings) -> Posted:
    """A retry's answer: the first ticket, and its possible duplicates as of now."""
    view = await _replay(session, actor, key, digest)
    return Posted(view, created=False, possible_duplicates=await _nearby(
        session, actor, view.ticket.item_code, view.ticket.lat, view.ticket.lon, now,
        settings, exclude_id=view.ticket.id))


async def _nearby(session: AsyncSession, actor: Actor, item_code: str, lat: float | None,
                  lon: float | None, now: datetime, settings: Settings,
                  exclude_id: int | None = None) -> list[Nearby]:
    """Possible duplicates of a post (``app.duplicates``): one query, only when the post
    has a location, run before the ticket is written so that it holds no lock yet."""
    if lat is None or lon is None:
        return []
    return await possible_duplicates(session=session, actor=actor, item_code=item_code,
                                     lat=lat, lon=lon, now=now, settings=settings,
                                     exclude_id=exclude_id)


async def _write_posted(session: AsyncSession, *, actor: Actor, values: dict[str, Any],
                        deadlines: sla.Deadlines, now: datetime, event_data: dict[str, Any],
                        idempotency: dict[str, Any] | None = None) -> tuple[int, int] | None:
    """The ticket, its SLA clock, its ``created`` event and the after-event pipeline; the
    ticket's and the event's ids. One statement on PostgreSQL (``app.workflow.posting_statement``),
    which with ``idempotency`` writes the key's record first (None when the key was used),
    then the delivery steps, then the posting counts (the report facts step)."""
    if is_postgres(session):
        event = {"kind": "created", "from_status": None, "to_status": values["status"],
                 **actor_columns(actor), "data": event_data, "created_at": now}
        row = await posting.insert_posted(session, ticket=values,
                                          clock=deadlines.clock_values(), event=event,
                                          idempotency=idempotency)
        if row is None:
            return None
        # The statement kept the clock; the delivery steps follow, and the report facts
        # step last: its rollup rows are shared by every post of the street and day, and
        # their lock is held from here to the commit (no step reads the rollups).
        created = Event(row.event_id, row.id, "created", event_data, now, ticket=row,
                        subscribed=row.subscribed)
        await pipeline_of(session).deliver(session, created)
        await keep_report_facts(session, created)
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
            M("error.idempotency_reused", key=key),
            errors=[{"loc": ["header", "Idempotency-Key"],
                     "msg": M("error.idempotency_reused_field"), "type": "reused"}],
        )
    views = await repo.read_views(session, repo.view_statement(
        session, Ticket.id == record.ticket_id, ticket_scope_clause(actor, Ticket)))
    if not views:
        raise NotFound(M("error.keyed_ticket_invisible"))
    return views[0]
