"""Password hashing with Argon2id (argon2-cffi's RFC 9106 low-memory profile).

``verify_password`` never raises for a wrong password; ``dummy_verify`` spends the same
time as a real verification, so that a login for a username that does not exist cannot be
told apart from a wrong password by how long it takes.

Argon2 spends about a tenth of a second of CPU by design. Run in the event loop, that
stalls every other request of the process (claims, live streams) for as long, so async
code uses the ``*_in_thread`` versions: argon2-cffi releases the GIL while it works.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.errors import InvalidInput
from app.messages import M

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 8
# Argon2 is happy with long inputs, but a megabyte "password" is a cheap way to burn CPU.
MAX_PASSWORD_LENGTH = 256


def check_password(password: str, *, loc: tuple[str | int, ...] = ("body", "password")) -> None:
    """The length rule for a new password; the error names the field at ``loc``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput.at(list(loc), M("user.password_too_short", n=MIN_PASSWORD_LENGTH))
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput.at(list(loc), M("user.password_too_long", n=MAX_PASSWORD_LENGTH))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Made lazily with the current parameters, so it costs exactly what a real user's does.
    return _hasher.hash("no user has this password; it only burns the same time")


def dummy_verify(password: str) -> None:
    """Verify against a throwaway hash: the constant-time answer for an unknown username."""
    verify_password(_dummy_hash(), password)


async def hash_password_in_thread(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_in_thread(password_hash: str, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)


async def dummy_verify_in_thread(password: str) -> None:
    await asyncio.to_thread(dummy_verify, password)

