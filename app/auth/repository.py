"""The queries of the identity domain: users and their scopes, refresh tokens, login failures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey, LoginFailure, RefreshToken, User, UserGrid
from app.auth.revocations import note_ended
from app.db import rowcount
from app.jurisdiction.models import Department, Jurisdiction

# --- users -----------------------------------------------------------------------------


async def user_by_username(session: AsyncSession, username: str) -> User | None:
    return (await session.execute(
        select(User).where(User.username == username))).scalar_one_or_none()


async def user_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def list_users(session: AsyncSession, *, after_id: int | None, limit: int,
                     role: str | None = None) -> Sequence[User]:
    stmt = select(User).order_by(User.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(User.id > after_id)
    if role is not None:
        stmt = stmt.where(User.role == role)
    return (await session.execute(stmt)).scalars().all()


async def grid_ids_of(session: AsyncSession, user_id: int) -> frozenset[int]:
    rows = await session.execute(select(UserGrid.grid_id).where(UserGrid.user_id == user_id))
    return frozenset(rows.scalars())


async def grid_codes_of(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, list[str]]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(UserGrid.user_id, Jurisdiction.code)
        .join(Jurisdiction, Jurisdiction.id == UserGrid.grid_id)
        .where(UserGrid.user_id.in_(user_ids))
        .order_by(Jurisdiction.code))
    codes: dict[int, list[str]] = {}
    for user_id, code in rows:
        codes.setdefault(user_id, []).append(code)
    return codes


async def replace_grids(session: AsyncSession, user_id: int, grid_ids: Sequence[int]) -> None:
    await session.execute(delete(UserGrid).where(UserGrid.user_id == user_id))
    session.add_all(UserGrid(user_id=user_id, grid_id=g) for g in grid_ids)


# --- the tree and departments, by code or id --------------------------------------------


async def nodes_by_code(session: AsyncSession, codes: Sequence[str]) -> dict[str, Jurisdiction]:
    if not codes:
        return {}
    rows = await session.execute(select(Jurisdiction).where(Jurisdiction.code.in_(codes)))
    return {j.code: j for j in rows.scalars()}


async def node_codes(session: AsyncSession,
                     ids: Sequence[int | None]) -> dict[int, tuple[str, str]]:
    """id → (code, level) for the given nodes (None ids are skipped)."""
    known = [i for i in ids if i is not None]
    if not known:
        return {}
    rows = await session.execute(select(Jurisdiction.id, Jurisdiction.code, Jurisdiction.level)
                                 .where(Jurisdiction.id.in_(known)))
    return {i: (code, level) for i, code, level in rows}


async def department_codes(session: AsyncSession, ids: Sequence[int | None]) -> dict[int, str]:
    known = [i for i in ids if i is not None]
    if not known:
        return {}
    rows = await session.execute(select(Department.id, Department.code)
                                 .where(Department.id.in_(known)))
    return {i: code for i, code in rows}


async def node_level(session: AsyncSession, node_id: int | None) -> str | None:
    if node_id is None:
        return None
    return (await session.execute(
        select(Jurisdiction.level).where(Jurisdiction.id == node_id))).scalar_one_or_none()


# --- login failures ---------------------------------------------------------------------


async def failure_times(session: AsyncSession, *, username: str, client_addr: str,
                        since: datetime) -> tuple[list[datetime], list[datetime]]:
    """The times of recent failures against the username from the client address, and
    from every address, oldest first."""
    rows = await session.execute(
        select(LoginFailure.client_addr, LoginFailure.created_at)
        .where(LoginFailure.created_at > since, LoginFailure.username == username)
        .order_by(LoginFailure.created_at))
    from_addr: list[datetime] = []
    from_all: list[datetime] = []
    for addr, at in rows:
        from_all.append(at)
        if addr == client_addr:
            from_addr.append(at)
    return from_addr, from_all


async def clear_failures(session: AsyncSession, username: str, client_addr: str) -> None:
    """Forget the failures a successful login explains (its own address's typos); those
    from other addresses still count against the account."""
    await session.execute(delete(LoginFailure).where(LoginFailure.username == username,
                                                     LoginFailure.client_addr == client_addr))


# --- refresh tokens ---------------------------------------------------------------------


async def refresh_token_by_hash(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    return (await session.execute(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash))).scalar_one_or_none()


async def family_started_at(session: AsyncSession, family: str) -> datetime:
    """When the login of a refresh-token family signed in: its first token's issue."""
    return (await session.execute(select(func.min(RefreshToken.issued_at))
                                  .where(RefreshToken.family == family))).scalar_one()


async def mark_used(session: AsyncSession, token_id: int, now: datetime) -> bool:
    """Use a refresh token once: a conditional UPDATE, so of two concurrent refreshes with
    the same token exactly one wins and the other is treated as a reuse."""
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None),
               RefreshToken.revoked_at.is_(None))
        .values(used_at=now))
    return rowcount(result) == 1


async def revoke_family(session: AsyncSession, family: str, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now))
    note_ended(session, families=[family])  # its access tokens stop too


async def revoke_user_tokens(session: AsyncSession, user_id: int, now: datetime) -> None:
    families = (await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(RefreshToken.family)
        .execution_options(synchronize_session=False))).scalars().all()
    note_ended(session, families=families)  # their access tokens stop too


# --- API keys ---------------------------------------------------------------------------


async def list_api_keys(session: AsyncSession, *, after_id: int | None,
                        limit: int) -> Sequence[ApiKey]:
    stmt = select(ApiKey).order_by(ApiKey.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(ApiKey.id > after_id)
    return (await session.execute(stmt)).scalars().all()


async def api_key_by_prefix(session: AsyncSession, prefix: str) -> ApiKey | None:
    return (await session.execute(
        select(ApiKey).where(ApiKey.prefix == prefix))).scalar_one_or_none()
