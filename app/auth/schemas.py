"""Request and response bodies of the auth and admin endpoints. None of them carries a
password hash or a key hash; a raw API key appears once, in ``ApiKeyCreated``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.auth.models import Role
from app.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

NEXT_CURSOR = "pass as ?cursor= for the next page; null at the end"
PHONE_DOC = "a mainland mobile (11 digits) or a landline (0…)"
INITIAL_DOC = ("the password is an initial one: the user must change it at first login "
               "(POST /auth/password) before anything else")

# The roles a user may hold: integration clients authenticate with API keys instead.
UserRole = StrEnum(  # type: ignore[misc]  # members derived from Role, which mypy cannot follow
    "UserRole", {r.name: r.value for r in Role if r is not Role.integration})


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the access token expires")
    refresh_token: str = Field(description="opaque; trade it at /auth/refresh, once")
    refresh_expires_in: int = Field(description="seconds until the refresh token expires")
    role: Role
    must_change_password: bool = Field(
        False, description="signed in with an initial password: these tokens allow only "
        "POST /auth/password (and GET /auth/me) until it is changed")


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=200)


class ScopeOut(BaseModel):
    scope_code: str | None = Field(None, description="the tree node (dispatchers, supervisors, "
                                   "scoped API keys)")
    scope_level: str | None = Field(None, description="street, community or grid")
    department_code: str | None = None
    grid_codes: list[str] = Field(default_factory=list)


class MeOut(BaseModel):
    kind: Literal["user", "api_key"]
    id: int
    username: str | None = Field(None, description="null for an API key")
    name: str = Field(description="display name of the user, or the API key's name")
    role: Role
    scope: ScopeOut
    must_change_password: bool = Field(False, description="true until an initial password "
                                       "is changed (POST /auth/password)")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=64, examples=["gw07"])
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
    role: UserRole
    display_name: str | None = Field(None, max_length=100)
    scope_code: str | None = Field(None, description="community_dispatcher: a community; "
                                   "street_dispatcher: a street; supervisor: any node")
    grid_codes: list[str] = Field(default_factory=list, description="grid_worker: its grids")
    department_code: str | None = Field(None, description="department_staff/lead")
    phone: str | None = Field(None, max_length=32, description=PHONE_DOC)
    must_change_password: bool = Field(False, description=INITIAL_DOC)


class UserUpdate(BaseModel):
    """Only the fields sent change. Scope fields are checked together against the
    resulting role; sending ``role`` clears the scope fields not sent with it."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(None, max_length=100)
    password: str | None = Field(None, min_length=MIN_PASSWORD_LENGTH,
                                 max_length=MAX_PASSWORD_LENGTH, description="a reset")
    is_active: bool | None = None
    role: UserRole | None = None
    scope_code: str | None = None
    grid_codes: list[str] | None = None
    department_code: str | None = None
    phone: str | None = Field(None, max_length=32, description=PHONE_DOC + "; null clears it")
    must_change_password: bool | None = Field(None, description=INITIAL_DOC + " (true ends "
                                              "the user's sessions)")


class UserOut(ScopeOut):
    id: int
    username: str
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime
    phone: str | None = None
    must_change_password: bool = False


class ImportedUserOut(BaseModel):
    id: int
    username: str
    name: str
    role: Role
    initial_password: str = Field(description="shown only now; must be changed at first login")


class UserImportOut(BaseModel):
    count: int
    users: list[ImportedUserOut]


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None = Field(description=NEXT_CURSOR)


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["12345 hotline"])
    scope_code: str | None = Field(None, description="the node the client may file into; "
                                   "omit for every street")


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="the second part of the key, to tell keys apart")
    scope_code: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="the raw key: shown this once, send it as X-API-Key")


class ApiKeyPage(BaseModel):
    items: list[ApiKeyOut]
    next_cursor: str | None = Field(description=NEXT_CURSOR)
