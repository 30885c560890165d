"""How the OpenAPI document describes a Server-Sent Events response.

For ``text/event-stream`` the response schema describes one *event* (its ``event``, ``data``,
``id`` and ``retry`` fields), not the body as a string: that is how OpenAPI 3.2 and the
schema fuzzer read it, so the fuzzer checks every event a stream sends."""

from __future__ import annotations

from typing import Any


def sse_response(description: str, events: list[str]) -> dict[str, Any]:
    """A ``responses=`` entry for a stream whose events are named ``events``, each carrying
    JSON in ``data``."""
    event = {
        "type": "object",
        "properties": {
            "event": {"type": "string", "enum": sorted(events)},
            "data": {"type": "string", "contentMediaType": "application/json"},
            "id": {"type": "string"},
            "retry": {"type": "integer", "minimum": 0},
        },
    }
    return {"content": {"text/event-stream": {"schema": event}}, "description": description}
