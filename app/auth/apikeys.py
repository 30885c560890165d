"""Integration API keys: ``wh_<prefix>_<secret>``; the prefix finds the row, the hash proves it."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.models import ApiKey, Role
from app.auth.tokens import sha256_hex
from app.db import is_postgres
from app.errors import NotAuthenticated
from app.jurisdiction.models import Jurisdiction
from app.messages import M

# ``last_used_at`` is kept to the minute: written on every request, it would make each of a
# key's requests wait for the one before it to commit.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def generate_api_key() -> tuple[str, str, str]:
    """A new key as (the raw key to show once, its prefix, its hash to store)."""
    prefix = secrets.token_hex(4)
    raw = f"wh_{prefix}_{secrets.token_urlsafe(24)}"
    return raw, prefix, sha256_hex(raw)


def _prefix_of(raw: str) -> str | None:
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != "wh" or len(parts[1]) != 8:
        return None
    return parts[1]


async def authenticate_api_key(*, session: AsyncSession, raw: str, now: datetime) -> Actor:
    prefix = _prefix_of(raw)
    if prefix is None:
        raise NotAuthenticated(M("error.api_key_malformed"))
    row = (
        await session.execute(
            select(ApiKey, Jurisdiction.level)
            .outerjoin(Jurisdiction, Jurisdiction.id == ApiKey.jurisdiction_id)
            .where(ApiKey.prefix == prefix)
        )
    ).first()
    if row is None or not hmac.compare_digest(row[0].key_hash, sha256_hex(raw)):
        raise NotAuthenticated(M("error.api_key_unknown"))
    key, level = row
    if key.revoked_at is not None:
        raise NotAuthenticated(M("error.api_key_revoked"))
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        await _note_use(session, key.id, now)
    return Actor(kind="api_key", id=key.id, role=Role.integration, name=key.name,
                 jurisdiction_id=key.jurisdiction_id, scope_level=level)


async def _note_use(session: AsyncSession, key_id: int, now: datetime) -> None:
    """Stamp the key's ``last_used_at`` unless another request of the key already did this
    minute. On PostgreSQL a request that finds the row locked by another one doing the
    same skips it (SKIP LOCKED) instead of waiting for that request to commit. The lock is
    FOR NO KEY UPDATE, as the UPDATE's own: FOR UPDATE would also stop every other request
    of the key at its foreign-key check (a ticket's ``created_by_api_key_id``) until this
    one commits, and deadlock it with two posts racing for one Idempotency-Key."""
    due = select(ApiKey.id).where(
        ApiKey.id == key_id,
        or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - LAST_USED_RESOLUTION))
    if is_postgres(session):
        due = due.with_for_update(skip_locked=True, key_share=True)
    await session.execute(update(ApiKey).where(ApiKey.id == due.scalar_subquery())
                          .values(last_used_at=now)
                          .execution_options(synchronize_session=False))

