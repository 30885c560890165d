"""Checks every API route makes before FastAPI reads the request, wrapped around each route
once at start-up (``guard_routes``):

1. **Authentication before the body.** An anonymous request to an operation that needs an
   actor answers 401 whatever its body: a body FastAPI cannot read (JSON that is not UTF-8,
   multipart without a boundary) would otherwise answer 400 first and tell a stranger about
   the operation's input.
2. **Only storable text.** PostgreSQL cannot store U+0000 in text, and no UTF-8 encoder
   can write a lone surrogate (``"\\ud800"`` in JSON): such a character in a path, a query
   or a JSON or form body is a 422 naming the field, on every database alike.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import InvalidInput, NotAuthenticated, problem_for
from app.messages import M, preferred_language
from app.storable import UNSTORABLE, unstorable_fields

# A JSON body can spell an unstorable character only like this (a raw NUL is not JSON).
_MAYBE_UNSTORABLE_JSON = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_CREDENTIALS = (b"authorization", b"x-api-key")


def _refusal(locs: list[list[str | int]]) -> InvalidInput:
    msg = M("error.unstorable")
    return InvalidInput(M("error.field_says", field=".".join(str(p) for p in locs[0]), msg=msg),
                        errors=[{"loc": loc, "msg": msg, "type": "unstorable_character"}
                                for loc in locs])


def _needs_actor(route: APIRoute) -> bool:
    from app.auth.deps import AUTHENTICATING

    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if dependant.call in AUTHENTICATING:
            return True
        pending.extend(dependant.dependencies)
    return False


def _guard(inner: ASGIApp, *, methods: set[str], needs_actor: bool) -> ASGIApp:
    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["method"] not in methods:  # the route answers 405
            error: InvalidInput | NotAuthenticated | None = None
        elif needs_actor and not any(name in _CREDENTIALS for name, _ in scope["headers"]):
            error = NotAuthenticated(M("error.credentials_missing"))
        else:
            locs = [["path", name] for name, value in scope.get("path_params", {}).items()
                    if isinstance(value, str) and UNSTORABLE.search(value)]
            query = scope.get("query_string", b"").decode("latin-1")
            locs += [["query", name] for name, value in parse_qsl(query, keep_blank_values=True)
                     if UNSTORABLE.search(name + value)]
            receive, body_locs = await _check_body(scope, receive)
            locs += body_locs
            error = _refusal(locs) if locs else None
        if error is None:
            await inner(scope, receive, send)
            return
        accept = dict(scope["headers"]).get(b"accept-language", b"").decode("latin-1")
        response = problem_for(error, lang=preferred_language(accept), instance=path)
        await response(scope, receive, send)

    return guarded


async def _check_body(scope: Scope, receive: Receive) -> tuple[Receive, list[list[str | int]]]:
    """Reads a JSON or form body (to check it) and gives the route a receive that replays it;
    other bodies (uploads) pass through unread."""
    content_type = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip()
    is_json = content_type == b"application/json" or content_type.endswith(b"+json")
    if not (is_json or content_type == b"application/x-www-form-urlencoded"):
        return receive, []
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    locs: list[list[str | int]] = []
    if is_json and _MAYBE_UNSTORABLE_JSON.search(body):
        with contextlib.suppress(ValueError):  # not JSON: FastAPI answers that
            locs = list(unstorable_fields(json.loads(body), ["body"]))
    elif not is_json:
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        locs = [["body", name] for name, value in pairs if UNSTORABLE.search(name + value)]
    return replay, locs


def guard_routes(app: FastAPI) -> None:
    """Wrap every route of the routers ``app`` mounts under /api (call after including them;
    again is harmless). Open311's routes answer in the GeoReport specification's own error
    format and are left alone."""
    for mounted in app.router.routes:
        prefix = getattr(getattr(mounted, "include_context", None), "prefix", "")
        if prefix.startswith("/api/"):
            # include_router mounts a FastAPI-private _IncludedRouter, typed as a BaseRoute
            _guard_router(mounted.original_router)  # type: ignore[attr-defined]


def _guard_router(router: Any) -> None:
    for route in router.routes:
        if hasattr(route, "original_router"):  # a router included in this one
            _guard_router(route.original_router)
        elif isinstance(route, APIRoute) and not getattr(route, "_guarded", False):
            # The router calls handle() with the path parameters in the scope.
            # An APIRoute's methods are never None (FastAPI defaults them to GET).
            guarded = _guard(route.handle, methods=route.methods or set(),
                             needs_actor=_needs_actor(route))
            route.handle = guarded  # type: ignore[method-assign,assignment]  # wrapped in place
            route._guarded = True  # type: ignore[attr-defined]  # our marker on FastAPI's route
