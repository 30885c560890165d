"""Signed, expiring links to a photo's served copy, for clients with no Whistle
credentials (an Open311 client importing a report's ``media_url``).

A link is ``/api/v1/media/{id}?expires={unix seconds}&signature={HMAC}``: the HMAC-SHA256,
keyed by a key derived from ``WHISTLE_SECRET_KEY``, of the attachment id and the expiry.
Expiries are rounded up to the next midnight UTC, so the link a read hands out stays the
same all day (clients and caches see one URL per photo per day). Changing the secret key
voids every link handed out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from app.errors import Forbidden, Gone
from app.messages import M

DOMAIN = b"whistle media link v1"


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), DOMAIN, hashlib.sha256).digest()


def signature(secret: str, attachment_id: int, expires: int) -> str:
    digest = hmac.new(_key(secret), f"{attachment_id}:{expires}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def expiry(now: datetime, lifetime: timedelta) -> int:
    """``now`` + ``lifetime``, rounded up to a midnight UTC, as unix seconds."""
    end = now.astimezone(UTC) + lifetime
    midnight = end.replace(hour=0, minute=0, second=0, microsecond=0)
    if midnight < end:
        midnight += timedelta(days=1)
    return int(midnight.timestamp())


def media_path(secret: str, attachment_id: int, now: datetime, lifetime: timedelta) -> str:
    """The path and query of a signed link (the caller puts its own base URL before it)."""
    expires = expiry(now, lifetime)
    return (f"/api/v1/media/{attachment_id}?expires={expires}"
            f"&signature={signature(secret, attachment_id, expires)}")


def check(secret: str, attachment_id: int, expires: int, sent: str, now: datetime) -> None:
    """403 for a link Whistle did not sign as it is (any part changed); 410 for one whose
    time is up. The signature is checked first: an expiry nobody signed says nothing."""
    if not hmac.compare_digest(signature(secret, attachment_id, expires).encode(),
                               sent.encode()):
        raise Forbidden(M("error.link_signature"),
                        errors=[{"loc": ["query", "signature"], "msg": M("error.does_not_match"),
                                 "type": "bad_signature"}])
    if now.timestamp() >= expires:
        raise Gone(M("error.link_expired"),
                   errors=[{"loc": ["query", "expires"], "msg": M("error.in_the_past"),
                            "type": "expired"}])
