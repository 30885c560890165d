"""GET requests, GET requests/{id} and GET tokens/{token}: the public side of Open311.

Reads need no API key, as in the spec, so they show only tickets filed *through* Open311
(what residents reported in public channels), never the grid's internal cases, and only
non-personal fields: no reporter name, phone, email or account. A request's id (and its
token: routing is synchronous) is the ticket's case number (案件编号), e.g.
``20261123-0000042``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import SHANGHAI
from app.jurisdiction.geo import JurisdictionTree
from app.open311 import repository as repo
from app.open311.formats import Open311Error, w3c
from app.tickets.models import OPEN_STATUSES, Status, Ticket, parse_ticket_number
from app.tickets.repository import TicketView

MAX_RESULTS = 1000  # the spec's default cap
MAX_SPAN = timedelta(days=90)  # the spec's default window and the widest one allowed
CLOSED_STATUSES = (Status.closed.value, Status.cancelled.value)
STATUS_GROUPS = {"open": OPEN_STATUSES, "closed": CLOSED_STATUSES}


@dataclass(frozen=True, slots=True)
class RequestQuery:
    ids: tuple[int, ...] | None  # given: overrides every other filter, as the spec says
    service_codes: tuple[str, ...]
    start: datetime | None  # None: no window on the filing time (see parse_query)
    end: datetime | None
    statuses: tuple[str, ...]
    street_id: int | None
    updated_after: datetime | None = None
    updated_before: datetime | None = None


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def parse_w3c(name: str, value: str) -> datetime:
    """A W3C date-time with a zone (``2026-11-01T00:00:00Z``); a bare date is midnight in
    the streets' zone (UTC+8)."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise Open311Error(400, f"{name} must be a W3C date-time, e.g. "
                                "2026-11-01T00:00:00Z") from exc
    if parsed.tzinfo is None:
        if "T" in value:
            raise Open311Error(400, f"{name} must include a time zone (Z or +08:00)")
        parsed = parsed.replace(tzinfo=SHANGHAI)
    return parsed


def window(start_date: str | None, end_date: str | None,
           now: datetime) -> tuple[datetime, datetime]:
    """The spec's window: default the last 90 days, at most 90 days wide."""
    start = parse_w3c("start_date", start_date) if start_date else None
    end = parse_w3c("end_date", end_date) if end_date else None
    if start is None and end is None:
        return now - MAX_SPAN, now
    if start is None:
        assert end is not None
        return end - MAX_SPAN, end
    if end is None:
        return start, start + MAX_SPAN
    if end < start:
        raise Open311Error(400, "end_date is before start_date")
    if end - start > MAX_SPAN:
        raise Open311Error(400, "start_date and end_date may not span more than 90 days")
    return start, end


def parse_query(*, service_request_id: str | None, service_code: str | None,
                start_date: str | None, end_date: str | None, status: str | None,
                street_id: int | None, now: datetime, updated_after: str | None = None,
                updated_before: str | None = None) -> RequestQuery:
    """``updated_after``/``updated_before`` (as Chicago's and Helsinki's CitySDK Open311
    servers take them) filter on the last change; with either, the window of
    ``start_date``/``end_date`` applies only when one of those is sent too."""
    statuses: list[str] = []
    for name in _csv(status):
        if name not in STATUS_GROUPS:
            raise Open311Error(400, f"status must be open or closed, not {name!r}")
        statuses.extend(STATUS_GROUPS[name])
    after = parse_w3c("updated_after", updated_after) if updated_after else None
    before = parse_w3c("updated_before", updated_before) if updated_before else None
    if after is not None and before is not None and before < after:
        raise Open311Error(400, "updated_before is before updated_after")
    start: datetime | None = None
    end: datetime | None = None
    if not (after or before) or start_date or end_date:
        start, end = window(start_date, end_date, now)
    ids = None
    if service_request_id is not None and _csv(service_request_id):
        ids = tuple(i for i in map(parse_ticket_number, _csv(service_request_id)[:MAX_RESULTS])
                    if i is not None)
    return RequestQuery(ids=ids, service_codes=tuple(_csv(service_code)), start=start, end=end,
                        statuses=tuple(statuses), street_id=street_id, updated_after=after,
                        updated_before=before)


async def find_requests(session: AsyncSession, query: RequestQuery) -> list[TicketView]:
    """Newest first, at most ``MAX_RESULTS``."""
    clauses = [Ticket.street_id == query.street_id] if query.street_id is not None else []
    if query.ids is not None:
        return await repo.find_views(session, Ticket.id.in_(query.ids), *clauses,
                                     limit=MAX_RESULTS) if query.ids else []
    if query.start is not None and query.end is not None:
        clauses += [Ticket.created_at >= query.start, Ticket.created_at <= query.end]
    if query.service_codes:
        clauses.append(Ticket.item_code.in_(query.service_codes))
    if query.statuses:
        clauses.append(Ticket.status.in_(query.statuses))
    if query.updated_after is not None:
        clauses.append(Ticket.updated_at >= query.updated_after)
    if query.updated_before is not None:
        clauses.append(Ticket.updated_at <= query.updated_before)
    return await repo.find_views(session, *clauses, limit=MAX_RESULTS)


async def get_request(session: AsyncSession, number: str, street_id: int | None) -> TicketView:
    """The ticket whose case number is ``number`` (the date part must match too)."""
    ticket_id = parse_ticket_number(number.strip())
    clauses = [Ticket.street_id == street_id] if street_id is not None else []
    views = (await repo.find_views(session, Ticket.id == ticket_id, *clauses, limit=1)
             if ticket_id is not None else [])
    if not views or views[0].ticket.number != number.strip():
        raise Open311Error(404, f"service_request_id {number!r} was not found")
    return views[0]


# --- the representation ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Context:
    """What turning tickets into requests needs besides the tickets."""

    tree: JurisdictionTree
    department_names: dict[int, str]
    notes: dict[int, str]
    media: dict[int, str]  # the media_url a client sent with the request
    photos: dict[int, int]  # the reporter's first photo, when it was uploaded to Whistle
    media_link: Callable[[int], str]  # an attachment id → a signed link anyone can fetch


async def context_for(session: AsyncSession, tree: JurisdictionTree, views: list[TicketView],
                      media_link: Callable[[int], str]) -> Context:
    ids = [v.ticket.id for v in views]
    departments = {v.ticket.department_id for v in views if v.ticket.department_id is not None}
    return Context(tree, await repo.department_names(session, departments),
                   await repo.latest_notes(session, ids), await repo.submitted_media(session, ids),
                   await repo.reporter_photos(session, ids), media_link)


def agency_of(ticket: Ticket, ctx: Context) -> str | None:
    """The department holding the case, else the grid or community (or street) holding it."""
    if ticket.department_id is not None:
        return ctx.department_names.get(ticket.department_id)
    node_id = {"grid": ticket.grid_id, "community": ticket.community_id}.get(ticket.level,
                                                                             ticket.street_id)
    node = ctx.tree.node(node_id)
    return node.name if node else None


def notice_of(ticket: Ticket, agency: str | None) -> str | None:
    if ticket.status in CLOSED_STATUSES or agency is None:
        return None
    due = w3c(ticket.resolve_due_at)
    return f"Routed by the matrix to {agency}" + (f"; to be resolved by {due}." if due else ".")


# CitySDK's detailed_status (its Open311 extension, also read by FixMyStreet's cobrands
# that take extended attributes) for each state: what ``open``/``closed`` cannot say.
DETAILED_STATUS = {
    Status.dispatched.value: "RECEIVED",
    Status.returned.value: "RECEIVED",
    Status.self_handling.value: "IN_PROCESS",
    Status.claimed.value: "IN_PROCESS",
    Status.in_progress.value: "IN_PROCESS",
    Status.rework.value: "IN_PROCESS",
    Status.suspended.value: "IN_PROCESS",
    Status.resolved.value: "IN_PROCESS",
    Status.closed.value: "PROCESSED",
    Status.cancelled.value: "REJECTED",  # 作废 or merged: closed, and not fixed
}


def extended_attributes(ticket: Ticket) -> dict:
    """``detailed_status`` (CitySDK) and Whistle's own state: a cancelled (作废) case is
    ``REJECTED`` / ``cancelled`` and a merged one ``REJECTED`` / ``merged``, where
    ``status`` can only say ``closed``."""
    state = ticket.status
    if state == Status.cancelled.value and ticket.merged_into_id is not None:
        state = "merged"
    return {"detailed_status": DETAILED_STATUS.get(ticket.status, "RECEIVED"),
            "whistle_status": state}


def request_out(view: TicketView, ctx: Context) -> dict:
    t = view.ticket
    closed = t.status in CLOSED_STATUSES
    agency = agency_of(t, ctx)
    media = ctx.media.get(t.id) or (ctx.media_link(ctx.photos[t.id])
                                    if t.id in ctx.photos else None)
    return {
        "service_request_id": t.number,
        "status": "closed" if closed else "open",
        "status_notes": ctx.notes.get(t.id),
        "service_name": view.item_name,
        "service_code": t.item_code,
        "description": t.description,
        "agency_responsible": agency,
        "service_notice": notice_of(t, agency),
        "requested_datetime": w3c(t.created_at),
        "updated_datetime": w3c(t.closed_at if closed and t.closed_at else t.updated_at),
        "expected_datetime": w3c(t.resolve_due_at),
        "address": t.address,
        "address_id": view.grid_code,
        "zipcode": None,
        "lat": t.lat,
        "long": t.lon,
        "media_url": media,
        "extended_attributes": extended_attributes(t),
    }
