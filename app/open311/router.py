"""HTTP for Open311 GeoReport v2 under ``/open311/v2`` (not under /api/v1): discovery,
services, service definitions, requests and tokens, each as ``.json`` or ``.xml``.

Each endpoint takes ``SessionDep`` like the rest of the API: one transaction per request,
committed at the edge, rolled back when anything raised. Every error of these routes —
ours, the tickets domain's, FastAPI's validation — is answered in the spec's error format,
never as problem+json: ``install_error_handlers`` wraps the app's handlers so that an error
raised on an ``Open311Route`` is translated (after the session dependency has rolled the
request back), and any other route's goes on to the app-wide handler as before.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.attachments.service import media_link
from app.deps import ClockDep, SessionDep
from app.errors import NotAuthenticated, WhistleError
from app.jurisdiction.geo import JurisdictionCache, JurisdictionsDep
from app.matrix.cache import MatrixCache
from app.matrix.service import matrix_cache
from app.open311 import reads, service, updates
from app.open311.formats import Open311Error, error_response, format_of, render
from app.open311.schemas import (
    DiscoveryOut,
    ErrorOut,
    PostedOut,
    PostedUpdateOut,
    RequestForm,
    RequestOut,
    ServiceDefinitionOut,
    ServiceOut,
    TokenOut,
    UpdateForm,
    UpdateOut,
)
from app.storable import UNSTORABLE
from app.tickets.lookups import LookupsDep

PREFIX = "/open311/v2"
# Statuses passed through as they are; every other client error is a 400, as the spec says.
KEPT_STATUSES = (403, 404, 405, 409, 413, 429)


def _as_open311(exc: Exception) -> Open311Error | None:
    """The spec's error for an exception raised while serving an Open311 route."""
    if isinstance(exc, Open311Error):
        return exc
    if isinstance(exc, RequestValidationError):
        details = [(400, f"{e.get('loc', ['?'])[-1]}: {e.get('msg', '')}") for e in exc.errors()]
        return Open311Error(400, details[0][1], *details[1:])
    if isinstance(exc, NotAuthenticated):  # the spec: 403 for a missing or invalid key
        return Open311Error(403, exc.detail)
    if isinstance(exc, WhistleError) and exc.status < 500:
        # Open311 clients read English (the spec's language): catalogue texts render so.
        messages = [str(e.get("msg", "")) for e in exc.errors_in("en") or ()] or [exc.detail]
        status = exc.status if exc.status in KEPT_STATUSES else 400
        return Open311Error(status, messages[0], *[(status, m) for m in messages[1:]],
                            headers=exc.headers)
    if isinstance(exc, StarletteHTTPException):
        status = exc.status_code if exc.status_code in KEPT_STATUSES else 400
        return Open311Error(status, str(exc.detail), headers=exc.headers)
    if isinstance(exc, IntegrityError):
        return Open311Error(409, "the request conflicts with a concurrent change; retry")
    return None


def _format_from_path(request: Request) -> str:
    fmt = format_of(request.path_params.get("format"))
    return fmt or ("xml" if request.url.path.endswith(".xml") else "json")


async def _refuse_unstorable(request: Request) -> None:
    """U+0000 or a lone surrogate in a path, query or form field is a 400 naming the field,
    as the API's request guard makes it a 422 (PostgreSQL cannot store it). The form read
    here is the one the route reads: Starlette keeps it. A dependency of every route of
    the router, so it runs before the route's own (and before its session opens)."""
    fields = [(name, value) for name, value in request.path_params.items()]
    fields += request.query_params.multi_items()
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        fields += (await request.form()).multi_items()
    for name, value in fields:
        if isinstance(value, str) and UNSTORABLE.search(name + value):
            raise Open311Error(400, f"{name}: contains a character that cannot be stored "
                                    "(U+0000 or a lone surrogate)")


class Open311Route(APIRoute):
    """A route whose errors are answered as Open311 errors in the requested format (the
    handlers ``install_error_handlers`` puts in front of the app's tell them by this
    class)."""


# The exceptions an Open311 route may answer in its own format; anything else (a database
# outage, a bug) goes to the app-wide handlers as on every other route.
_TRANSLATED = (Open311Error, RequestValidationError, WhistleError, StarletteHTTPException,
               IntegrityError)

Handler = Callable[[Request, Exception], Any]


def _scoped(fallback: Handler | None) -> Handler:
    async def handle(request: Request, exc: Exception) -> Any:
        if isinstance(request.scope.get("route"), Open311Route):
            error = _as_open311(exc)
            if error is not None:
                return error_response(_format_from_path(request), error)
        if fallback is None:
            raise exc  # a bug: let the server answer 500 and log it
        return await fallback(request, exc)

    return handle


def install_error_handlers(app: FastAPI) -> None:
    """Answer the errors of Open311's routes in the spec's format, leaving every other
    route's to the handlers already installed (call after ``app.errors``')."""
    for kind in _TRANSLATED:
        app.add_exception_handler(kind, _scoped(app.exception_handlers.get(kind)))


router = APIRouter(prefix=PREFIX, tags=["open311"], route_class=Open311Route,
                   dependencies=[Depends(_refuse_unstorable)])

XML = {"text/xml": {"schema": {"type": "string"}}}


def _ok(model: Any, description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": description, "content": XML}}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": list[ErrorOut], "description": "Open311 errors", "content": XML}
            for s in statuses}


def _format(format: str) -> str:
    """The path's suffix: json or xml; any other is a resource we do not have."""
    fmt = format_of(format)
    if fmt is None:
        raise Open311Error(404, f"format {format!r} is not served: use .json or .xml")
    return fmt


Format = Annotated[str, Depends(_format)]
Jurisdiction = Annotated[str | None, Query(description="a street code, e.g. BH (optional)")]
MatrixDep = Annotated[MatrixCache, Depends(matrix_cache)]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/discovery.{format}", operation_id="open311_discovery", response_model=None,
            summary="The service discovery document", responses={**_ok(DiscoveryOut, "discovery"),
                                                                 **_errors(404)})
async def get_discovery(request: Request, fmt: Format, clock: ClockDep, session: SessionDep,
                        matrices: MatrixDep) -> Response:
    matrix = await matrices.current(session)
    return render(fmt, "discovery", service.discovery(
        matrix=matrix, endpoint_url=_base(request) + PREFIX, now=clock.now()))


@router.get("/services.{format}", operation_id="open311_list_services", response_model=None,
            summary="Every item of the current matrix as a service",
            responses={**_ok(list[ServiceOut], "services"), **_errors(404)})
async def list_services(request: Request, fmt: Format, matrices: MatrixDep,
                        jurisdictions: JurisdictionsDep, session: SessionDep,
                        jurisdiction_id: Jurisdiction = None) -> Response:
    service.street_of(await jurisdictions.get(session), jurisdiction_id)
    matrix = await matrices.current(session)
    return render(fmt, "services", service.list_services(matrix=matrix))


@router.get("/services/{service_code}.{format}", operation_id="open311_get_service",
            response_model=None, summary="A service's definition: the attributes to send",
            responses={**_ok(ServiceDefinitionOut, "service definition"), **_errors(404)})
async def get_service(request: Request, service_code: str, fmt: Format, matrices: MatrixDep,
                      jurisdictions: JurisdictionsDep, session: SessionDep,
                      jurisdiction_id: Jurisdiction = None) -> Response:
    service.street_of(await jurisdictions.get(session), jurisdiction_id)
    matrix = await matrices.current(session)
    return render(fmt, "service_definition",
                  service.service_definition(matrix=matrix, service_code=service_code))


@router.post("/requests.{format}", operation_id="open311_post_request", response_model=None,
             summary="File a service request: it becomes a ticket routed by the matrix",
             description="Form-encoded as the spec says. `api_key` is required (403 when "
                         "missing or invalid, as the spec says); a retry of the same content "
                         "from the same key within 10 minutes returns the first request. "
                         "Answers 200, as in the spec's examples.",
             responses={**_ok(list[PostedOut], "the new request"), **_errors(400, 403, 404)},
             # The spec's form encoding, and multipart when a photo is sent as `media`.
             openapi_extra={"requestBody": {"content": {
                 "application/x-www-form-urlencoded": {
                     "schema": {"$ref": "#/components/schemas/Body_open311_post_request"}}}}})
async def post_request(request: Request, fmt: Format, form: Annotated[RequestForm, Form()],
                       clock: ClockDep, lookups: LookupsDep, matrices: MatrixDep,
                       jurisdictions: JurisdictionsDep, session: SessionDep,
                       api_key: Annotated[str | None, Query(
                           description="accepted here too, for clients that send it in "
                                       "the URL")] = None,
                       media: Annotated[UploadFile | None, File(
                           description="a photo in the body (multipart/form-data) instead "
                                       "of a media_url: JPEG, PNG, WebP, GIF or HEIC")] = None,
                       ) -> Response:
    now = clock.now()
    settings = request.app.state.settings
    photo = await media.read(settings.attachment_max_bytes + 1) if media is not None else None
    actor = await service.authenticate(session=session, api_key=form.api_key or api_key,
                                       now=now)
    tree = await jurisdictions.get(session)
    filed = await service.file_request(
        session=session, lookups=lookups, tree=tree, matrix=await matrices.current(session),
        actor=actor, form=form, now=now, settings=settings, media=photo,
        media_name=(media.filename if media is not None else None) or "media")
    ctx = await reads.context_for(session, tree, [filed.view], _media_links(request, now))
    ticket = filed.view.ticket
    return render(fmt, "service_requests", [{
        "service_request_id": ticket.number,
        "service_notice": reads.notice_of(ticket, reads.agency_of(ticket, ctx)),
        "account_id": form.account_id,
    }], headers={"X-Open311-Replayed": "false" if filed.created else "true"})


def _media_links(request: Request, now: datetime) -> Callable[[int], str]:
    """An attachment id → a signed link to its photo that any client can fetch."""
    settings = request.app.state.settings
    base = _base(request)
    return lambda attachment_id: base + media_link(
        secret=settings.secret_key, attachment_id=attachment_id, now=now,
        days=settings.media_link_days)


async def _present(request: Request, jurisdictions: JurisdictionCache, session: AsyncSession,
                   views, now: datetime) -> list[dict]:
    ctx = await reads.context_for(session, await jurisdictions.get(session), views,
                                  _media_links(request, now))
    return [reads.request_out(v, ctx) for v in views]


@router.get("/requests.{format}", operation_id="open311_list_requests", response_model=None,
            summary="Requests filed through Open311: newest first, at most 1000, "
                    "within 90 days (default: the last 90)",
            responses={**_ok(list[RequestOut], "requests"), **_errors(400, 404)})
async def list_requests(
    request: Request, fmt: Format, clock: ClockDep, jurisdictions: JurisdictionsDep,
    session: SessionDep, jurisdiction_id: Jurisdiction = None,
    service_request_id: Annotated[str | None, Query(
        description="comma-separated case numbers; overrides every other filter")] = None,
    service_code: Annotated[str | None, Query(description="comma-separated")] = None,
    start_date: Annotated[str | None, Query(description="W3C, e.g. 2026-11-01T00:00:00Z")] = None,
    end_date: Annotated[str | None, Query(description="W3C, e.g. 2026-11-30T00:00:00Z")] = None,
    status: Annotated[str | None, Query(description="open, closed or open,closed")] = None,
    updated_after: Annotated[str | None, Query(
        description="W3C: only requests whose last change is at or after this (as Chicago's "
                    "and Helsinki's CitySDK servers take it); with it or updated_before, "
                    "start_date/end_date apply only when sent")] = None,
    updated_before: Annotated[str | None, Query(
        description="W3C: only requests whose last change is at or before this")] = None,
    extensions: Annotated[str | None, Query(
        description="CitySDK's switch for extended_attributes; they are always sent")] = None,
) -> Response:
    now = clock.now()
    street_id = service.street_of(await jurisdictions.get(session), jurisdiction_id)
    query = reads.parse_query(service_request_id=service_request_id,
                              service_code=service_code, start_date=start_date,
                              end_date=end_date, status=status, street_id=street_id,
                              now=now, updated_after=updated_after,
                              updated_before=updated_before)
    found = await _present(request, jurisdictions, session,
                           await reads.find_requests(session, query), now)
    return render(fmt, "service_requests", found)


@router.get("/requests/{service_request_id}.{format}", operation_id="open311_get_request",
            response_model=None, summary="One request by its case number",
            responses={**_ok(list[RequestOut], "the request"), **_errors(404)})
async def get_request(request: Request, service_request_id: str, fmt: Format,
                      jurisdictions: JurisdictionsDep, clock: ClockDep, session: SessionDep,
                      jurisdiction_id: Jurisdiction = None) -> Response:
    street_id = service.street_of(await jurisdictions.get(session), jurisdiction_id)
    view = await reads.get_request(session, service_request_id, street_id)
    found = await _present(request, jurisdictions, session, [view], clock.now())
    return render(fmt, "service_requests", found)


@router.get("/tokens/{token}.{format}", operation_id="open311_get_token", response_model=None,
            summary="The request a token stands for (routing is synchronous: the token is "
                    "the case number)",
            responses={**_ok(list[TokenOut], "the request id"), **_errors(404)})
async def get_token(request: Request, token: str, fmt: Format, jurisdictions: JurisdictionsDep,
                    session: SessionDep, jurisdiction_id: Jurisdiction = None) -> Response:
    street_id = service.street_of(await jurisdictions.get(session), jurisdiction_id)
    try:
        view = await reads.get_request(session, token, street_id)
    except Open311Error as exc:
        raise Open311Error(404, f"token {token!r} was not found") from exc
    return render(fmt, "service_requests",
                  [{"service_request_id": view.ticket.number, "token": token.strip()}])


@router.get("/servicerequestupdates.{format}", operation_id="open311_list_updates",
            response_model=None,
            summary="mySociety's extension: what happened to requests filed through Open311, "
                    "oldest first, at most 1000, within 90 days (default: the last 90)",
            description="What FixMyStreet's update fetcher reads: each workflow move, result "
                        "and reason of a case as a `request_update`. `status` uses "
                        "mySociety's extended values (a cancelled case is "
                        "`no_further_action`, a merged one `duplicate`). Public like GET "
                        "requests; an `api_key` sent is ignored.",
            responses={**_ok(list[UpdateOut], "updates"), **_errors(400, 404)})
async def list_updates(
    request: Request, fmt: Format, clock: ClockDep, jurisdictions: JurisdictionsDep,
    session: SessionDep, jurisdiction_id: Jurisdiction = None,
    start_date: Annotated[str | None, Query(description="W3C, e.g. 2026-11-23T00:00:00Z")] = None,
    end_date: Annotated[str | None, Query(description="W3C, e.g. 2026-11-23T02:00:00Z")] = None,
) -> Response:
    now = clock.now()
    street_id = service.street_of(await jurisdictions.get(session), jurisdiction_id)
    query = updates.parse_query(start_date=start_date, end_date=end_date,
                                street_id=street_id, now=now)
    found = await updates.find_updates(session, query, _media_links(request, now))
    return render(fmt, "service_request_updates", found)


@router.post("/servicerequestupdates.{format}", operation_id="open311_post_update",
             response_model=None,
             summary="mySociety's extension: a resident's comment on a request the key filed",
             description="Form-encoded, as FixMyStreet's client sends it. The comment is added "
                         "to the case's timeline; it never moves the case. A retry with the "
                         "same `update_id` answers the same update. 403 for a missing or "
                         "invalid `api_key`; 404 for a request the key did not file.",
             responses={**_ok(list[PostedUpdateOut], "the update's id"),
                        **_errors(400, 403, 404)})
async def post_update(request: Request, fmt: Format, form: Annotated[UpdateForm, Form()],
                      clock: ClockDep, jurisdictions: JurisdictionsDep,
                      session: SessionDep) -> Response:
    now = clock.now()
    actor = await service.authenticate(session=session, api_key=form.api_key, now=now)
    service.street_of(await jurisdictions.get(session), form.jurisdiction_id)
    posted = await updates.post_update(
        session=session, actor=actor, service_request_id=form.service_request_id,
        update_id=form.update_id, status=form.status, description=form.description,
        updated_datetime=form.updated_datetime, media_url=form.media_url, now=now)
    return render(fmt, "service_request_updates", [{"update_id": str(posted.event_id)}],
                  headers={"X-Open311-Replayed": "false" if posted.created else "true"})


ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@router.api_route("/{path:path}", methods=ANY_METHOD, include_in_schema=False)
async def not_found(request: Request, path: str) -> Response:
    """Anything else under the prefix: 405 when the path exists for another method,
    404 otherwise — in Open311's format, not problem+json."""
    allowed = sorted({m for r in router.routes
                      if isinstance(r, APIRoute) and r.endpoint is not not_found
                      and r.matches(request.scope)[0] is Match.PARTIAL
                      for m in (r.methods or ())})
    if allowed:
        raise Open311Error(405, f"{request.method} is not allowed here; use "
                                + ", ".join(allowed), headers={"Allow": ", ".join(allowed)})
    raise Open311Error(404, f"no Open311 resource at {request.url.path}")


OPEN311_ROUTERS: list[APIRouter] = [router]
