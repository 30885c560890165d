"""HTTP for live queues: a department's queue changes as Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from app.auth.actor import Actor
from app.auth.deps import CallerWhenAsked, CurrentActor, stream_watcher
from app.auth.tokens import STREAM_TICKET_SECONDS, encode_stream_ticket
from app.deps import ClockDep, SessionDep, SettingsDep
from app.errors import WhistleError, problem_responses
from app.live import service
from app.live.broker import Broker, QueueEvent, StreamClosed
from app.live.publish import QUEUE_EVENTS
from app.observability.metrics import LIVE_STREAMS
from app.observability.requests import note_actor
from app.sse import sse_response

router = APIRouter(tags=["queues"])

# A comment line this often keeps proxies and phones' networks from closing an idle stream.
KEEPALIVE_SECONDS = 15.0
RETRY_MILLISECONDS = 3000
# A stream ends after this long (None: the access token's lifetime), so that the client
# reconnects with a fresh token: a disabled account does not keep watching for hours.
LIFETIME_SECONDS: float | None = None

STREAM_DOC = """\
`text/event-stream`. Each event is named by what happened to the ticket (`new`, `claimed`,
`released`, `returned`, `rerouted`, `escalated`, `started`, `transferred`, `resolved`,
`rework`, `closed`, `reopened`, `cancelled`, `edited`, `deadline_changed`, `suspended`,
`resumed`, `sla_warning`, `sla_overdue`, `whistle_blown`), its `id` is the timeline event id,
and its data is JSON: `{"event_id", "kind", "ticket_id", "status"}`. Reload the ticket (or
the queue) to see the change. Comment lines keep the stream alive. An `event: closed` means
the server ended the stream (its time is up — as long as an access token lasts —, shutdown,
a lagging client, a lost database connection): reconnect with a current token and reload
the queue."""


class LiveQueuesUnavailable(WhistleError):
    status, title, slug = 503, "Live queues unavailable", "live-unavailable"


def get_broker(request: Request) -> Broker:
    broker = getattr(request.app.state, "broker", None)
    if broker is None:
        raise LiveQueuesUnavailable("live queues are not running in this process")
    return broker


def sse(event: QueueEvent) -> str:
    data = {"event_id": event.event_id, "kind": event.kind, "ticket_id": event.ticket_id,
            "status": event.status}
    return (f"id: {event.event_id}\nevent: {QUEUE_EVENTS.get(event.kind, event.kind)}\n"
            f"data: {json.dumps(data, separators=(',', ':'))}\n\n")


def closed(reason: str) -> str:
    return f"event: closed\ndata: {json.dumps({'reason': reason})}\n\n"


async def event_stream(broker: Broker, audience: service.Audience, *,
                       lifetime: float) -> AsyncIterator[str]:
    # Subscribed before the first byte: a client that has read the greeting misses nothing.
    subscription = broker.subscribe(audience.department_id)
    loop = asyncio.get_running_loop()
    ends_at = loop.time() + lifetime
    LIVE_STREAMS.inc()
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n: connected\n\n"
        while (left := ends_at - loop.time()) > 0:
            try:
                event = await subscription.next(min(KEEPALIVE_SECONDS, left))
            except StreamClosed as stop:
                yield closed(str(stop))
                return
            if event is None:
                if ends_at - loop.time() > 0:
                    yield ": keep-alive\n\n"
            elif audience.sees(event):
                yield sse(event)
        yield closed("the stream's time is up; reconnect")
    finally:
        # Also reached when the client disconnects (the response task is cancelled).
        LIVE_STREAMS.dec()
        broker.unsubscribe(subscription)


STREAM_TICKET_DOC = f"""\
Browsers' `EventSource` cannot send an `Authorization` header. Ask for a stream ticket with
your token, then open `stream_url` (the ticket in its query) within {STREAM_TICKET_SECONDS}
seconds. The ticket opens this department's stream only, as you; the stream then lasts as
long as one opened with the token would."""

StreamTicketParam = Annotated[str | None, Query(
    description="a ticket from `POST …/queue/stream-ticket`, for clients that cannot send "
                "`Authorization` (EventSource); instead of a token or API key")]


class StreamTicketOut(BaseModel):
    ticket: str
    expires_in: int = Field(description="seconds left to open the stream with it")
    stream_url: str = Field(description="the stream's path with the ticket in its query")


@router.post(
    "/departments/{code}/queue/stream-ticket",
    operation_id="issue_stream_ticket",
    summary="A short-lived ticket to open the department's live queue from a browser",
    description=STREAM_TICKET_DOC,
    response_model=StreamTicketOut,
    responses=problem_responses(401, 404),
)
async def issue_stream_ticket(code: str, actor: CurrentActor, session: SessionDep,
                              settings: SettingsDep, clock: ClockDep,
                              request: Request) -> StreamTicketOut:
    await service.audience_for(session=session, actor=actor, department_code=code)
    ticket = encode_stream_ticket(actor, secret=settings.secret_key, now=clock.now(),
                                  department_code=code)
    path = request.app.url_path_for("stream_department_queue", code=code)
    return StreamTicketOut(ticket=ticket, expires_in=STREAM_TICKET_SECONDS,
                           stream_url=f"{path}?ticket={ticket}")


async def queue_watcher(code: str, settings: SettingsDep, clock: ClockDep,
                        caller: CallerWhenAsked, ticket: StreamTicketParam = None) -> Actor:
    return await stream_watcher(ticket, code, settings=settings, clock=clock, caller=caller)


@router.get(
    "/departments/{code}/queue/stream",
    operation_id="stream_department_queue",
    summary="Live changes to a department's queue (Server-Sent Events)",
    description=STREAM_DOC,
    response_class=StreamingResponse,
    responses={200: sse_response("an event stream, until the token's lifetime ends",
                                 [*set(QUEUE_EVENTS.values()), "closed"]),
               **problem_responses(401, 404, 503)},
)
async def stream_department_queue(code: str, actor: Annotated[Actor, Depends(queue_watcher)],
                                  session: SessionDep,
                                  settings: SettingsDep, request: Request) -> StreamingResponse:
    note_actor(request.scope, actor)  # for the request's log line
    # The request's transaction ends when this returns; the stream holds no connection.
    audience = await service.audience_for(session=session, actor=actor, department_code=code)
    lifetime = LIFETIME_SECONDS or settings.access_token_minutes * 60.0
    return StreamingResponse(
        event_stream(get_broker(request), audience, lifetime=lifetime),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
