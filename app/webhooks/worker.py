"""The webhook step of ``whistle worker``: deliver whatever is due, then return."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.webhooks.delivery import deliver_due
from app.webhooks.targets import IPNetwork

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
BATCH = 100
MAX_BATCHES = 20  # per sweep, so that one sweep cannot starve the worker's other steps


async def run_deliveries_once(app_or_sessions: Any, now: datetime, *,
                              blocked: Sequence[IPNetwork],
                              http: httpx.AsyncClient | None = None) -> int:
    """Deliver due outbox messages in batches until none are left (or ``MAX_BATCHES``);
    ``app_or_sessions`` is a FastAPI app (its ``state.sessions``) or a sessionmaker;
    ``blocked`` the networks no delivery may reach. Returns the number of attempts made."""
    sessions: async_sessionmaker[AsyncSession] = getattr(
        getattr(app_or_sessions, "state", None), "sessions", app_or_sessions)
    if http is None:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            return await _run(sessions, client, now, blocked)
    return await _run(sessions, http, now, blocked)


async def _run(sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient,
               now: datetime, blocked: Sequence[IPNetwork]) -> int:
    total = 0
    for _ in range(MAX_BATCHES):
        attempted = await deliver_due(sessions=sessions, http=http, now=now, blocked=blocked,
                                      batch=BATCH)
        total += attempted
        if attempted < BATCH:
            break
    return total
