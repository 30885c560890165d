"""mySociety's ``servicerequestupdates`` extension: following a case after it was filed.

FixMyStreet's Open311 client (what UK councils run) fetches ``GET servicerequestupdates``
with ``start_date`` and ``end_date`` and turns each ``request_update`` into a comment on
its report, and ``POST``s its users' comments there. The fields are the ones its
``Open311.pm`` and ``UpdatesBase.pm`` send and read:

- GET: ``update_id``, ``service_request_id``, ``status``, ``updated_datetime``,
  ``description``, ``media_url`` and ``external_status_code`` (Whistle's own state, which
  FixMyStreet keeps for its response templates). ``status`` uses mySociety's extended
  values, so that FixMyStreet shows what happened: ``investigating`` (claimed),
  ``in_progress``, ``fixed`` (closed after verification), ``no_further_action`` (作废:
  cancelled as invalid; FixMyStreet shows "unable to fix", never "fixed"), ``duplicate``
  (合并: merged into another case), ``open`` (back in a queue).
- POST: ``api_key``, ``service_request_id``, ``update_id`` (the client's comment id),
  ``status``, ``description``, ``updated_datetime``, ``media_url``; ``first_name``,
  ``last_name``, ``email``, ``phone`` are accepted and not kept. The comment becomes an
  ``open311_update`` event on the ticket's timeline; it never moves the case (a resident
  cannot close or reopen it). The answer is the event's id as ``update_id``; a retry of
  the same ``update_id`` from the same key answers the same id.

Updates are public like GET requests: only tickets filed through Open311, only events a
resident may read (the workflow's moves, results and reasons; no internal requests,
clocks or whistles), photos as signed links.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.errors import NotFound
from app.open311 import repository as repo
from app.open311.formats import Open311Error, w3c
from app.open311.reads import MAX_RESULTS, parse_w3c, window
from app.open311.service import check_media_url
from app.tickets import repository as tickets_repo
from app.tickets import service as tickets
from app.tickets.events import record_event
from app.tickets.models import Status, Ticket, TicketEvent, parse_ticket_number
from app.tickets.repository import TicketView

# mySociety's status for the state a ticket is in after an event.
STATUS_OF_STATE = {
    Status.dispatched.value: "open",
    Status.returned.value: "open",
    Status.self_handling.value: "in_progress",
    Status.claimed.value: "investigating",
    Status.in_progress.value: "in_progress",
    Status.rework.value: "in_progress",
    Status.suspended.value: "in_progress",
    Status.resolved.value: "in_progress",  # awaits on-site verification: not fixed yet
    Status.closed.value: "fixed",
}
# The events a resident reads, with what each says when it carries no text of its own.
PUBLIC_KINDS = {
    "claim": "已签收，正在核实处理",
    "release": "退回队列，等待签收",
    "start": "开始处置",
    "note": "处置进展已更新",
    "resolve": "处置完毕，等待现场核查",
    "self_close": "网格员已现场处置，结案",
    "return": "退回调度，重新分派中",
    "reroute": "已改派",
    "verify_pass": "核查通过，已结案",
    "verify_fail": "核查未通过，返工处置",
    "cancel": "已作废",
    "merge": "与另一件重复，已合并处理",
    "reopen": "已重新打开",
    "escalate": "已上报上一级处置",
    "escalated": "已上报上一级处置",
    "approve_suspension": "暂缓处置（挂起）",
    "resume": "恢复处置",
}
TEXT_KEYS = ("result", "reason")
# What a POST may say the status is (FixMyStreet sends upper case, with or without its
# extended statuses).
POSTED_STATUSES = {"open", "closed", "fixed", "in_progress", "action_scheduled",
                   "investigating", "duplicate", "not_councils_responsibility",
                   "no_further_action", "internal_referral", "reopen", "for_triage"}


def status_of(event: TicketEvent, ticket: Ticket) -> str:
    if event.kind == "cancel":
        return "no_further_action"
    if event.kind == "merge":
        return "duplicate"
    state = event.to_status or event.from_status or ticket.status
    return STATUS_OF_STATE.get(state, "open")


def _text(event: TicketEvent) -> str:
    data = event.data or {}
    found = next((data[k] for k in TEXT_KEYS if isinstance(data.get(k), str) and data[k].strip()),
                 None)
    return found or PUBLIC_KINDS[event.kind]


@dataclass(frozen=True, slots=True)
class UpdateQuery:
    start: datetime
    end: datetime
    street_id: int | None


def parse_query(*, start_date: str | None, end_date: str | None, street_id: int | None,
                now: datetime) -> UpdateQuery:
    start, end = window(start_date, end_date, now)
    return UpdateQuery(start, end, street_id)


async def find_updates(session: AsyncSession, query: UpdateQuery,
                       media_link: Callable[[int], str]) -> list[dict]:
    """The public updates in the window, oldest first, at most ``MAX_RESULTS``."""
    found = await repo.public_events(session, kinds=sorted(PUBLIC_KINDS), start=query.start,
                                     end=query.end, street_id=query.street_id,
                                     limit=MAX_RESULTS)
    photos = await repo.event_photos(session, [event.id for event, _ in found])
    return [{
        "update_id": str(event.id),
        "service_request_id": ticket.number,
        "status": status_of(event, ticket),
        "updated_datetime": w3c(event.created_at),
        "description": _text(event),
        "media_url": media_link(photos[event.id]) if event.id in photos else None,
        "external_status_code": event.to_status or event.from_status or ticket.status,
    } for event, ticket in found]


# --- POST ----------------------------------------------------------------------------------


def _status(value: str | None) -> str:
    status = (value or "").strip().lower()
    if status not in POSTED_STATUSES:
        raise Open311Error(400, "status must be one of: " + ", ".join(
            s.upper() for s in sorted(POSTED_STATUSES)))
    return status


async def _ticket_of(session: AsyncSession, actor: Actor, number: str | None) -> TicketView:
    number = (number or "").strip()
    if not number:
        raise Open311Error(400, "service_request_id was not provided")
    ticket_id = parse_ticket_number(number)
    view = None
    if ticket_id is not None:
        try:  # an integration key sees what it filed, nothing else
            view = await tickets.get_ticket(session=session, actor=actor, ticket_id=ticket_id)
        except NotFound:
            view = None
    if view is None or view.ticket.number != number:
        raise Open311Error(404, f"service_request_id {number!r} was not found")
    return view


@dataclass(frozen=True, slots=True)
class PostedUpdate:
    event_id: int
    created: bool


async def post_update(*, session: AsyncSession, actor: Actor, service_request_id: str | None,
                      update_id: str | None, status: str | None, description: str | None,
                      updated_datetime: str | None, media_url: str | None,
                      now: datetime) -> PostedUpdate:
    """Record a resident's comment on a case the key filed (once per ``update_id``)."""
    view = await _ticket_of(session, actor, service_request_id)
    said = _status(status)
    text = (description or "").strip()
    media_url = check_media_url(media_url)
    if not text and not media_url:
        raise Open311Error(400, "description was not provided")
    reported_at = parse_w3c("updated_datetime", updated_datetime) if updated_datetime else None
    client_id = (update_id or "").strip() or None
    if client_id is not None:
        earlier = await repo.find_resident_update(session, ticket_id=view.ticket.id,
                                                  api_key_id=actor.id, update_id=client_id)
        if earlier is not None:
            return PostedUpdate(earlier, created=False)
        # Two concurrent POSTs of one update_id: the unique key lets one through.
        claimed = await tickets_repo.claim_idempotency_key(
            session, owner=actor.owner_key, key=f"open311-update:{view.ticket.id}:{client_id}",
            request_hash="-", at=now)
        if not claimed:
            raise Open311Error(409, f"update_id {client_id!r} is being recorded; retry")
    event_id = await record_event(session, ticket_id=view.ticket.id, kind=repo.RESIDENT_UPDATE_EVENT,
                                  actor=actor, at=now, data={
                                      "update_id": client_id, "status": said, "comment": text,
                                      "reported_at": w3c(reported_at),
                                      "media_url": media_url})
    return PostedUpdate(event_id, created=True)
