"""HTTP for administrators: users (one role bound to a scope each) and integration API keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from app.auth import bulk, service
from app.auth.deps import Admin
from app.auth.models import ApiKey, Role
from app.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    ApiKeyPage,
    ImportedUserOut,
    UserCreate,
    UserImportOut,
    UserOut,
    UserPage,
    UserRole,
    UserUpdate,
)
from app.auth.service import UserView
from app.deps import ClockDep, SessionDep
from app.errors import InvalidInput, problem_responses
from app.ids import MAX_ID, IdPath
from app.messages import M

router = APIRouter(prefix="/admin", tags=["admin"])

MAX_PAGE = 200
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]


def _after_id(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not (cursor.isascii() and cursor.isdigit()) or not 0 < int(cursor) <= MAX_ID:
        raise InvalidInput.at(["query", "cursor"], M("error.bad_cursor_page"))
    return int(cursor)


def _next_cursor(rows: Sequence, limit: int) -> str | None:
    return str(rows[limit - 1].id) if len(rows) > limit else None


def _user_out(view: UserView) -> UserOut:
    u = view.user
    return UserOut(id=u.id, username=u.username, display_name=u.display_name, role=Role(u.role),
                   is_active=u.is_active, created_at=u.created_at, scope_code=view.scope_code,
                   scope_level=view.scope_level, department_code=view.department_code,
                   grid_codes=list(view.grid_codes), phone=u.phone,
                   must_change_password=u.must_change_password)


def _key_out(key: ApiKey, codes: dict[int, str], raw: str | None = None) -> ApiKeyOut:
    fields = dict(id=key.id, name=key.name, prefix=key.prefix,
                  scope_code=codes.get(key.jurisdiction_id) if key.jurisdiction_id else None,
                  created_at=key.created_at, last_used_at=key.last_used_at,
                  revoked_at=key.revoked_at)
    return ApiKeyCreated(**fields, key=raw) if raw else ApiKeyOut(**fields)


# --- users ------------------------------------------------------------------------------


@router.post(
    "/users/import", operation_id="admin_import_users", response_model=UserImportOut,
    status_code=status.HTTP_201_CREATED,
    summary="Import users from a CSV or .xlsx file (批量导入): all rows or none",
    description="Columns `username`, `name`, `role`, `scope`, `phone` (or 用户名, 姓名, 角色, "
    "范围, 手机号); see the README. Every bad row is reported in one 422, each error's `loc` "
    "`[\"file\", <row number>, <column>]` (the header is row 1), and nothing is imported. "
    "Otherwise every user is created with a random initial password, returned only here, "
    "that must be changed at first login.",
    responses=problem_responses(401, 403, 413, 422),
)
async def import_users(
    admin: Admin, session: SessionDep, clock: ClockDep,
    file: Annotated[UploadFile, File(description="CSV (UTF-8) or .xlsx, header row first")],
) -> UserImportOut:
    raw = await file.read(bulk.MAX_BYTES + 1)
    imported = await bulk.import_users(session=session, raw=raw, now=clock.now())
    return UserImportOut(count=len(imported), users=[
        ImportedUserOut(id=u.id, username=u.username, name=u.name, role=Role(u.role),
                        initial_password=u.initial_password) for u in imported])


@router.get("/users", operation_id="admin_list_users", response_model=UserPage,
            summary="Users, oldest first, cursor-paginated",
            responses=problem_responses(401, 403, 422))
async def list_users(admin: Admin, session: SessionDep, limit: Limit = 50, cursor: Cursor = None,
                     role: UserRole | None = None) -> UserPage:
    users = await service.list_users(session=session, limit=limit + 1,
                                     after_id=_after_id(cursor),
                                     role=Role(role) if role else None)
    views = await service.describe_users(session=session, users=users[:limit])
    return UserPage(items=[_user_out(v) for v in views], next_cursor=_next_cursor(users, limit))


@router.post("/users", operation_id="admin_create_user", response_model=UserOut,
             status_code=status.HTTP_201_CREATED, summary="Create a user with a role and scope",
             responses=problem_responses(401, 403, 409, 422))
async def create_user(body: UserCreate, admin: Admin, session: SessionDep,
                      clock: ClockDep) -> UserOut:
    user = await service.create_user(
        session=session, username=body.username, password=body.password, role=body.role,
        display_name=body.display_name, scope_code=body.scope_code, grid_codes=body.grid_codes,
        department_code=body.department_code, now=clock.now(), phone=body.phone,
        must_change_password=body.must_change_password)
    return _user_out((await service.describe_users(session=session, users=[user]))[0])


@router.get("/users/{user_id}", operation_id="admin_get_user", response_model=UserOut,
            summary="One user", responses=problem_responses(401, 403, 404))
async def get_user(user_id: IdPath, admin: Admin, session: SessionDep) -> UserOut:
    user = await service.get_user(session=session, user_id=user_id)
    return _user_out((await service.describe_users(session=session, users=[user]))[0])


@router.patch("/users/{user_id}", operation_id="admin_update_user", response_model=UserOut,
              summary="Change a user's name, password, active flag, role or scope",
              description="Only the fields sent change. A password reset, a role or scope "
              "change and a deactivation end the user's sessions (refresh tokens revoked).",
              responses=problem_responses(401, 403, 404, 422))
async def update_user(user_id: IdPath, body: UserUpdate, admin: Admin, session: SessionDep,
                      clock: ClockDep) -> UserOut:
    changes = body.model_dump(exclude_unset=True)
    user = await service.update_user(session=session, user_id=user_id, now=clock.now(),
                                     acting_user_id=admin.user_id, **changes)
    return _user_out((await service.describe_users(session=session, users=[user]))[0])


# --- API keys ---------------------------------------------------------------------------


@router.get("/api-keys", operation_id="admin_list_api_keys", response_model=ApiKeyPage,
            summary="Integration API keys (never the keys themselves), cursor-paginated",
            responses=problem_responses(401, 403, 422))
async def list_api_keys(admin: Admin, session: SessionDep, limit: Limit = 50,
                        cursor: Cursor = None) -> ApiKeyPage:
    keys = await service.list_api_keys(session=session, limit=limit + 1,
                                       after_id=_after_id(cursor))
    codes = await service.node_codes(session=session, ids=[k.jurisdiction_id for k in keys])
    return ApiKeyPage(items=[_key_out(k, codes) for k in keys[:limit]],
                      next_cursor=_next_cursor(keys, limit))


@router.post("/api-keys", operation_id="admin_create_api_key", response_model=ApiKeyCreated,
             status_code=status.HTTP_201_CREATED,
             summary="Create an integration API key; the raw key is shown only in this answer",
             responses=problem_responses(401, 403, 422))
async def create_api_key(body: ApiKeyCreate, admin: Admin, session: SessionDep,
                         clock: ClockDep) -> ApiKeyOut:
    key, raw = await service.create_api_key(session=session, name=body.name,
                                            scope_code=body.scope_code, now=clock.now())
    codes = await service.node_codes(session=session, ids=[key.jurisdiction_id])
    return _key_out(key, codes, raw)


@router.delete("/api-keys/{key_id}", operation_id="admin_revoke_api_key",
               status_code=status.HTTP_204_NO_CONTENT, summary="Revoke an API key",
               responses=problem_responses(401, 403, 404))
async def revoke_api_key(key_id: IdPath, admin: Admin, session: SessionDep,
                         clock: ClockDep) -> Response:
    await service.revoke_api_key(session=session, key_id=key_id, now=clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
