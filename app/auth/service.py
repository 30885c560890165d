"""Users, their role and scope, logins and API keys. Keyword-only functions that flush and
never commit: the caller's unit of work decides.

A user has exactly one role, bound to the scope that role needs:

=====================  ==========================================
role                   scope
=====================  ==========================================
grid_worker            one or more grids (``grid_codes``)
community_dispatcher   a community (``scope_code``)
street_dispatcher      a street (``scope_code``)
supervisor             any node of the tree (``scope_code``)
department_staff/lead  a department (``department_code``)
admin                  nothing
integration            not a user role: integration clients hold API keys
=====================  ==========================================
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import repository as repo
from app.auth.actor import Actor
from app.auth.apikeys import generate_api_key
from app.auth.models import ApiKey, Role, User
from app.auth.passwords import check_password, hash_password_in_thread
from app.auth.revocations import note_ended

# The sign-in half of this service (who a user acts as, login, refresh, logout) lives in
# auth.sessions; it is re-exported here so callers need one import.
from app.auth.sessions import (  # noqa: F401
    CredentialsRejected,
    TokenPair,
    actor_for_user,
    change_password,
    login,
    logout,
    refresh,
)
from app.db import utc_now
from app.errors import Conflict, InvalidInput, NotFound
from app.jurisdiction.models import Level
from app.jurisdiction.repository import department_by_code
from app.messages import M

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")
USER_ROLES = tuple(r for r in Role if r is not Role.integration)
# The level of node the ``scope_code`` must name, per role (None: any level).
NODE_ROLES: dict[Role, str | None] = {
    Role.community_dispatcher: Level.community.value,
    Role.street_dispatcher: Level.street.value,
    Role.supervisor: None,
}
DEPARTMENT_ROLES = frozenset({Role.department_staff, Role.department_lead})


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True, slots=True)
class Scope:
    """A role's scope resolved to ids."""

    jurisdiction_id: int | None = None
    department_id: int | None = None
    grid_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class UserView:
    """A user with its scope spelled as codes, for the admin API and the CLI."""

    user: User
    scope_code: str | None
    scope_level: str | None
    department_code: str | None
    grid_codes: tuple[str, ...]


# --- validation -------------------------------------------------------------------------


def parse_role(role: str | Role) -> Role:
    if role == Role.integration:
        raise InvalidInput.at(["body", "role"], M("user.integration_role"))
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput.at(["body", "role"], M(
            "user.unknown_role", role=role, roles=", ".join(r.value for r in USER_ROLES))) from None


def normalise_username(username: str) -> str:
    return username.strip().lower()


def check_username(username: str) -> str:
    name = normalise_username(username)
    if not USERNAME_PATTERN.match(name):
        raise InvalidInput.at(["body", "username"], M("user.username_rule"))
    return name


PHONE_PATTERN = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


def check_phone(phone: str | None, *, loc: tuple[str | int, ...] = ("body", "phone")
                ) -> str | None:
    value = (phone or "").strip()
    if value and not PHONE_PATTERN.match(value):
        raise InvalidInput.at(list(loc), M("user.phone_rule"))
    return value or None


def check_display_name(display_name: str | None) -> str:
    name = (display_name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput.at(["body", "display_name"], M("user.display_name_rule"))
    return name


def _unwanted(role: Role, scope_code: str | None, grid_codes: Sequence[str],
              department_code: str | None) -> list[dict[str, Any]]:
    """Errors for scope fields the role does not take (a silent drop would surprise)."""
    takes = {
        "scope_code": role in NODE_ROLES,
        "grid_codes": role is Role.grid_worker,
        "department_code": role in DEPARTMENT_ROLES,
    }
    given = {"scope_code": scope_code, "grid_codes": list(grid_codes),
             "department_code": department_code}
    return [{"loc": ["body", field], "msg": M("user.role_has_no_field", role=role.value,
                                              field=field), "type": "value_error"}
            for field, value in given.items() if value and not takes[field]]


async def resolve_scope(*, session: AsyncSession, role: Role, scope_code: str | None,
                        grid_codes: Sequence[str], department_code: str | None) -> Scope:
    """Check that the scope fields fit the role and name existing nodes; return their ids.
    Errors name the field (``errors[].loc``) so a form can show them in place."""
    if errors := _unwanted(role, scope_code, grid_codes, department_code):
        raise InvalidInput(errors[0]["msg"], errors=errors)
    if role is Role.grid_worker:
        return Scope(grid_ids=await _grid_ids(session, grid_codes))
    if role in NODE_ROLES:
        return Scope(jurisdiction_id=await _node_id(session, scope_code, NODE_ROLES[role], role))
    if role in DEPARTMENT_ROLES:
        if not department_code:
            raise InvalidInput.at(["body", "department_code"],
                                  M("user.needs_department", role=role.value))
        dept = await department_by_code(session, department_code)
        if dept is None:
            raise InvalidInput.at(["body", "department_code"],
                                  M("error.no_department", code=department_code))
        return Scope(department_id=dept.id)
    return Scope()


async def _grid_ids(session: AsyncSession, grid_codes: Sequence[str]) -> tuple[int, ...]:
    codes = list(dict.fromkeys(c.strip() for c in grid_codes if c.strip()))
    if not codes:
        raise InvalidInput.at(["body", "grid_codes"], M("user.needs_grid"))
    nodes = await repo.nodes_by_code(session, codes)
    for code in codes:
        node = nodes.get(code)
        if node is None or node.level != Level.grid:
            raise InvalidInput.at(["body", "grid_codes"], M("user.no_grid", code=code))
    return tuple(nodes[c].id for c in codes)


async def _node_id(session: AsyncSession, code: str | None, level: str | None, role: Role) -> int:
    what = M(f"scope.a_{level}") if level else M("scope.a_node")
    if not code:
        raise InvalidInput.at(["body", "scope_code"],
                              M("user.needs_node", role=role.value, what=what))
    node = (await repo.nodes_by_code(session, [code])).get(code)
    if node is None:
        raise InvalidInput.at(["body", "scope_code"], M("user.no_node", code=code))
    if level is not None and node.level != level:
        raise InvalidInput.at(["body", "scope_code"], M(
            "user.wrong_level", code=code, level=M(f"level.{node.level}"), role=role.value,
            what=what))
    return node.id


# --- users ------------------------------------------------------------------------------


async def create_user(*, session: AsyncSession, username: str, password: str, role: str | Role,
                      display_name: str | None = None, scope_code: str | None = None,
                      grid_codes: Sequence[str] = (), department_code: str | None = None,
                      now: datetime | None = None, phone: str | None = None,
                      must_change_password: bool = False,
                      password_hash: str | None = None) -> User:
    """Create a user; ``must_change_password`` makes ``password`` an initial one (its
    tokens allow only changing it). ``password_hash``, when given, is ``password`` already
    hashed (a bulk import hashes its passwords side by side)."""
    name = check_username(username)
    check_password(password)
    parsed = parse_role(role)
    scope = await resolve_scope(session=session, role=parsed, scope_code=scope_code,
                                grid_codes=grid_codes, department_code=department_code)
    if await repo.user_by_username(session, name) is not None:
        raise Conflict(M("user.taken", name=name),
                       errors=[{"loc": ["body", "username"], "msg": M("user.taken_field"),
                                 "type": "conflict"}])
    user = User(username=name, display_name=check_display_name(display_name or name),
                password_hash=password_hash or await hash_password_in_thread(password),
                role=parsed.value, jurisdiction_id=scope.jurisdiction_id,
                department_id=scope.department_id, is_active=True, created_at=now or utc_now(),
                phone=check_phone(phone), must_change_password=must_change_password)
    session.add(user)
    await session.flush()
    await repo.replace_grids(session, user.id, scope.grid_ids)
    await session.flush()
    return user


async def get_user(*, session: AsyncSession, user_id: int) -> User:
    user = await repo.user_by_id(session, user_id)
    if user is None:
        raise NotFound(M("error.no_user", id=user_id))
    return user


async def list_users(*, session: AsyncSession, limit: int, after_id: int | None = None,
                     role: Role | None = None) -> Sequence[User]:
    return await repo.list_users(session, after_id=after_id, limit=limit,
                                 role=role.value if role else None)


async def update_user(*, session: AsyncSession, user_id: int, now: datetime,
                      acting_user_id: int | None = None, display_name: Any = UNSET,
                      password: Any = UNSET, is_active: Any = UNSET, role: Any = UNSET,
                      scope_code: Any = UNSET, grid_codes: Any = UNSET,
                      department_code: Any = UNSET, phone: Any = UNSET,
                      must_change_password: Any = UNSET) -> User:
    """Change what was given (UNSET: leave as is). Scope fields are checked as a whole
    against the resulting role: fields not sent keep their value if the role stays, and are
    cleared if it changes. Any change to who the user is or what they may do (password,
    role, scope, deactivation) revokes their refresh tokens, so old sessions end with
    their current access token."""
    user = await get_user(session=session, user_id=user_id)
    ends_sessions = False
    if display_name is not UNSET:
        user.display_name = check_display_name(display_name)
    if phone is not UNSET:
        user.phone = check_phone(phone)
    if must_change_password is not UNSET:
        if must_change_password is None:
            raise InvalidInput.at(["body", "must_change_password"], M("error.true_or_false"))
        ends_sessions |= bool(must_change_password) and not user.must_change_password
        user.must_change_password = bool(must_change_password)
    if password is not UNSET:
        check_password(password or "")
        user.password_hash = await hash_password_in_thread(password)
        ends_sessions = True
    if is_active is not UNSET:
        if is_active is None:
            raise InvalidInput.at(["body", "is_active"], M("error.true_or_false"))
        if not is_active and user.id == acting_user_id:
            raise InvalidInput.at(["body", "is_active"], M("user.deactivate_self"))
        ends_sessions |= user.is_active and not is_active
        if user.is_active != bool(is_active):
            if is_active:
                note_ended(session, reactivated=[user.id])
            else:
                note_ended(session, deactivated=[user.id])
        user.is_active = bool(is_active)
    scope_fields = {"scope_code": scope_code, "grid_codes": grid_codes,
                    "department_code": department_code}
    if role is not UNSET or any(v is not UNSET for v in scope_fields.values()):
        await _change_scope(session, user, role, scope_fields, acting_user_id)
        ends_sessions = True
    await session.flush()
    if ends_sessions:
        await repo.revoke_user_tokens(session, user.id, now)
    return user


async def _change_scope(session: AsyncSession, user: User, role: Any,
                        fields: dict[str, Any], acting_user_id: int | None) -> None:
    new_role = parse_role(role) if role is not UNSET and role is not None else Role(user.role)
    if new_role.value != user.role and user.id == acting_user_id:
        raise InvalidInput.at(["body", "role"], M("user.own_role"))
    defaults: dict[str, Any]  # the fields' current values, or none when the role changes
    if new_role.value == user.role:
        current = (await describe_users(session=session, users=[user]))[0]
        defaults = {"scope_code": current.scope_code, "grid_codes": current.grid_codes,
                    "department_code": current.department_code}
    else:
        defaults = {"scope_code": None, "grid_codes": (), "department_code": None}
    given = {k: (defaults[k] if v is UNSET else v) for k, v in fields.items()}
    scope = await resolve_scope(session=session, role=new_role, scope_code=given["scope_code"],
                                grid_codes=given["grid_codes"] or (),
                                department_code=given["department_code"])
    user.role = new_role.value
    user.jurisdiction_id = scope.jurisdiction_id
    user.department_id = scope.department_id
    await repo.replace_grids(session, user.id, scope.grid_ids)


async def describe_users(*, session: AsyncSession, users: Sequence[User]) -> list[UserView]:
    """Each user with its scope as codes, in three queries for the whole page."""
    nodes = await repo.node_codes(session, [u.jurisdiction_id for u in users])
    depts = await repo.department_codes(session, [u.department_id for u in users])
    grids = await repo.grid_codes_of(session, [u.id for u in users])
    views = []
    for u in users:
        # A None id (no scope, no department) finds nothing, as wanted: hence the ignores.
        code, level = nodes.get(u.jurisdiction_id, (None, None))  # type: ignore[arg-type]
        views.append(UserView(user=u, scope_code=code, scope_level=level,
                              department_code=depts.get(u.department_id),  # type: ignore[arg-type]
                              grid_codes=tuple(grids.get(u.id, ()))))
    return views


async def node_codes(*, session: AsyncSession, ids: Sequence[int | None]) -> dict[int, str]:
    """id → code of the given tree nodes (None ids are skipped)."""
    return {i: code for i, (code, _level) in
            (await repo.node_codes(session, [i for i in ids if i is not None])).items()}


async def describe_actor_scope(*, session: AsyncSession, actor: Actor) -> dict[str, Any]:
    """The actor's scope as codes: scope_code, scope_level, department_code, grid_codes."""
    nodes = await repo.node_codes(session, [actor.jurisdiction_id, *actor.grid_ids])
    depts = await repo.department_codes(session, [actor.department_id])
    # A None id (no scope, no department) finds nothing, as wanted: hence the ignores.
    code, level = nodes.get(actor.jurisdiction_id, (None, None))  # type: ignore[arg-type]
    return {"scope_code": code, "scope_level": level,
            "department_code": depts.get(actor.department_id),  # type: ignore[arg-type]
            "grid_codes": sorted(nodes[g][0] for g in actor.grid_ids if g in nodes)}


# --- API keys ---------------------------------------------------------------------------


async def create_api_key(*, session: AsyncSession, name: str, scope_code: str | None = None,
                         now: datetime | None = None) -> tuple[ApiKey, str]:
    """A new integration key; the raw key is returned once and never stored."""
    label = (name or "").strip()
    if not label or len(label) > 100:
        raise InvalidInput.at(["body", "name"], M("user.display_name_rule"))
    node_id = None
    if scope_code:
        node_id = await _node_id(session, scope_code, None, Role.integration)
    while True:  # a clash of 32-bit prefixes is rare, but the prefix must be unique
        raw, prefix, key_hash = generate_api_key()
        if await repo.api_key_by_prefix(session, prefix) is None:
            break
    key = ApiKey(name=label, prefix=prefix, key_hash=key_hash, jurisdiction_id=node_id,
                 created_at=now or utc_now())
    session.add(key)
    await session.flush()
    return key, raw


async def revoke_api_key(*, session: AsyncSession, key_id: int, now: datetime) -> ApiKey:
    """Revoke a key (idempotent: the first revocation time is kept)."""
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(M("error.no_api_key", id=key_id))
    if key.revoked_at is None:
        key.revoked_at = now
        await session.flush()
    return key


async def list_api_keys(*, session: AsyncSession, limit: int,
                        after_id: int | None = None) -> Sequence[ApiKey]:
    return await repo.list_api_keys(session, after_id=after_id, limit=limit)
