"""Integration API keys: ``wh_<prefix>_<secret>``; the prefix finds the row, the hash proves it."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.models import ApiKey, Role
from app.auth.tokens import sha256_hex
from app.errors import NotAuthenticated
from app.jurisdiction.models import Jurisdiction


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
        raise NotAuthenticated("malformed API key")
    row = (
        await session.execute(
            select(ApiKey, Jurisdiction.level)
            .outerjoin(Jurisdiction, Jurisdiction.id == ApiKey.jurisdiction_id)
            .where(ApiKey.prefix == prefix)
        )
    ).first()
    if row is None or not hmac.compare_digest(row[0].key_hash, sha256_hex(raw)):
        raise NotAuthenticated("unknown API key")
    key, level = row
    if key.revoked_at is not None:
        raise NotAuthenticated("API key revoked")
    return Actor(kind="api_key", id=key.id, role=Role.integration, name=key.name,
                 jurisdiction_id=key.jurisdiction_id, scope_level=level)
