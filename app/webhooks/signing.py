"""Signing webhook requests, and checking them on the receiving side.

Every request carries::

    X-Whistle-Delivery:  the delivery id (the same on every retry: deduplicate on it)
    X-Whistle-Event:     the event kind, e.g. ``claim``
    X-Whistle-Timestamp: Unix seconds when this attempt was sent
    X-Whistle-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>

A receiver recomputes the HMAC over the timestamp header, a dot and the raw request body
(bytes, before any JSON parsing), compares in constant time, and rejects timestamps far
from its own clock so that a captured request cannot be replayed later::

    from app.webhooks.signing import verify_signature

    ok = verify_signature(secret, request.headers["X-Whistle-Timestamp"], await request.body(),
                          request.headers["X-Whistle-Signature"], now=time.time())
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SCHEME = "sha256="
DEFAULT_TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """A fresh signing secret, shown to the subscriber once."""
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Whistle-Signature`` header value for one request."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes | str,
    header: str | None,
    *,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """True when ``header`` is the signature of ``timestamp`` and ``body`` under ``secret``.

    With ``now`` (Unix seconds) also refuses timestamps more than ``tolerance`` seconds away.
    """
    if not header or not header.startswith(SCHEME) or not timestamp.isdigit():
        return False
    if now is not None and abs(now - int(timestamp)) > tolerance:
        return False
    raw = body.encode() if isinstance(body, str) else body
    return hmac.compare_digest(sign(secret, timestamp, raw), header)
