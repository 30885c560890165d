"""Ended sessions: access tokens that have not expired but no longer count.

An access token is a self-contained JWT, so by itself it would work until it expires
(``access_token_minutes``) however its user's session ended. Two things end a session
before that: the user is deactivated, or the refresh-token family its login began (its
``fam`` claim) is revoked — by logout, by reuse detection, or by a change to the user's
password, role or scope, which revokes all of that user's families.

Checking each request against the database would add a round trip to every hot path, so
each API process keeps the set of ended sessions in memory (``EndedSessions``):

- the families revoked within the last ``access_token_minutes`` (a family revoked longer
  ago has no unexpired access token: none is issued after revocation), and the ids of
  inactive users — one small indexed query, rerun at most every
  ``session_check_seconds`` (5 s by default) by the request that finds the set stale;
- plus what this process's own requests ended, noted on the request's session
  (``note_ended``) and added when that request commits: here it takes effect at once.

So a session ended in this process stops its access token at once, and one ended in
another process (another ``--workers`` copy, another machine, the CLI) within
``session_check_seconds``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, MutableMapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.models import RefreshToken, User
from app.errors import NotAuthenticated

SESSION_ENDED = "this session has ended (signed out, or the account was changed or disabled); " \
                "sign in again"
# Clocks of different processes disagree a little; a revoked family stays in the set this
# much longer than the last access token it could have issued.
CLOCK_SLACK = timedelta(minutes=1)

_NOTES = "whistle.ended_sessions"


def note_ended(session: AsyncSession, *, families: Iterable[str] = (),
               deactivated: Iterable[int] = (), reactivated: Iterable[int] = ()) -> None:
    """Record on the unit of work which sessions it ends; ``EndedSessions.take_notes``
    applies them once the unit of work has committed (a rollback ends nothing)."""
    notes = session.info.setdefault(_NOTES, {"families": set(), "deactivated": set(),
                                             "reactivated": set()})
    notes["families"].update(families)
    notes["deactivated"].update(deactivated)
    notes["reactivated"].update(reactivated)
    notes["deactivated"].difference_update(reactivated)


class EndedSessions:
    """One API process's view of the ended sessions (see the module's docstring)."""

    def __init__(self, *, check_seconds: float, access_token_minutes: int) -> None:
        self._check_seconds = check_seconds
        self._window = timedelta(minutes=access_token_minutes) + CLOCK_SLACK
        self._families: set[str] = set()
        self._inactive: set[int] = set()
        self._loaded_at: float | None = None
        self._loading = False
        # Ended here since the last load began: monotonic time of the note, by key.
        self._local: dict[tuple[str, Any], float] = {}

    async def check(self, actor: Actor, *, session: AsyncSession, now: datetime) -> None:
        """Raise ``NotAuthenticated`` if the user's session has ended."""
        if actor.kind != "user":
            return
        if self._stale() and not self._loading:
            await self._load(session, now)
        if actor.id in self._inactive or (actor.session_family is not None
                                          and actor.session_family in self._families):
            raise NotAuthenticated(SESSION_ENDED)

    def take_notes(self, info: MutableMapping[str, Any]) -> None:
        """Apply what a committed unit of work ended (its ``session.info``)."""
        notes = info.pop(_NOTES, None)
        if not notes:
            return
        stamp = time.monotonic()
        for family in notes["families"]:
            self._families.add(family)
            self._local[("family", family)] = stamp
        for user_id in notes["deactivated"]:
            self._inactive.add(user_id)
            self._local[("user", user_id)] = stamp
        for user_id in notes["reactivated"]:
            self._inactive.discard(user_id)
            self._local.pop(("user", user_id), None)

    def _stale(self) -> bool:
        return (self._loaded_at is None
                or time.monotonic() - self._loaded_at >= self._check_seconds)

    async def _load(self, session: AsyncSession, now: datetime) -> None:
        self._loading = True  # concurrent requests use the current set meanwhile
        started = time.monotonic()
        try:
            rows = (await session.execute(union_all(
                select(literal("family"), RefreshToken.family)
                .where(RefreshToken.revoked_at > now - self._window),
                select(literal("user"), cast(User.id, String))
                .where(User.is_active.is_(False))))).all()
        finally:
            self._loading = False
        families = {value for kind, value in rows if kind == "family"}
        inactive = {int(value) for kind, value in rows if kind == "user"}
        # Notes taken while the query ran may have committed after its snapshot: keep them.
        self._local = {key: at for key, at in self._local.items() if at >= started}
        families.update(value for kind, value in self._local if kind == "family")
        inactive.update(value for kind, value in self._local if kind == "user")
        self._families, self._inactive, self._loaded_at = families, inactive, started
