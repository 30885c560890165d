"""The event streams send what the OpenAPI document says: each event an object whose
``event`` names one of the documented kinds and whose ``data`` is JSON (the schema fuzzer
checks every event a stream sends against this schema)."""

from __future__ import annotations

import json

import jsonschema_rs
import pytest

from app.cli.server import render_openapi
from app.live import router as live_router
from app.live.broker import QueueEvent
from app.live.publish import QUEUE_EVENTS
from app.notifications import router as notifications_router
from app.notifications.models import Notification


def _fields(text: str) -> dict[str, str]:
    event: dict[str, str] = {}
    for line in text.strip("\n").split("\n"):
        name, _, value = line.partition(": ")
        event[name] = value
    return event


def _event_schema(path: str) -> dict:
    document = json.loads(render_openapi())
    content = document["paths"][path]["get"]["responses"]["200"]["content"]
    return content["text/event-stream"]["schema"]


def _queue_events() -> list[str]:
    return [live_router.sse(QueueEvent(event_id=7, kind=kind, ticket_id=3, department_id=1,
                                       street_id=1, community_id=1, grid_id=1,
                                       status="dispatched"))
            for kind in QUEUE_EVENTS] + [live_router.closed("the stream's time is up")]


def _inbox_events() -> list[str]:
    entry = Notification(id=6, kind="awaiting_verification", title="待核查", body="案件已处置",
                         link="/app/tickets/3", ticket_id=3, urgent=True, count=1)
    return [notifications_router.sse(entry),
            "event: closed\ndata: {\"reason\": \"the stream's time is up; reconnect\"}\n\n"]


@pytest.mark.parametrize(("path", "events"), [
    ("/api/v1/departments/{code}/queue/stream", _queue_events),
    ("/api/v1/notifications/live", _inbox_events),
])
def test_every_event_a_stream_sends_is_the_documented_event(path, events):
    validator = jsonschema_rs.validator_for(_event_schema(path))
    for text in events():
        event = _fields(text)
        assert validator.is_valid(event), (path, event)
        json.loads(event["data"])
    assert not validator.is_valid({"event": "no-such-event", "data": "{}"})
