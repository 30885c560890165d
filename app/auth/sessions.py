"""Signing in: password login with failed-login throttling, rotating refresh tokens, logout.

- Login is throttled per account: ``login_max_failures`` failures against an account from
  one client address, or ``login_max_account_failures`` from all addresses together, inside
  ``login_window_seconds`` answer 429 with ``Retry-After`` for that account (from that
  address, or from everywhere) until enough of them have left the window. There is no
  limit per address alone: a street office behind one NAT address (or a proxy) would lock
  every colleague out with one person's typos or one sprayer's guesses, while a spray is
  still held to the per-account limits of each account it tries. The check comes before
  the password is looked at, so a locked account cannot be probed, and an account's logins
  take turns, so guesses sent at once cannot all pass it.
- A refresh token is an opaque random string stored only as a SHA-256 hash. Each use
  marks it used and issues a new one of the same *family*; presenting a used or revoked
  token again means it was copied, so the whole family is revoked (reuse detection). No
  token of a family outlives ``login_max_days`` after the password login that began it.
- Some rejections must leave a trace that survives the request's rollback (the failure
  row, the revoked family): they raise ``CredentialsRejected``, and the auth endpoints'
  session dependency commits before answering 401.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import repository as repo
from app.auth.actor import Actor
from app.auth.models import LoginFailure, RefreshToken, Role, User
from app.auth.passwords import (
    check_password,
    dummy_verify_in_thread,
    hash_password_in_thread,
    needs_rehash,
    verify_password_in_thread,
)
from app.auth.tokens import encode_access_token, new_secret_token, sha256_hex
from app.config import Settings
from app.db import is_postgres
from app.errors import Forbidden, InvalidInput, NotAuthenticated, TooManyRequests
from app.messages import M


class CredentialsRejected(NotAuthenticated):
    """A 401 whose bookkeeping (a recorded failure, a revoked family) must be committed."""


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    expires_in: int  # seconds
    refresh_token: str
    refresh_expires_in: int  # seconds
    role: Role
    must_change_password: bool = False


async def actor_for_user(*, session: AsyncSession, user: User) -> Actor:
    """The actor a user acts as: role and scope, with grid ids and the node's level loaded."""
    return Actor(
        kind="user", id=user.id, role=Role(user.role), name=user.username,
        jurisdiction_id=user.jurisdiction_id,
        scope_level=await repo.node_level(session, user.jurisdiction_id),
        department_id=user.department_id,
        grid_ids=await repo.grid_ids_of(session, user.id),
        must_change_password=user.must_change_password,
    )


# --- login ------------------------------------------------------------------------------


async def login(*, session: AsyncSession, username: str, password: str, client_addr: str,
                now: datetime, settings: Settings) -> TokenPair:
    username = username.strip().lower()[:64]
    client_addr = (client_addr or "unknown")[:64]
    await _one_attempt_at_a_time(session, username)
    await _check_throttle(session, username=username, client_addr=client_addr, now=now,
                          settings=settings)
    user = await repo.user_by_username(session, username) if username else None
    if user is None:
        await dummy_verify_in_thread(password)  # as long as a wrong password: no user leaks
        await _reject(session, username=username, client_addr=client_addr, now=now)
    assert user is not None
    if not await verify_password_in_thread(user.password_hash, password):
        await _reject(session, username=username, client_addr=client_addr, now=now)
    if not user.is_active:
        # Only someone holding the right password learns that the account is disabled.
        raise NotAuthenticated(M("error.account_disabled"))
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password_in_thread(password)
    await repo.clear_failures(session, username, client_addr)
    return await _issue(session, user=user, family=new_secret_token(16), signed_in_at=now,
                        now=now, settings=settings)


# An advisory-lock key space of its own (the first of the two int4 keys).
LOGIN_LOCK_SPACE = 0x57686C31


async def _one_attempt_at_a_time(session: AsyncSession, username: str) -> None:
    """Logins for one account wait for each other until the first commits, so each sees
    the failures recorded before it. Without it, guesses sent at once all passed the check
    before any failure was written: the limit overshot by the parallelism. PostgreSQL: a
    transaction-level advisory lock on the username; SQLite serialises transactions.
    (Per client address the overshoot stays possible: serialising an office's logins
    behind one NAT address would make staff wait for each other.)"""
    if is_postgres(session):
        await session.execute(select(func.pg_advisory_xact_lock(
            LOGIN_LOCK_SPACE, func.hashtext(username))))


async def _check_throttle(session: AsyncSession, *, username: str, client_addr: str,
                          now: datetime, settings: Settings) -> None:
    window = timedelta(seconds=settings.login_window_seconds)
    from_addr, from_all = await repo.failure_times(session, username=username,
                                                   client_addr=client_addr, since=now - window)
    waits = [_seconds_until_below_limit(times, limit, window, now)
             for times, limit in ((from_addr, settings.login_max_failures),
                                  (from_all, settings.login_max_account_failures))
             if len(times) >= limit]
    if waits:
        retry_after = max(waits)
        raise TooManyRequests(M("error.too_many_logins", seconds=retry_after),
                              retry_after=retry_after)


def _seconds_until_below_limit(times: list[datetime], limit: int, window: timedelta,
                               now: datetime) -> int:
    """``times`` are oldest first; the count drops below ``limit`` when the failure at
    position ``len - limit`` leaves the window (with exactly ``limit``: the oldest)."""
    leaving = times[len(times) - limit]
    return max(1, math.ceil((leaving + window - now).total_seconds()))


async def _reject(session: AsyncSession, *, username: str, client_addr: str,
                  now: datetime) -> None:
    session.add(LoginFailure(username=username, client_addr=client_addr, created_at=now))
    await session.flush()
    raise CredentialsRejected(M("error.bad_credentials"))


# --- refresh tokens ---------------------------------------------------------------------


async def _issue(session: AsyncSession, *, user: User, family: str, signed_in_at: datetime,
                 now: datetime, settings: Settings) -> TokenPair:
    """Tokens for a login of ``family``, signed in with a password at ``signed_in_at``: the
    refresh token lasts ``refresh_token_days``, but never past the login's end."""
    actor = replace(await actor_for_user(session=session, user=user), session_family=family)
    raw = new_secret_token()
    expires_at = min(now + timedelta(days=settings.refresh_token_days),
                     signed_in_at + timedelta(days=settings.login_max_days))
    lifetime = expires_at - now
    session.add(RefreshToken(user_id=user.id, family=family, token_hash=sha256_hex(raw),
                             issued_at=now, expires_at=expires_at))
    await session.flush()
    return TokenPair(
        access_token=encode_access_token(actor, secret=settings.secret_key, now=now,
                                         minutes=settings.access_token_minutes),
        expires_in=settings.access_token_minutes * 60,
        refresh_token=raw,
        refresh_expires_in=int(lifetime.total_seconds()),
        role=actor.role,
        must_change_password=actor.must_change_password,
    )


async def change_password(*, session: AsyncSession, actor: Actor, current_password: str,
                          new_password: str, now: datetime, settings: Settings) -> TokenPair:
    """The user's own password change (the only thing an initial password's tokens allow):
    the current password is checked, every other login of the user ends, and the answer is
    a new login without the flag."""
    if actor.kind != "user":
        raise Forbidden(M("error.api_key_no_password"))
    user = await repo.user_by_id(session, actor.id)
    if user is None or not user.is_active:
        raise NotAuthenticated(M("error.account_disabled"))
    if not await verify_password_in_thread(user.password_hash, current_password):
        raise InvalidInput.at(["body", "current_password"], M("error.wrong_current_password"))
    check_password(new_password, loc=("body", "new_password"))
    if new_password == current_password:
        raise InvalidInput.at(["body", "new_password"], M("error.same_password"))
    user.password_hash = await hash_password_in_thread(new_password)
    user.must_change_password = False
    await session.flush()
    await repo.revoke_user_tokens(session, user.id, now)
    return await _issue(session, user=user, family=new_secret_token(16), signed_in_at=now,
                        now=now, settings=settings)


async def refresh(*, session: AsyncSession, refresh_token: str, now: datetime,
                  settings: Settings) -> TokenPair:
    """Trade a refresh token for a new access token and a new refresh token (rotation)."""
    row = await repo.refresh_token_by_hash(session, sha256_hex(refresh_token))
    if row is None:
        raise NotAuthenticated(M("error.refresh_unknown"))
    if row.used_at is None and row.revoked_at is None and row.expires_at <= now:
        raise NotAuthenticated(M("error.refresh_expired"))
    if row.used_at is not None or row.revoked_at is not None \
            or not await repo.mark_used(session, row.id, now):
        # A second use means the token was copied: end every session of this login.
        await repo.revoke_family(session, row.family, now)
        raise CredentialsRejected(M("error.refresh_reused"))
    user = await repo.user_by_id(session, row.user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated(M("error.account_disabled"))
    signed_in_at = await repo.family_started_at(session, row.family)
    return await _issue(session, user=user, family=row.family, signed_in_at=signed_in_at,
                        now=now, settings=settings)


async def logout(*, session: AsyncSession, refresh_token: str, now: datetime) -> None:
    """Revoke the family of the presented refresh token. An unknown token is not an error
    (as in RFC 7009 token revocation): the outcome the caller wants already holds."""
    row = await repo.refresh_token_by_hash(session, sha256_hex(refresh_token))
    if row is not None:
        await repo.revoke_family(session, row.family, now)
