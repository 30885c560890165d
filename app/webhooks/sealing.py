"""Subscription secrets sealed at rest.

A webhook's signing secret must be readable to sign each delivery, so it cannot be hashed
like a password; stored in the clear, a database dump or backup would let anyone forge
signed events to every department's system. It is stored sealed with Fernet
(AES-128-CBC with HMAC-SHA256, from ``cryptography``) under
``WHISTLE_WEBHOOK_SEALING_KEYS``: the first key seals, every key opens, so keys rotate by
putting a new one first. With none configured, one key is derived from
``WHISTLE_SECRET_KEY`` (HKDF-SHA256), which then must not change while subscriptions
exist, or their deliveries fail (saying why) until they are re-created.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.config import Settings

PREFIX = "fernet:"  # what a sealed value starts with (a plain secret starts "whsec_")


class Unsealable(Exception):
    """No configured key opens the value (the key it was sealed with is gone)."""


def derived_key(secret_key: str) -> str:
    """The sealing key used when none is configured, derived from the token secret."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"whistle webhook secrets").derive(secret_key.encode())
    return base64.urlsafe_b64encode(key).decode()


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in keys])


def keys_of(settings: Settings) -> tuple[str, ...]:
    configured = tuple(k.get_secret_value() for k in settings.webhook_sealing_keys)
    return configured or (derived_key(settings.secret_key),)


def seal(secret: str, keys: Sequence[str]) -> str:
    return PREFIX + _fernet(tuple(keys)).encrypt(secret.encode()).decode()


def unseal(sealed: str, keys: Sequence[str]) -> str:
    if not sealed.startswith(PREFIX):
        raise Unsealable("the stored secret is not sealed")
    try:
        return _fernet(tuple(keys)).decrypt(sealed.removeprefix(PREFIX).encode()).decode()
    except InvalidToken as exc:
        raise Unsealable("no key in WHISTLE_WEBHOOK_SEALING_KEYS opens this subscription's "
                         "secret; re-create the subscription or restore the key") from exc
