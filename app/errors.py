"""The errors of Whistle's API and their one mapping to RFC 9457 problem+json.

    WhistleError                      500  a bug; never raised on purpose for a user's input
    ├── InvalidInput                  422  the request is well-formed but a field is wrong
    │   └── IdempotencyKeyReused      422  same Idempotency-Key, different request body
    ├── BadRequest                    400  the request cannot be read at all
    ├── NotAuthenticated              401  no credentials, or bad / expired ones
    ├── Forbidden                     403  known actor, but it may never do this (its role, or
    │                                      its standing to this object, gives it no part)
    │   └── PasswordChangeRequired    403  an initial password must be changed first
    ├── NotFound                      404  no such resource, *or* it is outside the actor's scope
    ├── Conflict                      409  the resource's state does not allow it (e.g. claimed)
    │   ├── InvalidTransition         409  the workflow table has no such move from this state
    │   └── NotYourTurn               409  the actor's part comes with the workflow: not the
    │                                      assignee yet (claim first), not summoned (yet)
    ├── Gone                          410  it existed once and is no more (an expired signed link)
    ├── PreconditionFailed            412  If-Match names a version that is no longer current
    ├── PreconditionRequired          428  an If-Match header is required and missing
    ├── PayloadTooLarge               413
    ├── UnsupportedMediaType          415
    ├── TooManyRequests               429  throttled; carries Retry-After
    └── DatabaseUnavailable           503  the database cannot be reached; carries Retry-After

The database's own failures are mapped here too: any error that means the database cannot
be reached (a connection lost mid-request, refused, reset, the server shutting down or
starting up, too many connections, a timeout) answers 503 with ``Retry-After`` and one log
line; a unique key lost to a concurrent writer answers 409; anything else is a bug (500).

Every problem body has ``type``, ``title``, ``status``, ``detail`` and, where a field is at
fault, ``errors``: a list of ``{"loc": [...], "msg": ..., "type": ...}`` naming the field path.

Language: each class's title is the catalogue message ``title.<slug>`` (``app.messages``),
and an error may carry its detail (and its ``errors[].msg``) as a ``Message`` — a message id
with parameters — instead of a string: ``NotFound(M("error.no_ticket", id=7))``. The body is
rendered in the language the request's ``Accept-Language`` prefers (``zh`` or ``en``, the
default) and says which in ``Content-Language``. ``str(exc)`` and ``exc.detail`` are the
English text. A detail given as a plain string is answered as written.
"""

from __future__ import annotations

import errno
import json
import logging
import socket
from collections.abc import Sequence
from typing import Any

from asyncpg.exceptions import ConnectionDoesNotExistError, InterfaceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.messages import CATALOGUE, Lang, M, Message, preferred_language, render

log = logging.getLogger("whistle.errors")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://whistle.example/problems/"


class WhistleError(Exception):
    status = 500
    title = "Internal error"
    slug = "internal"

    def __init__(
        self,
        detail: str | Message | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.message = detail if isinstance(detail, Message) else None
        text = str(detail) if detail else self.title
        super().__init__(text)
        self.detail = text
        self.errors = errors
        self.headers = headers
        self.extra = extra

    def title_in(self, lang: Lang) -> str:
        """The catalogue's ``title.<slug>`` in ``lang``; the class's own (English) title
        when the catalogue has none, so that a missing translation never turns the
        answer into a 500 (tests/messages checks every class of the app has one)."""
        message_id = f"title.{self.slug}"
        if message_id not in CATALOGUE:
            return self.title
        return render(message_id, lang)

    def detail_in(self, lang: Lang) -> str:
        if self.message is not None:
            return self.message.render(lang)
        return self.title_in(lang) if self.detail == self.title else self.detail

    def errors_in(self, lang: Lang) -> list[dict[str, Any]] | None:
        if not self.errors:
            return self.errors
        return [{**e, "msg": e["msg"].render(lang)} if isinstance(e.get("msg"), Message) else e
                for e in self.errors]


class InvalidInput(WhistleError):
    status, title, slug = 422, "Invalid input", "invalid-input"

    @classmethod
    def at(cls, loc: list[str | int] | tuple[str | int, ...], msg: str | Message,
           kind: str = "value_error"):
        """An error about one field: ``InvalidInput.at(["body", "item"], "no such item")``
        (``msg`` may be a catalogue ``Message``)."""
        return cls(msg, errors=[{"loc": list(loc), "msg": msg, "type": kind}])


class IdempotencyKeyReused(InvalidInput):
    title, slug = "Idempotency-Key reused with a different request", "idempotency-key-reused"


class BadRequest(WhistleError):
    status, title, slug = 400, "Bad request", "bad-request"


class NotAuthenticated(WhistleError):
    status, title, slug = 401, "Not authenticated", "not-authenticated"

    def __init__(self, detail: str | Message | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kw)


class Forbidden(WhistleError):
    status, title, slug = 403, "Forbidden", "forbidden"


class PasswordChangeRequired(Forbidden):
    """The user signed in with an initial password: only changing it is allowed."""

    title, slug = "Password change required", "password-change-required"


class NotFound(WhistleError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(WhistleError):
    status, title, slug = 409, "Conflict", "conflict"


class InvalidTransition(Conflict):
    title, slug = "Transition not allowed", "invalid-transition"


class NotYourTurn(Conflict):
    title, slug = "Not your turn", "not-your-turn"


class Gone(WhistleError):
    status, title, slug = 410, "Gone", "gone"


class PreconditionFailed(WhistleError):
    status, title, slug = 412, "Precondition failed", "precondition-failed"


class PreconditionRequired(WhistleError):
    status, title, slug = 428, "Precondition required", "precondition-required"


class PayloadTooLarge(WhistleError):
    status, title, slug = 413, "Payload too large", "payload-too-large"


class UnsupportedMediaType(WhistleError):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


class TooManyRequests(WhistleError):
    status, title, slug = 429, "Too many requests", "too-many-requests"

    def __init__(self, detail: str | Message | None = None, *, retry_after: int, **kw: Any) -> None:
        kw["headers"] = {"Retry-After": str(max(1, retry_after))}
        super().__init__(detail, retry_after=max(1, retry_after), **kw)


class DatabaseUnavailable(WhistleError):
    status, title, slug = 503, "Service unavailable", "database-unavailable"

    def __init__(self, detail: str | Message | None = None, *, retry_after: int = 1, **kw: Any) -> None:
        kw["headers"] = {"Retry-After": str(max(1, retry_after))}
        super().__init__(detail, **kw)


# SQLSTATE classes that say the server cannot serve this connection now: 08 connection
# exception, 53 insufficient resources (53300 too many connections), 57P operator
# intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03 starting up / shutting down).
_OUTAGE_SQLSTATES = ("08", "53", "57P")
# What a socket says when the server is not there (plain OSErrors: asyncio reports a host
# tried on several addresses as one "Multiple exceptions" OSError without an errno).
_OUTAGE_ERRNOS = {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE,
                  errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT, None}


_CLOSED = "connection is closed"


def database_outage(exc: BaseException) -> BaseException | None:
    """The failure in ``exc``'s chain that means the database cannot be reached, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return current
        if isinstance(current, TimeoutError | PoolTimeout | ConnectionError | socket.gaierror
                      | ConnectionDoesNotExistError):
            return current
        if type(current) is OSError and current.errno in _OUTAGE_ERRNOS:
            return current
        if isinstance(current, InterfaceError) and _CLOSED in str(current):
            # A connection cut while SQLAlchemy sets it up (its on-connect codec step)
            # arrives as asyncpg's own error, unwrapped; other InterfaceErrors are misuse.
            return current
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_OUTAGE_SQLSTATES):
            return current
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return None


_STATUS_SLUGS = {
    400: "bad-request", 401: "not-authenticated", 403: "forbidden", 404: "not-found",
    405: "method-not-allowed", 409: "conflict", 413: "payload-too-large",
    415: "unsupported-media-type", 422: "invalid-input", 429: "too-many-requests",
    503: "database-unavailable",
}
# Starlette's own details for the statuses it raises itself, as catalogue messages.
_STARLETTE_DETAILS = {"Not Found": "error.route_not_found",
                      "Method Not Allowed": "error.method_not_allowed"}

_STATUS_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    503: "Service unavailable",
}


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str = "about:blank",
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug if slug != "about:blank" else slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def request_language(request: Request) -> Lang:
    """The language the request prefers for texts: ``zh`` or ``en`` (``app.messages``)."""
    return preferred_language(request.headers.get("accept-language"))


def _in_language(response: JSONResponse, lang: Lang) -> JSONResponse:
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language"
    return response


def _validation_msg(error: dict[str, Any], lang: Lang) -> str:
    """pydantic's message for a known error type, from the catalogue; else its own."""
    message_id = f"validation.{error.get('type', '')}"
    if lang == "en" or message_id not in CATALOGUE:
        return error.get("msg", "")
    try:
        return render(message_id, lang, **(error.get("ctx") or {}))
    except (KeyError, IndexError):
        return error.get("msg", "")


def _clean_validation_errors(errors: Sequence[Any], lang: Lang = "en"
                             ) -> list[dict[str, Any]]:
    return [{"loc": list(e.get("loc", ())), "msg": _validation_msg(e, lang),
             "type": e.get("type", "")} for e in errors]


def problem_for(exc: WhistleError, *, lang: Lang, instance: str | None) -> JSONResponse:
    """The problem+json answer of ``exc``, its texts in ``lang``."""
    return _in_language(problem(
        exc.status, exc.title_in(lang), exc.detail_in(lang), slug=exc.slug, instance=instance,
        errors=exc.errors_in(lang), headers=exc.headers, **exc.extra), lang)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(WhistleError)
    async def _whistle_error(request: Request, exc: WhistleError):
        return problem_for(exc, lang=request_language(request), instance=request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        lang = request_language(request)
        errors = _clean_validation_errors(exc.errors(), lang)
        where = ", ".join(".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in errors[:5])
        return _in_language(problem(
            422, render("title.invalid-input", lang),
            where or render("error.invalid_request", lang), slug="invalid-input",
            instance=request.url.path, errors=errors), lang)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        lang = request_language(request)
        slug = _STATUS_SLUGS.get(exc.status_code)
        title = render(f"title.{slug}" if slug else "title.error", lang)
        detail = str(exc.detail)
        if detail in _STARLETTE_DETAILS:
            detail = render(_STARLETTE_DETAILS[detail], lang)
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # every method of the path, not just the first route's
            from app.route_methods import allowed_methods

            headers = {**(headers or {}),
                       "Allow": ", ".join(allowed_methods(request.app, request.url.path))}
        return _in_language(problem(exc.status_code, title, detail, instance=request.url.path,
                                    headers=headers), lang)

    async def _database_unavailable(request: Request, exc: Exception):
        cause = database_outage(exc)
        if cause is None:
            raise exc  # a bug, not an outage: the server error handler answers it
        # One line, no traceback: an outage fails many requests at once. A lost connection
        # has been discarded by SQLAlchemy (with the pool's others), so a retry gets a new one.
        log.warning("database unavailable: %s %s: %s: %s", request.method, request.url.path,
                    type(cause).__name__, str(cause).splitlines()[0][:200] if str(cause) else "")
        error = DatabaseUnavailable(M("error.database_unavailable"))
        lang = request_language(request)
        return _in_language(problem(error.status, error.title_in(lang), error.detail_in(lang),
                                    slug=error.slug, instance=request.url.path,
                                    headers=error.headers), lang)

    # Connecting raises the socket's own errors (refused, timed out) past SQLAlchemy; a
    # statement's failure arrives as a DBAPIError; asyncpg's, on the paths that use it
    # directly, as themselves.
    for kind in (DBAPIError, OSError, PoolTimeout, ConnectionDoesNotExistError, InterfaceError):
        app.add_exception_handler(kind, _database_unavailable)

    @app.exception_handler(IntegrityError)
    async def _integrity_error(request: Request, exc: IntegrityError):
        # Reached only when a concurrent writer beat us to a unique key the service did not
        # anticipate; the transaction is already rolled back, so nothing was half-written.
        lang = request_language(request)
        return _in_language(problem(409, render("title.conflict", lang),
                                    render("error.concurrent_change", lang), slug="conflict",
                                    instance=request.url.path), lang)


PROBLEM_RESPONSE_SCHEMA: dict[str, Any] = {
    "content": {
        PROBLEM_JSON: {
            "schema": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "instance": {"type": "string"},
                    "errors": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "loc": {"type": "array", "items": {}},
                                "msg": {"type": "string"},
                                "type": {"type": "string"},
                            },
                        },
                    },
                },
                "required": ["type", "title", "status", "detail"],
            }
        }
    }
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting the problem+json errors of an operation."""
    return {s: {"description": _STATUS_TITLES.get(s, "Error"), **PROBLEM_RESPONSE_SCHEMA}
            for s in statuses}


def document_problems(app: FastAPI) -> None:
    """Make the OpenAPI document say what the service answers, for every operation under
    /api: every 4xx/5xx is the one ``Problem`` schema as problem+json (FastAPI documents its
    422 as its own JSON body, which the handler above never sends); an operation with a
    body may answer 400 (a body that cannot be read: JSON that is not UTF-8, multipart
    without a boundary); every operation may answer 503 (the database cannot be reached);
    an operation that answers 428 requires its If-Match header."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        problem_schema = PROBLEM_RESPONSE_SCHEMA["content"][PROBLEM_JSON]["schema"]
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = problem_schema
        reference = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith("/api/"):
                continue
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if "requestBody" in operation:
                    responses.setdefault("400", {"description": "the body cannot be read"})
                if operation.get("parameters") or "requestBody" in operation:
                    responses.setdefault("422", {"description": "Invalid input"})
                outage = responses.setdefault("503", {
                    "description": "the database cannot be reached; retry"})
                outage.setdefault("headers", {"Retry-After": {
                    "schema": {"type": "integer"}, "description": "seconds"}})
                for status, response in responses.items():
                    if status[0] in "45":
                        response["content"] = reference
                if "428" in responses:
                    for parameter in operation.get("parameters", []):
                        if parameter["in"] == "header" and parameter["name"] == "If-Match":
                            parameter["required"] = True
        for unused in ("HTTPValidationError", "ValidationError"):
            if unused not in json.dumps(schema.get("paths", {})):
                schemas.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend it
