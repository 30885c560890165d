"""HTTP for tickets: post, read, list, timeline, queues."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status
from sqlalchemy import Row

from app.auth.actor import Actor
from app.auth.deps import CurrentActor, require_roles
from app.auth.models import Role
from app.auth.scope import can_see_contact, mask_phone
from app.deps import ClockDep, SessionDep, SettingsDep
from app.duplicates.schemas import PossibleDuplicate, PostedTicketOut
from app.duplicates.service import Nearby
from app.errors import InvalidInput, problem_responses
from app.ids import IdPath
from app.jurisdiction import service as jurisdictions
from app.jurisdiction.coordinates import DEFAULT_SYSTEM, CoordinateSystem, from_wgs84
from app.jurisdiction.geo import JurisdictionsDep
from app.tickets import service
from app.tickets.lookups import LookupsDep
from app.tickets.masking import mask_name
from app.tickets.models import Source, Status, Ticket, Urgency, ticket_number
from app.tickets.repository import TicketView
from app.tickets.schemas import EventOut, Location, ReporterOut, TicketCreate, TicketOut, TicketPage
from app.workflow import posting

router = APIRouter(tags=["tickets"])

Poster = Annotated[Actor, require_roles(
    Role.grid_worker, Role.community_dispatcher, Role.street_dispatcher, Role.integration,
    Role.admin)]


AnswerSystem = Annotated[CoordinateSystem, Query(
    alias="coordinate_system",
    description="the coordinate system of the locations in the answer: wgs84 (as stored, the "
                "default), gcj02 (to draw on a Gaode/Tencent map) or bd09 (Baidu)")]


def location_out(lat: float | None, lon: float | None,
                 system: CoordinateSystem = DEFAULT_SYSTEM) -> Location | None:
    if lat is None or lon is None:
        return None
    shown_lat, shown_lon = from_wgs84(lat, lon, system)
    return Location(lat=shown_lat, lon=shown_lon, coordinate_system=system)


def reporter_out(actor: Actor, t: Ticket | Row) -> ReporterOut | None:
    """A ticket's reporter (from the ticket or a row with its reporter and scope columns),
    masked (138****1234, 王**) unless ``actor`` may see contacts."""
    if t.reporter_name is None and t.reporter_phone is None:
        return None
    visible = can_see_contact(actor, street_id=t.street_id, community_id=t.community_id,
                              department_id=t.department_id)
    return ReporterOut(
        name=t.reporter_name if visible else mask_name(t.reporter_name),
        phone=t.reporter_phone if visible else mask_phone(t.reporter_phone),
        masked=not visible,
    )


def ticket_out(view: TicketView, actor: Actor,
               system: CoordinateSystem = DEFAULT_SYSTEM) -> TicketOut:
    return TicketOut(**_ticket_fields(view, actor, system))


def _ticket_fields(view: TicketView, actor: Actor, system: CoordinateSystem) -> dict[str, Any]:
    t = view.ticket
    reporter = reporter_out(actor, t)
    return dict(
        id=t.id, number=t.number, status=Status(t.status), level=t.level,
        grid=view.grid_code, community=view.community_code, street=view.street_code,
        item=t.item_code, item_name=view.item_name, category=t.category_code,
        department=view.department_code, routing_reason=t.routing_reason,
        urgency=Urgency(t.urgency), source=Source(t.source), description=t.description,
        address=t.address,
        location=location_out(t.lat, t.lon, system),
        reporter=reporter, self_handle=t.self_handle, matrix_version=t.matrix_version_id,
        assignee_id=t.assignee_id, attachments=list(view.attachment_ids),
        thumbnail_url=(f"/api/v1/attachments/{view.attachment_ids[0]}/thumbnail"
                       if view.attachment_ids else None),
        rework_count=t.rework_count, return_count=t.return_count, rating=t.rating,
        merged_into=t.merged_into_id, response_due_at=t.response_due_at,
        resolve_due_at=t.resolve_due_at, sla_state=t.sla_state,
        resolve_remaining_minutes=t.resolve_remaining_minutes, version=t.version,
        created_at=t.created_at, updated_at=t.updated_at, claimed_at=t.claimed_at,
        resolved_at=t.resolved_at, closed_at=t.closed_at,
    )


def _values(statuses: list[Status] | None) -> tuple[str, ...]:
    return tuple(s.value for s in statuses or ())


def etag(view: TicketView) -> str:
    return f'"{view.ticket.id}.{view.ticket.version}"'


@router.post(
    "/tickets",
    operation_id="post_ticket",
    summary="Post an issue; it is routed by the matrix to the right queue",
    status_code=status.HTTP_201_CREATED,
    response_model=PostedTicketOut,
    responses={200: {"description": "an Idempotency-Key retry: the ticket the first request made",
                     "model": PostedTicketOut},
               **problem_responses(401, 403, 422, 409)},
)
async def post_ticket(
    body: TicketCreate,
    response: Response,
    actor: Poster,
    session: SessionDep,
    clock: ClockDep,
    lookups: LookupsDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", min_length=1, max_length=200,
        description="makes retries safe: same key and body → the same ticket")] = None,
) -> PostedTicketOut:
    posted = await posting.post_ticket(session=session, lookups=lookups, actor=actor, data=body,
                                       idempotency_key=idempotency_key, now=clock.now(),
                                       settings=settings)
    if not posted.created:
        response.status_code = status.HTTP_200_OK
    response.headers["ETag"] = etag(posted.view)
    response.headers["Location"] = f"/api/v1/tickets/{posted.view.ticket.id}"
    return PostedTicketOut(
        **_ticket_fields(posted.view, actor, DEFAULT_SYSTEM),
        possible_duplicates=[duplicate_out(n, actor) for n in posted.possible_duplicates])


def duplicate_out(nearby: Nearby, actor: Actor,
                  system: CoordinateSystem = DEFAULT_SYSTEM) -> PossibleDuplicate:
    row = nearby.row
    return PossibleDuplicate(
        id=row.id, number=ticket_number(row.id, row.created_at), status=Status(row.status),
        item=row.item_code, grid=row.grid_code, distance_m=round(nearby.distance_m, 1),
        description=row.description, address=row.address,
        location=location_out(row.lat, row.lon, system), reporter=reporter_out(actor, row),
        created_at=row.created_at)


@router.get("/tickets/{ticket_id}", operation_id="get_ticket", response_model=TicketOut,
            summary="One ticket (404 when outside your scope)",
            responses=problem_responses(401, 404))
async def get_ticket(ticket_id: IdPath, response: Response, actor: CurrentActor,
                     session: SessionDep, system: AnswerSystem = DEFAULT_SYSTEM) -> TicketOut:
    view = await service.get_ticket(session=session, actor=actor, ticket_id=ticket_id)
    response.headers["ETag"] = etag(view)
    return ticket_out(view, actor, system)


@router.get("/tickets", operation_id="list_tickets", response_model=TicketPage,
            summary="Tickets in your scope, newest first, cursor-paginated",
            responses=problem_responses(401, 422))
async def list_tickets(
    actor: CurrentActor,
    session: SessionDep,
    tree: JurisdictionsDep,
    status_: Annotated[list[Status] | None, Query(alias="status")] = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
    jurisdiction: Annotated[str | None, Query(description="a street, community or grid code: "
                                              "its whole subtree")] = None,
    department: str | None = None,
    category: Annotated[str | None, Query(pattern=r"^0[1-7]$")] = None,
    item: str | None = None,
    urgency: Urgency | None = None,
    source: Source | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
    cursor: str | None = None,
    system: AnswerSystem = DEFAULT_SYSTEM,
) -> TicketPage:
    if jurisdiction:  # outside the scope it is answered like a code that does not exist
        node = (await tree.get(session)).node_by_code(jurisdiction)
        if node is None or not await jurisdictions.in_scope(
                session=session, tree=await tree.get(session), actor=actor, node_id=node.id):
            raise InvalidInput.at(["query", "jurisdiction"], f"no jurisdiction {jurisdiction!r}")
    filters = service.TicketFilter(
        statuses=_values(status_), open_only=open_only,
        jurisdiction=jurisdiction, department=department, category=category, item=item,
        urgency=urgency.value if urgency else None, source=source.value if source else None,
        created_from=created_from, created_to=created_to,
    )
    views, next_cursor = await service.list_tickets(session=session, actor=actor, filters=filters,
                                                    limit=limit, cursor=cursor)
    return TicketPage(items=[ticket_out(v, actor, system) for v in views],
                      next_cursor=next_cursor)


@router.get("/tickets/{ticket_id}/events", operation_id="list_ticket_events",
            response_model=list[EventOut], summary="The ticket's timeline, oldest first",
            responses=problem_responses(401, 404))
async def list_ticket_events(ticket_id: IdPath, actor: CurrentActor,
                             session: SessionDep) -> list[EventOut]:
    events = await service.list_events(session=session, actor=actor, ticket_id=ticket_id)
    return [EventOut.model_validate(e, from_attributes=True) for e in events]


@router.get("/departments/{code}/queue", operation_id="department_queue", tags=["queues"],
            response_model=list[TicketOut],
            summary="A department's queue: most urgent, then nearest deadline, then oldest",
            responses=problem_responses(401, 404))
async def department_queue(
    code: str, actor: CurrentActor, session: SessionDep,
    status_: Annotated[list[Status] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
) -> list[TicketOut]:
    views = await service.department_queue(session=session, actor=actor, department_code=code,
                                           statuses=_values(status_), limit=limit)
    return [ticket_out(v, actor) for v in views]


@router.get("/jurisdictions/{code}/queue", operation_id="jurisdiction_queue", tags=["queues"],
            response_model=list[TicketOut],
            summary="A community's or grid's queue: tickets held at that level",
            responses=problem_responses(401, 404))
async def jurisdiction_queue(
    code: str, actor: CurrentActor, session: SessionDep,
    status_: Annotated[list[Status] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
) -> list[TicketOut]:
    views = await service.jurisdiction_queue(session=session, actor=actor, code=code,
                                             statuses=_values(status_), limit=limit)
    return [ticket_out(v, actor) for v in views]
