"""One pure-ASGI middleware around every HTTP request: its id, its log line and its
metrics. Pure ASGI (not ``BaseHTTPMiddleware``): no extra task or body copy per request,
and streaming responses pass straight through.

- The request id is the caller's ``X-Request-ID`` (when it is a short printable token) or
  a new one; it is returned in the response's ``X-Request-ID`` and on every log line made
  while the request runs.
- The log line names the route *template* (``/api/v1/tickets/{ticket_id}``), never the
  path or query, so no token, stream ticket or resident's data in a URL reaches the logs;
  with it the user id and role (``note_actor``), status and latency.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import MutableMapping
from time import perf_counter
from typing import Any

from app.auth.actor import Actor
from app.observability.logs import request_id_var
from app.observability.metrics import HTTP_REQUESTS

log = logging.getLogger("whistle.request")

_GOOD_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
_ACTOR_KEY = "whistle.actor"
UNMATCHED = "unmatched"  # no route: one label for every unknown path, so labels stay bounded


def note_actor(scope: MutableMapping[str, Any], actor: Actor) -> None:
    """Who the request runs as, for its log line (called by the authentication dependency)."""
    scope[_ACTOR_KEY] = actor


def _request_id(scope: dict[str, Any]) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id" and _GOOD_REQUEST_ID.fullmatch(value):
            return value.decode()
    return uuid.uuid4().hex


# id(route) -> (the route, its full template): one entry per route; holding the route
# keeps its id from being reused by another.
_templates: dict[int, tuple[Any, str]] = {}


def route_template(scope: dict[str, Any]) -> str:
    """The matched route's template with its router's prefix (``/api/v1``): FastAPI puts
    the route as declared (``/tickets/{ticket_id}``) in the scope, so the prefix is the
    part of the first path it matched that its pattern does not cover."""
    route = scope.get("route")
    if route is None or not hasattr(route, "path_regex"):
        return UNMATCHED
    known = _templates.get(id(route))
    if known is not None:
        return known[1]
    path = scope["path"]
    starts = [i for i, c in enumerate(path) if c == "/"]
    prefix = next((path[:i] for i in starts if route.path_regex.match(path[i:])), "")
    template = prefix + route.path_format
    _templates[id(route)] = (route, template)
    return template


class RequestObserver:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = request_id_var.set(request_id)
        header = (b"x-request-id", request_id.encode())
        status = 500  # what the client sees if the app raises before answering

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        started = perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = perf_counter() - started
            route = route_template(scope)
            HTTP_REQUESTS.labels(scope["method"], route, str(status)).observe(elapsed)
            actor: Actor | None = scope.get(_ACTOR_KEY)
            log.info("request", extra={
                "method": scope["method"], "route": route, "status": status,
                "latency_ms": round(elapsed * 1000, 1),
                "user_id": actor.user_id if actor else None,
                "api_key_id": actor.api_key_id if actor else None,
                "role": actor.role.value if actor else None})
            request_id_var.reset(token)
