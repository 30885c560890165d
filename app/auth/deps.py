"""Authentication and role checks as typed dependencies. Every endpoint takes its actor
from ``CurrentActor`` (or one of the role aliases built with ``require_roles``); scope
filtering then happens inside each domain's queries (see ``auth.scope``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.apikeys import authenticate_api_key
from app.auth.models import Role
from app.auth.revocations import EndedSessions
from app.auth.sessions import CredentialsRejected
from app.auth.tokens import decode_access_token, decode_stream_ticket
from app.clock import Clock
from app.config import Settings
from app.deps import ClockDep, SessionDep, SettingsDep
from app.errors import Forbidden, NotAuthenticated, PasswordChangeRequired
from app.messages import M
from app.observability.requests import note_actor

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token", auto_error=False, scheme_name="OAuth2Password"
)
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ApiKey")


# The dependencies that authenticate the caller: ``app.request_guard`` answers 401 before
# reading the body of a request without credentials to an operation using one of them.
AUTHENTICATING: set[Callable[..., Any]] = set()
F = TypeVar("F", bound=Callable[..., Any])


def authenticates(call: F) -> F:
    AUTHENTICATING.add(call)
    return call


async def get_ended_sessions(request: Request) -> EndedSessions:
    return request.app.state.ended_sessions


EndedSessionsDep = Annotated[EndedSessions, Depends(get_ended_sessions)]


@authenticates
async def actor_before_password_change(
    settings: SettingsDep,
    clock: ClockDep,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)] = None,
    api_key: Annotated[str | None, Depends(api_key_header)] = None,
    *,
    ended_sessions: EndedSessionsDep,
) -> Actor:
    """The caller, even one who must change an initial password first: only for changing
    it and for ``/auth/me``."""
    if token:
        actor = decode_access_token(token, secret=settings.secret_key, now=clock.now())
        await ended_sessions.check(actor, session=session, now=clock.now())
        return actor
    if api_key:
        return await authenticate_api_key(session=session, raw=api_key, now=clock.now())
    raise NotAuthenticated(M("error.credentials_missing"))


@authenticates
async def current_actor(
    actor: Annotated[Actor, Depends(actor_before_password_change)],
) -> Actor:
    """The caller; a user signed in with an initial password may do nothing but change it
    (403 ``password-change-required``)."""
    if actor.must_change_password:
        raise PasswordChangeRequired(M("error.password_change_required"))
    return actor


TokenDep = Annotated[str | None, Depends(oauth2_scheme)]
ApiKeyDep = Annotated[str | None, Depends(api_key_header)]


@authenticates
async def _caller(request: Request, session: SessionDep, token: TokenDep = None,
                  api_key: ApiKeyDep = None) -> Actor:
    """``current_actor``, noted for the request's log line. One dependency with the
    credentials as its only sub-dependencies besides the session: FastAPI solves every
    dependency of every request anew (a recursive call, four parameter passes, a cache
    key), and the chain this replaced (the settings, the clock, the ended sessions, the
    two actor steps) was a fifth of a hot read's CPU. The settings, clock and ended
    sessions are the app's own (``app.state``), as their dependencies return them."""
    state = request.app.state
    actor = await current_actor(await actor_before_password_change(
        state.settings, state.clock, session, token, api_key,
        ended_sessions=state.ended_sessions))
    note_actor(request.scope, actor)  # for the request's log line
    return actor


# Not ``authenticates``: a stream ticket in the query is credentials enough, so the guard
# must let a request without an Authorization header through to it.
async def _caller_when_asked(request: Request, session: SessionDep, token: TokenDep = None,
                             api_key: ApiKeyDep = None) -> Callable[[], Awaitable[Actor]]:
    """``current_actor``, resolved only when called: a stream opened with a stream ticket
    carries no other credentials (an EventSource cannot send headers)."""
    state = request.app.state

    async def resolve() -> Actor:
        actor = await current_actor(await actor_before_password_change(
            state.settings, state.clock, session, token, api_key,
            ended_sessions=state.ended_sessions))
        note_actor(request.scope, actor)
        return actor
    return resolve


CallerWhenAsked = Annotated[Callable[[], Awaitable[Actor]], Depends(_caller_when_asked)]


async def stream_watcher(ticket: str | None, audience: str, *, settings: Settings,
                         clock: Clock, caller: Callable[[], Awaitable[Actor]]) -> Actor:
    """Who opens a stream: the holder of a stream ticket for ``audience`` when there is
    one (``POST …/stream-ticket``), else the caller as on any request."""
    if ticket:
        return decode_stream_ticket(ticket, secret=settings.secret_key, now=clock.now(),
                                    department_code=audience)
    return await caller()


CurrentActor = Annotated[Actor, Depends(_caller)]
PendingPasswordActor = Annotated[Actor, Depends(actor_before_password_change)]


def require_roles(*roles: Role):
    allowed = frozenset(roles)

    @authenticates
    async def _check(request: Request, session: SessionDep, token: TokenDep = None,
                     api_key: ApiKeyDep = None) -> Actor:
        # The caller resolved here rather than as a sub-dependency: one level fewer to solve.
        actor = await _caller(request, session, token, api_key)
        if actor.role not in allowed:
            raise Forbidden(M("error.role_forbidden", role=actor.role.value,
                              allowed=", ".join(sorted(r.value for r in allowed))))
        return actor

    return Depends(_check)


# Aliases used across routers.
Admin = Annotated[Actor, require_roles(Role.admin)]


async def get_auth_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Like ``SessionDep`` (one transaction, committed at the edge), except that a
    ``CredentialsRejected`` is committed before it answers 401: the recorded login failure
    or the revoked refresh-token family is the whole point of that answer."""
    async with request.app.state.sessions() as session:
        try:
            yield session
        except CredentialsRejected:
            await session.commit()
            request.app.state.ended_sessions.take_notes(session.info)
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()
            request.app.state.ended_sessions.take_notes(session.info)


AuthSessionDep = Annotated[AsyncSession, Depends(get_auth_session, scope="function")]
