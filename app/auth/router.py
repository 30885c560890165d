"""HTTP for signing in (``/auth``) and, through ``admin_router``, for managing users and
API keys (``/admin``). ``router`` carries both; it is what ``app.routers`` mounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from app.auth import service
from app.auth.admin_router import router as admin_router
from app.auth.deps import AuthSessionDep, PendingPasswordActor
from app.auth.schemas import MeOut, PasswordChangeIn, RefreshIn, ScopeOut, TokenOut
from app.auth.sessions import TokenPair
from app.deps import ClockDep, SessionDep, SettingsDep
from app.errors import problem_responses

auth_router = APIRouter(prefix="/auth", tags=["auth"])


def _token_out(pair: TokenPair) -> TokenOut:
    return TokenOut(access_token=pair.access_token, expires_in=pair.expires_in,
                    refresh_token=pair.refresh_token,
                    refresh_expires_in=pair.refresh_expires_in, role=pair.role,
                    must_change_password=pair.must_change_password)


@auth_router.post(
    "/token", operation_id="auth_token", response_model=TokenOut,
    summary="Sign in with username and password (OAuth2 password flow)",
    description="Form fields `username` and `password`. Returns a short-lived JWT access "
    "token and a rotating refresh token. Repeated failures against one account from one "
    "address, or from all addresses together, answer 429 with `Retry-After` (never for "
    "other accounts at the same address).",
    responses=problem_responses(401, 422, 429),
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request, session: AuthSessionDep, clock: ClockDep, settings: SettingsDep,
) -> TokenOut:
    client_addr = request.client.host if request.client else "unknown"
    pair = await service.login(session=session, username=form.username, password=form.password,
                               client_addr=client_addr, now=clock.now(), settings=settings)
    return _token_out(pair)


@auth_router.post(
    "/refresh", operation_id="auth_refresh", response_model=TokenOut,
    summary="Trade a refresh token for new tokens (the old refresh token is used up)",
    description="Presenting a refresh token a second time revokes every token of its login.",
    responses=problem_responses(401, 422),
)
async def refresh(body: RefreshIn, session: AuthSessionDep, clock: ClockDep,
                  settings: SettingsDep) -> TokenOut:
    pair = await service.refresh(session=session, refresh_token=body.refresh_token,
                                 now=clock.now(), settings=settings)
    return _token_out(pair)


@auth_router.post(
    "/logout", operation_id="auth_logout", status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out: revoke the refresh token and every token of its login",
    responses=problem_responses(422),
)
async def logout(body: RefreshIn, session: AuthSessionDep, clock: ClockDep) -> Response:
    await service.logout(session=session, refresh_token=body.refresh_token, now=clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth_router.post(
    "/password", operation_id="auth_change_password", response_model=TokenOut,
    summary="Change your own password (the one thing an initial password allows)",
    description="Checks `current_password`, sets `new_password`, ends every other login of "
    "the user and answers a new login (tokens without `must_change_password`). A user "
    "created with an initial password (bulk import) must do this first: until then every "
    "other operation answers 403 `password-change-required`. An API key has no password "
    "(403).",
    responses=problem_responses(401, 403, 422),
)
async def change_password(body: PasswordChangeIn, actor: PendingPasswordActor,
                          session: SessionDep, clock: ClockDep,
                          settings: SettingsDep) -> TokenOut:
    pair = await service.change_password(
        session=session, actor=actor, current_password=body.current_password,
        new_password=body.new_password, now=clock.now(), settings=settings)
    return _token_out(pair)


@auth_router.get(
    "/me", operation_id="auth_me", response_model=MeOut,
    summary="Who you are: your role and scope",
    responses=problem_responses(401),
)
async def me(actor: PendingPasswordActor, session: SessionDep) -> MeOut:
    """The role and scope the presented credentials act with (a role or scope change made
    by an admin ends the user's sessions: the new one shows after signing in again)."""
    scope = await service.describe_actor_scope(session=session, actor=actor)
    if actor.kind == "api_key":
        return MeOut(kind="api_key", id=actor.id, name=actor.name, role=actor.role,
                     scope=ScopeOut(**scope))
    user = await service.get_user(session=session, user_id=actor.id)
    return MeOut(kind="user", id=user.id, username=user.username, name=user.display_name,
                 role=actor.role, scope=ScopeOut(**scope),
                 must_change_password=user.must_change_password)


router = APIRouter()
router.include_router(auth_router)
router.include_router(admin_router)
