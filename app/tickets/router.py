"""HTTP for tickets: post, read, list, timeline, queues."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy import Row

from app.auth.actor import Actor
from app.auth.deps import CurrentActor, require_roles
from app.auth.models import Role
from app.auth.scope import can_see_contact, mask_phone
from app.clock import SHANGHAI
from app.deps import ClockDep, LangDep, SessionDep, SettingsDep
from app.duplicates.schemas import PossibleDuplicate, PostedTicketOut
from app.duplicates.service import Nearby
from app.errors import InvalidInput, problem_responses
from app.ids import IdPath
from app.jurisdiction import service as jurisdictions
from app.jurisdiction.coordinates import DEFAULT_SYSTEM, CoordinateSystem, from_wgs84
from app.jurisdiction.geo import JurisdictionsDep
from app.messages import Lang, M, translate_stored
from app.tickets import export, service, staff
from app.tickets.lookups import LookupsDep
from app.tickets.masking import mask_name
from app.tickets.models import Source, Status, Ticket, Urgency, ticket_number
from app.tickets.repository import TicketView
from app.tickets.schemas import (
    EventOut,
    Location,
    ReporterOut,
    StaffOut,
    TicketCreate,
    TicketOut,
    TicketPage,
)
from app.workflow import posting

router = APIRouter(tags=["tickets"])

Poster = Annotated[Actor, require_roles(
    Role.grid_worker, Role.community_dispatcher, Role.street_dispatcher, Role.integration,
    Role.admin)]


# A ticket's stored clock state (``Ticket.sla_state``), as the list filters it.
SlaStateQ = Literal["on_track", "warning", "overdue", "paused"]
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


def ticket_out(view: TicketView, actor: Actor, system: CoordinateSystem = DEFAULT_SYSTEM,
               lang: Lang = "en") -> TicketOut:
    """The ticket as ``actor`` may see it (contacts masked unless theirs to see), its
    locations in ``system``, its routing reason in ``lang``."""
    return TicketOut(**_ticket_fields(view, actor, system, lang))


def _ticket_fields(view: TicketView, actor: Actor, system: CoordinateSystem,
                   lang: Lang = "en") -> dict[str, Any]:
    t = view.ticket
    reporter = reporter_out(actor, t)
    return dict(
        id=t.id, number=t.number, status=Status(t.status), level=t.level,
        grid=view.grid_code, community=view.community_code, street=view.street_code,
        item=t.item_code, item_name=view.item_name, category=t.category_code,
        department=view.department_code,
        routing_reason=translate_stored(t.routing_reason, lang) or "",
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
    lang: LangDep,
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
        **_ticket_fields(posted.view, actor, DEFAULT_SYSTEM, lang),
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


async def ticket_filters(
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
    sla_state: Annotated[SlaStateQ | None, Query(
        description="on_track, warning (即将超时), overdue (超时) or paused: the overdue list "
                    "of a dashboard is `open=true&sla_state=overdue`")] = None,
) -> service.TicketFilter:
    """The ticket list's filters, shared by the list and the export."""
    if jurisdiction:  # outside the scope it is answered like a code that does not exist
        node = (await tree.get(session)).node_by_code(jurisdiction)
        if node is None or not await jurisdictions.in_scope(
                session=session, tree=await tree.get(session), actor=actor, node_id=node.id):
            raise InvalidInput.at(["query", "jurisdiction"],
                                  M("error.no_jurisdiction", code=jurisdiction))
    return service.TicketFilter(
        statuses=_values(status_), open_only=open_only,
        jurisdiction=jurisdiction, department=department, category=category, item=item,
        urgency=urgency.value if urgency else None, source=source.value if source else None,
        created_from=created_from, created_to=created_to, sla_state=sla_state,
    )


Filters = Annotated[service.TicketFilter, Depends(ticket_filters)]


@router.get("/tickets", operation_id="list_tickets", response_model=TicketPage,
            summary="Tickets in your scope, newest first, cursor-paginated",
            responses=problem_responses(401, 422))
async def list_tickets(
    actor: CurrentActor,
    session: SessionDep,
    filters: Filters,
    lang: LangDep,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
    cursor: str | None = None,
    system: AnswerSystem = DEFAULT_SYSTEM,
) -> TicketPage:
    views, next_cursor = await service.list_tickets(session=session, actor=actor, filters=filters,
                                                    limit=limit, cursor=cursor)
    return TicketPage(items=[ticket_out(v, actor, system, lang) for v in views],
                      next_cursor=next_cursor)


@router.get(
    "/tickets/export", operation_id="export_tickets",
    summary="The tickets of the list, one row each, as CSV (UTF-8 with BOM) or .xlsx for Excel",
    description="The list's filters, scope and masking; every matching ticket (no pages), "
    "newest first. `format=csv` (default) or `xlsx`; `headers=zh` (default) for Chinese "
    "column headers and values (状态 已签收…), `en` for the API's names. Times are "
    "Asia/Shanghai. Memory stays bounded: rows are written as they are read, a page at a "
    "time, to a temporary file that is then streamed. More than 1,048,575 matching "
    "tickets (what an Excel sheet holds) is a 422 `export_too_large`: narrow the filters.",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}},
                                 export.XLSX_MEDIA_TYPE: {"schema": {"type": "string",
                                                                     "format": "binary"}}},
                     "description": "the file, as an attachment"},
               **problem_responses(401, 422)},
)
async def export_tickets(
    actor: CurrentActor,
    session: SessionDep,
    filters: Filters,
    lang: LangDep,
    clock: ClockDep,
    format: Annotated[export.ExportFormat, Query(description="csv or xlsx")] = "csv",  # noqa: A002
    headers: Annotated[export.HeaderLang, Query(description="column headers: zh or en")] = "zh",
) -> StreamingResponse:
    out = export.sink(format, headers)
    cursor: str | None = None
    rows = 0
    while True:
        views, cursor = await service.list_tickets(session=session, actor=actor, filters=filters,
                                                   limit=service.MAX_PAGE, cursor=cursor)
        rows += len(views)
        if rows > export.MAX_ROWS:
            raise InvalidInput.at(["query"], M("error.export_too_large", limit=export.MAX_ROWS),
                                  "export_too_large")
        out.add([ticket_out(v, actor, lang="zh" if headers == "zh" else lang) for v in views])
        if cursor is None:
            break
    stamp = clock.now().astimezone(SHANGHAI).strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        out.finish(), media_type=export.media_type(format),
        headers={"Content-Disposition": f'attachment; filename="tickets-{stamp}.{format}"'})


@router.get("/tickets/{ticket_id}", operation_id="get_ticket", response_model=TicketOut,
            summary="One ticket (404 when outside your scope)",
            responses=problem_responses(401, 404))
async def get_ticket(ticket_id: IdPath, response: Response, actor: CurrentActor,
                     session: SessionDep, lang: LangDep,
                     system: AnswerSystem = DEFAULT_SYSTEM) -> TicketOut:
    view = await service.get_ticket(session=session, actor=actor, ticket_id=ticket_id)
    response.headers["ETag"] = etag(view)
    return ticket_out(view, actor, system, lang)


@router.get("/tickets/{ticket_id}/events", operation_id="list_ticket_events",
            response_model=list[EventOut], summary="The ticket's timeline, oldest first",
            description="A `reason` the service wrote (a routing, an automatic escalation) "
                        "is in the language of `Accept-Language` (zh or en), as a ticket's "
                        "`routing_reason` is; reasons people wrote are as they wrote them.",
            responses=problem_responses(401, 404))
async def list_ticket_events(ticket_id: IdPath, actor: CurrentActor,
                             session: SessionDep, lang: LangDep) -> list[EventOut]:
    events = await service.list_events(session=session, actor=actor, ticket_id=ticket_id)
    return [event_out(e, lang) for e in events]


def event_out(event: Any, lang: Lang) -> EventOut:
    """An event as the API shows it: a ``reason`` the service wrote (a routing, an
    automatic escalation) in the caller's language, as ``routing_reason`` is; reasons
    people wrote are theirs, unchanged."""
    out = EventOut.model_validate(event, from_attributes=True)
    reason = out.data.get("reason")
    if isinstance(reason, str) and lang != "en":
        out.data = {**out.data, "reason": translate_stored(reason, lang)}
    return out


@router.get("/departments/{code}/queue", operation_id="department_queue", tags=["queues"],
            response_model=list[TicketOut],
            summary="A department's queue: most urgent, then nearest deadline, then oldest",
            responses=problem_responses(401, 404))
async def department_queue(
    code: str, actor: CurrentActor, session: SessionDep, lang: LangDep,
    status_: Annotated[list[Status] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
) -> list[TicketOut]:
    views = await service.department_queue(session=session, actor=actor, department_code=code,
                                           statuses=_values(status_), limit=limit)
    return [ticket_out(v, actor, lang=lang) for v in views]


@router.get("/departments/{code}/staff", operation_id="department_staff", tags=["departments"],
            response_model=list[StaffOut],
            summary="A department's staff and leads with the tickets each holds (for 转交)",
            description="Admins and the department's own lead; another department's lead "
                        "gets 404, as for a department that does not exist. Busiest first.",
            responses=problem_responses(401, 403, 404))
async def department_staff(code: str, actor: CurrentActor,
                           session: SessionDep) -> list[StaffOut]:
    people = await staff.department_staff(session=session, actor=actor, code=code)
    return [StaffOut(id=p.id, display_name=p.display_name, role=p.role, in_hand=p.in_hand)
            for p in people]


@router.get("/jurisdictions/{code}/queue", operation_id="jurisdiction_queue", tags=["queues"],
            response_model=list[TicketOut],
            summary="A community's or grid's queue: tickets held at that level",
            responses=problem_responses(401, 404))
async def jurisdiction_queue(
    code: str, actor: CurrentActor, session: SessionDep, lang: LangDep,
    status_: Annotated[list[Status] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
) -> list[TicketOut]:
    views = await service.jurisdiction_queue(session=session, actor=actor, code=code,
                                             statuses=_values(status_), limit=limit)
    return [ticket_out(v, actor, lang=lang) for v in views]
