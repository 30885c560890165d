"""Access tokens: short-lived HS256 JWTs that carry the actor's role and scope, so that
authorising a request needs no database round trip. Refresh tokens are opaque random
strings, stored only as SHA-256 hashes (see ``auth.service``)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import jwt

from app.auth.actor import Actor
from app.auth.models import Role
from app.errors import NotAuthenticated

ALGORITHM = "HS256"


def encode_access_token(actor: Actor, *, secret: str, now: datetime, minutes: int) -> str:
    claims: dict[str, Any] = {
        "sub": str(actor.id),
        "name": actor.name,
        "role": actor.role.value,
        "jur": actor.jurisdiction_id,
        "lvl": actor.scope_level,
        "dept": actor.department_id,
        "grids": sorted(actor.grid_ids),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=minutes)).timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, *, secret: str, now: datetime) -> Actor:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM],
            options={"require": ["exp", "sub", "role"], "verify_exp": False, "verify_iat": False,
                     "verify_nbf": False},
        )
    except jwt.PyJWTError as exc:
        raise NotAuthenticated(f"invalid access token: {exc}") from exc
    # Expiry is checked against the injected clock, not the machine's, so tests can age it.
    if claims["exp"] <= now.timestamp():
        raise NotAuthenticated("access token expired")
    try:
        role = Role(claims["role"])
    except ValueError as exc:
        raise NotAuthenticated("access token names an unknown role") from exc
    return Actor(
        kind="user",
        id=int(claims["sub"]),
        role=role,
        name=claims.get("name", ""),
        jurisdiction_id=claims.get("jur"),
        scope_level=claims.get("lvl"),
        department_id=claims.get("dept"),
        grid_ids=frozenset(claims.get("grids") or ()),
    )


def new_secret_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
