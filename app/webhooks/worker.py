"""The webhook step of ``whistle worker``: deliver whatever is due, then return."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.webhooks.delivery import deliver_due

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
BATCH = 100
MAX_BATCHES = 20  # per sweep, so that one sweep cannot starve the worker's other steps


async def run_deliveries_once(app_or_sessions: Any, now: datetime, *, settings: Settings,
                              http: httpx.AsyncClient | None = None) -> int:
    """Deliver due outbox messages in batches until none are left (or ``MAX_BATCHES``);
    ``app_or_sessions`` is a FastAPI app (its ``state.sessions``) or a sessionmaker.
    Returns the number of attempts made."""
    sessions: async_sessionmaker[AsyncSession] = getattr(
        getattr(app_or_sessions, "state", None), "sessions", app_or_sessions)
    if http is None:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            return await _run(sessions, client, now, settings)
    return await _run(sessions, http, now, settings)


async def _run(sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient,
               now: datetime, settings: Settings) -> int:
    total = 0
    for _ in range(MAX_BATCHES):
        attempted = await deliver_due(sessions=sessions, http=http, now=now, settings=settings,
                                      batch=BATCH)
        total += attempted
        if attempted < BATCH:
            break
    return total
