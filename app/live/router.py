"""HTTP for live queues: a department's queue changes as Server-Sent Events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from app.auth.deps import CurrentActor
from app.deps import SessionDep
from app.errors import WhistleError, problem_responses
from app.live import service
from app.live.broker import Broker, QueueEvent, StreamClosed
from app.live.publish import QUEUE_EVENTS

router = APIRouter(tags=["queues"])

# A comment line this often keeps proxies and phones' networks from closing an idle stream.
KEEPALIVE_SECONDS = 15.0
RETRY_MILLISECONDS = 3000

STREAM_DOC = """\
`text/event-stream`. Each event is named by what happened to the ticket (`new`, `claimed`,
`released`, `returned`, `rerouted`, `escalated`, `started`, `transferred`, `resolved`,
`rework`, `closed`, `reopened`, `cancelled`, `edited`, `deadline_changed`, `suspended`,
`resumed`, `sla_warning`, `sla_overdue`, `whistle_blown`), its `id` is the timeline event id,
and its data is JSON: `{"event_id", "kind", "ticket_id", "status"}`. Reload the ticket (or
the queue) to see the change. Comment lines keep the stream alive. An `event: closed` means
the server dropped the stream (shutdown, a lagging client, a lost database connection):
reconnect and reload the queue."""


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


async def event_stream(broker: Broker, audience: service.Audience) -> AsyncIterator[str]:
    # Subscribed before the first byte: a client that has read the greeting misses nothing.
    subscription = broker.subscribe(audience.department_id)
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n: connected\n\n"
        while True:
            try:
                event = await subscription.next(KEEPALIVE_SECONDS)
            except StreamClosed as closed:
                yield f"event: closed\ndata: {json.dumps({'reason': str(closed)})}\n\n"
                return
            if event is None:
                yield ": keep-alive\n\n"
            elif audience.sees(event):
                yield sse(event)
    finally:
        # Also reached when the client disconnects (the response task is cancelled).
        broker.unsubscribe(subscription)


@router.get(
    "/departments/{code}/queue/stream",
    operation_id="stream_department_queue",
    summary="Live changes to a department's queue (Server-Sent Events)",
    description=STREAM_DOC,
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                     "description": "an endless event stream"},
               **problem_responses(401, 404, 503)},
)
async def stream_department_queue(code: str, actor: CurrentActor, session: SessionDep,
                                  request: Request) -> StreamingResponse:
    # The request's transaction ends when this returns; the stream holds no connection.
    audience = await service.audience_for(session=session, actor=actor, department_code=code)
    return StreamingResponse(
        event_stream(get_broker(request), audience), media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
