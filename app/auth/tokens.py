"""Access tokens: short-lived HS256 JWTs that carry the actor's role and scope, so that
authorising a request needs no database round trip. Refresh tokens are opaque random
strings, stored only as SHA-256 hashes (see ``auth.service``)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, Literal

import jwt

from app.auth.actor import Actor
from app.auth.models import Role
from app.errors import NotAuthenticated
from app.messages import M, Message

ALGORITHM = "HS256"


# How long a stream ticket may be used to open a live-queue stream (it travels in a URL).
STREAM_TICKET_SECONDS = 30


def _actor_claims(actor: Actor) -> dict[str, Any]:
    return {
        "sub": str(actor.id),
        "name": actor.name,
        "role": actor.role.value,
        "jur": actor.jurisdiction_id,
        "lvl": actor.scope_level,
        "dept": actor.department_id,
        "grids": sorted(actor.grid_ids),
        "jti": secrets.token_hex(8),
        **({"fam": actor.session_family} if actor.session_family else {}),
        **({"pwc": True} if actor.must_change_password else {}),
    }


def _decode(token: str, *, secret: str, now: datetime, what: Message,
            audience: str | None = None) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], audience=audience,
            options={"require": ["exp", "sub", "role"], "verify_exp": False, "verify_iat": False,
                     "verify_nbf": False},
        )
    except jwt.PyJWTError as exc:
        raise NotAuthenticated(M("error.token_invalid", what=what, reason=str(exc))) from exc
    # Expiry is checked against the injected clock, not the machine's, so tests can age it.
    if claims["exp"] <= now.timestamp():
        raise NotAuthenticated(M("error.token_expired", what=what))
    return claims


def _actor_of(claims: dict[str, Any], kind: Literal["user", "api_key"]) -> Actor:
    try:
        role = Role(claims["role"])
    except ValueError as exc:
        raise NotAuthenticated(M("error.token_unknown_role")) from exc
    return Actor(
        kind=kind,
        id=int(claims["sub"]),
        role=role,
        name=claims.get("name", ""),
        jurisdiction_id=claims.get("jur"),
        scope_level=claims.get("lvl"),
        department_id=claims.get("dept"),
        grid_ids=frozenset(claims.get("grids") or ()),
        session_family=claims.get("fam"),
        must_change_password=bool(claims.get("pwc")),
    )


def _encode(actor: Actor, *, secret: str, now: datetime, lifetime: timedelta,
            **extra: Any) -> str:
    claims = {**_actor_claims(actor), **extra, "iat": int(now.timestamp()),
              "exp": int((now + lifetime).timestamp())}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def encode_access_token(actor: Actor, *, secret: str, now: datetime, minutes: int) -> str:
    return _encode(actor, secret=secret, now=now, lifetime=timedelta(minutes=minutes))


# Access tokens whose signature and claims were verified, with their expiry: every request
# of a session presents the same token, and verifying it again (HMAC, two JSON documents,
# the claims) cost about a tenth of a hot request's CPU. Keyed by the secret too, so a
# rotated secret verifies afresh; expiry is still checked on every use. Cleared when full.
_VERIFIED: dict[tuple[str, str], tuple[Actor, float]] = {}
VERIFIED_MAX = 10_000


def decode_access_token(token: str, *, secret: str, now: datetime) -> Actor:
    verified = _VERIFIED.get((secret, token))
    if verified is None:
        # A token with an audience (a stream ticket) is refused here: PyJWT rejects an
        # "aud" claim when no audience is expected.
        claims = _decode(token, secret=secret, now=now, what=M("token.access"))
        verified = (_actor_of(claims, "user"), claims["exp"])
        if len(_VERIFIED) >= VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED[(secret, token)] = verified
    actor, expires = verified
    if expires <= now.timestamp():
        raise NotAuthenticated(M("error.token_expired", what=M("token.access")))
    return actor


def _stream_audience(department_code: str) -> str:
    return f"queue-stream:{department_code}"


def encode_stream_ticket(actor: Actor, *, secret: str, now: datetime,
                         department_code: str) -> str:
    """A short-lived credential that opens one department's live-queue stream, for clients
    that cannot send headers with it (a browser's EventSource): it goes in the URL."""
    return _encode(actor, secret=secret, now=now,
                   lifetime=timedelta(seconds=STREAM_TICKET_SECONDS), kind=actor.kind,
                   aud=_stream_audience(department_code))


def decode_stream_ticket(ticket: str, *, secret: str, now: datetime,
                         department_code: str) -> Actor:
    claims = _decode(ticket, secret=secret, now=now, what=M("token.stream"),
                     audience=_stream_audience(department_code))
    kind = claims.get("kind")
    if kind not in ("user", "api_key"):
        raise NotAuthenticated(M("error.stream_ticket_no_kind"))
    return _actor_of(claims, kind)


def new_secret_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
