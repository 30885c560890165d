"""HTTP for notifications: every user's inbox, live stream and choices; admins' channels,
test-sends and the delivery log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.actor import Actor
from app.auth.deps import Admin, CallerWhenAsked, CurrentActor, stream_watcher
from app.auth.tokens import STREAM_TICKET_SECONDS, encode_stream_ticket
from app.deps import ClockDep, SessionDep, SettingsDep
from app.errors import Forbidden, problem_responses
from app.ids import MAX_ID, Id, IdPath
from app.messages import M
from app.notifications import channels, service
from app.notifications.delivery import TIMEOUT
from app.notifications.models import Notification
from app.notifications.schemas import (
    AttemptOut,
    ChannelConfig,
    ChannelCreate,
    ChannelOut,
    InboxOut,
    MarkedRead,
    MarkRead,
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    TestSendOut,
)
from app.sse import sse_response

router = APIRouter(tags=["notifications"])

# The stream ticket's audience: a stream-ticket for this pseudo-queue opens only the
# caller's own inbox stream (no department code starts with "@").
INBOX_STREAM = "@inbox"
POLL_SECONDS = 2.0  # how often an open stream looks for new entries
KEEPALIVE_SECONDS = 15.0
LIFETIME_SECONDS: float | None = None  # None: as long as an access token lasts


def notification_out(n: Notification) -> NotificationOut:
    return NotificationOut.model_validate(n, from_attributes=True)


@router.get("/notifications", operation_id="list_notifications", response_model=InboxOut,
            summary="Your inbox, newest first, with the unread count",
            responses=problem_responses(401, 403, 422))
async def list_notifications(
    actor: CurrentActor, session: SessionDep,
    unread: Annotated[bool, Query(description="only unread ones")] = False,
    before: Annotated[Id | None, Query(description="older than this id (paging)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> InboxOut:
    items, unread_count = await service.inbox(session=session, actor=actor, unread_only=unread,
                                              before=before, limit=limit)
    return InboxOut(items=[notification_out(n) for n in items], unread=unread_count)


@router.post("/notifications/read", operation_id="mark_notifications_read",
             response_model=MarkedRead, summary="Mark some (or all) of your notifications read",
             responses=problem_responses(401, 403, 422))
async def mark_notifications_read(body: MarkRead, actor: CurrentActor, session: SessionDep,
                                  clock: ClockDep) -> MarkedRead:
    marked, unread = await service.mark_read(session=session, actor=actor, ids=body.ids,
                                             now=clock.now())
    return MarkedRead(marked=marked, unread=unread)


@router.get("/notifications/preferences", operation_id="get_notification_preferences",
            response_model=PreferencesOut,
            summary="Your choices per kind and channel (role defaults filled in)",
            responses=problem_responses(401, 403))
async def get_preferences(actor: CurrentActor, session: SessionDep) -> PreferencesOut:
    return await service.preferences(session=session, actor=actor)


@router.put("/notifications/preferences", operation_id="set_notification_preferences",
            response_model=PreferencesOut,
            summary="Choose per kind and channel (inbox, sms), and your SMS number",
            responses=problem_responses(401, 403, 422))
async def set_preferences(body: PreferencesIn, actor: CurrentActor,
                          session: SessionDep) -> PreferencesOut:
    return await service.set_preferences(session=session, actor=actor, body=body)


# --- the live inbox ----------------------------------------------------------------------------


class InboxTicketOut(BaseModel):
    ticket: str
    expires_in: int = Field(description="seconds left to open the stream with it")
    stream_url: str


@router.post("/notifications/stream-ticket", operation_id="issue_notification_stream_ticket",
             response_model=InboxTicketOut,
             summary="A short-lived ticket to open your inbox stream from a browser",
             responses=problem_responses(401, 403))
async def issue_inbox_ticket(actor: CurrentActor, settings: SettingsDep, clock: ClockDep,
                             request: Request) -> InboxTicketOut:
    if actor.user_id is None:
        raise Forbidden(M("notifications.not_for_api_keys"))
    ticket = encode_stream_ticket(actor, secret=settings.secret_key, now=clock.now(),
                                  department_code=INBOX_STREAM)
    path = request.app.url_path_for("stream_notifications")
    return InboxTicketOut(ticket=ticket, expires_in=STREAM_TICKET_SECONDS,
                          stream_url=f"{path}?ticket={ticket}")


async def inbox_watcher(
    settings: SettingsDep, clock: ClockDep, caller: CallerWhenAsked,
    ticket: Annotated[str | None, Query(description="from `POST /notifications/stream-ticket`"
                                        )] = None,
) -> Actor:
    return await stream_watcher(ticket, INBOX_STREAM, settings=settings, clock=clock,
                                caller=caller)


def sse(n: Notification) -> str:
    data = {"id": n.id, "kind": n.kind, "title": n.title, "body": n.body, "link": n.link,
            "ticket_id": n.ticket_id, "urgent": n.urgent, "count": n.count}
    return (f"id: {n.id}\nevent: notification\n"
            f"data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n")


async def inbox_stream(sessions: async_sessionmaker[AsyncSession], user_id: int, after: int, *,
                       lifetime: float) -> AsyncIterator[str]:
    """New inbox entries as they are committed (by any process: the stream reads the
    table), then ``closed`` when its time is up."""
    loop = asyncio.get_running_loop()
    ends_at = loop.time() + lifetime
    quiet_since = loop.time()
    yield "retry: 3000\n: connected\n\n"
    while loop.time() < ends_at:
        async with sessions() as session:
            fresh = await service.newer_than(session=session, user_id=user_id, after=after)
        for n in fresh:
            after = max(after, n.id)
            yield sse(n)
        if fresh:
            quiet_since = loop.time()
        elif loop.time() - quiet_since >= KEEPALIVE_SECONDS:
            quiet_since = loop.time()
            yield ": keep-alive\n\n"
        await asyncio.sleep(min(POLL_SECONDS, max(ends_at - loop.time(), 0)))
    yield "event: closed\ndata: {\"reason\": \"the stream's time is up; reconnect\"}\n\n"


@router.get("/notifications/live", operation_id="stream_notifications",
            summary="Your new notifications, live (Server-Sent Events)",
            description="`text/event-stream` of `notification` events (data: the entry as "
                        "JSON; id: its id). Send `Last-Event-ID` to resume after an entry.",
            response_class=StreamingResponse,
            responses={200: sse_response("an event stream, until the token's lifetime ends",
                                         ["notification", "closed"]),
                       **problem_responses(401, 403)})
async def stream_notifications(
    actor: Annotated[Actor, Depends(inbox_watcher)], session: SessionDep,
    settings: SettingsDep, request: Request,
    last_event_id: Annotated[int | None, Header(ge=0, le=MAX_ID)] = None,
) -> StreamingResponse:
    if actor.user_id is None:
        raise Forbidden(M("notifications.not_for_api_keys"))
    after = last_event_id if last_event_id is not None else await service.latest_id(
        session=session, user_id=actor.user_id)
    lifetime = LIFETIME_SECONDS or settings.access_token_minutes * 60.0
    return StreamingResponse(
        inbox_stream(request.app.state.sessions, actor.user_id, after, lifetime=lifetime),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


# --- channels (admins) -------------------------------------------------------------------------


def channel_out(view: channels.ChannelView) -> ChannelOut:
    c = view.channel
    return ChannelOut(id=c.id, kind=c.kind, name=c.name, department=view.department_code,
                      jurisdiction=view.jurisdiction_code, endpoint=c.endpoint,
                      configured=c.sealed is not None, options=c.options or {},
                      kinds=list(c.kinds or []), rate_per_minute=c.rate_per_minute,
                      is_active=c.is_active, created_at=c.created_at, updated_at=c.updated_at)


@router.get("/notification-channels", operation_id="list_notification_channels",
            response_model=list[ChannelOut], summary="Every channel (secrets never shown)",
            responses=problem_responses(401, 403))
async def list_notification_channels(actor: Admin, session: SessionDep) -> list[ChannelOut]:
    return [channel_out(v) for v in await channels.list_channels(session=session)]


@router.post("/notification-channels", operation_id="create_notification_channel",
             status_code=status.HTTP_201_CREATED, response_model=ChannelOut,
             summary="Add a 企业微信 / 钉钉 robot or an SMS account to a department, "
                     "community or street", responses=problem_responses(401, 403, 422))
async def create_notification_channel(body: ChannelCreate, actor: Admin, session: SessionDep,
                                      clock: ClockDep, settings: SettingsDep,
                                      response: Response) -> ChannelOut:
    view = await channels.create_channel(session=session, body=body, now=clock.now(),
                                         settings=settings)
    response.headers["Location"] = f"/api/v1/notification-channels/{view.channel.id}"
    return channel_out(view)


@router.put("/notification-channels/{channel_id}", operation_id="configure_notification_channel",
            response_model=ChannelOut, summary="Set a channel's target, secrets and rules",
            responses=problem_responses(401, 403, 404, 422))
async def configure_notification_channel(channel_id: IdPath, body: ChannelConfig, actor: Admin,
                                         session: SessionDep, clock: ClockDep,
                                         settings: SettingsDep) -> ChannelOut:
    return channel_out(await channels.configure_channel(
        session=session, channel_id=channel_id, config=body, now=clock.now(),
        settings=settings))


@router.delete("/notification-channels/{channel_id}", operation_id="delete_notification_channel",
               status_code=status.HTTP_204_NO_CONTENT,
               summary="Stop a channel; what it has not sent is given up",
               responses=problem_responses(401, 403, 404))
async def delete_notification_channel(channel_id: IdPath, actor: Admin,
                                      session: SessionDep) -> Response:
    await channels.delete_channel(session=session, channel_id=channel_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class TestSendIn(BaseModel):
    phone: str | None = Field(None, pattern=r"^\+?[0-9]{6,20}$", description="SMS only")


@router.post("/notification-channels/{channel_id}/test", operation_id="test_notification_channel",
             response_model=TestSendOut, summary="Send a test message through the channel now",
             responses=problem_responses(401, 403, 404, 422))
async def test_notification_channel(channel_id: IdPath, body: TestSendIn, actor: Admin,
                                    session: SessionDep, clock: ClockDep,
                                    settings: SettingsDep) -> TestSendOut:
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        outcome = await channels.test_send(session=session, channel_id=channel_id,
                                           phone=body.phone, http=http, now=clock.now(),
                                           settings=settings)
    return TestSendOut(ok=outcome.ok, status_code=outcome.status_code, error=outcome.error,
                       duration_ms=outcome.duration_ms)


@router.get("/notification-deliveries", operation_id="list_notification_deliveries",
            response_model=list[AttemptOut],
            summary="The delivery log: every attempt through every channel, newest first",
            responses=problem_responses(401, 403, 422))
async def list_notification_deliveries(
    actor: Admin, session: SessionDep,
    channel_id: Annotated[Id | None, Query(description="one channel's attempts")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AttemptOut]:
    rows = await channels.attempts(session=session, channel_id=channel_id, limit=limit)
    return [AttemptOut.model_validate(r, from_attributes=True) for r in rows]
