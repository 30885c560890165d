"""Sending the notification outbox: at least once, retried with backoff, every attempt
logged, within each channel's rate limit — the same lease discipline as webhooks.

A batch is claimed in one short transaction that pushes its rows' ``next_attempt_at`` a
lease into the future (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never
claim one row; SQLite serialises writers); the provider calls run with no transaction
open; each result is recorded in its own transaction, guarded by the attempt count. A
worker killed mid-send leaves its rows to be taken again when the lease ends: nothing is
lost, and the row id (the SMS ``OutId``) is what a duplicate is recognised by.

Rate limits: a channel takes at most ``rate_per_minute`` attempts in any minute (the
robots' published limit is 20); what is over waits for the next minute, without counting
as an attempt.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import unit_of_work
from app.notifications.messages import Message
from app.notifications.models import (
    DeliveryStatus,
    NotificationAttempt,
    NotificationChannel,
    NotificationContact,
    NotificationOutbox,
)
from app.notifications.providers import PROVIDERS, Outcome, Outgoing
from app.webhooks.sealing import keys_of, unseal

MAX_ATTEMPTS = 12  # 10 s … about 3 hours of retries
BASE_DELAY = timedelta(seconds=10)
MAX_DELAY = timedelta(hours=1)
LEASE = timedelta(minutes=5)
RATE_WINDOW = timedelta(minutes=1)
CONCURRENCY = 10
TIMEOUT = httpx.Timeout(10.0, connect=5.0)

log = logging.getLogger(__name__)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: 10 s, 20 s, 40 s, … capped at 1 h."""
    return min(BASE_DELAY * 2 ** max(attempts - 1, 0), MAX_DELAY)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    attempt: int
    channel_id: int
    channel_kind: str
    kind: str
    sealed: str
    options: dict[str, Any]
    payload: dict[str, Any]
    count: int
    phone: str | None


def open_secrets(sealed: str, settings: Settings) -> dict[str, str]:
    return json.loads(unseal(sealed, keys_of(settings)))


async def _recent_attempts(session: AsyncSession, channel_ids: set[int],
                           now: datetime) -> Counter[int]:
    rows = await session.execute(
        select(NotificationAttempt.channel_id, func.count())
        .where(NotificationAttempt.channel_id.in_(sorted(channel_ids)),
               NotificationAttempt.created_at > now - RATE_WINDOW,
               NotificationAttempt.created_at <= now)
        .group_by(NotificationAttempt.channel_id))
    return Counter(dict(rows.all()))


async def claim_due(session: AsyncSession, *, now: datetime, batch: int) -> list[Claimed]:
    """Lease up to ``batch`` due messages to this worker, within their channels' limits."""
    query = (
        select(NotificationOutbox.id, NotificationOutbox.attempts,
               NotificationOutbox.channel_id, NotificationOutbox.kind,
               NotificationOutbox.payload, NotificationOutbox.count,
               NotificationChannel.kind.label("channel_kind"), NotificationChannel.sealed,
               NotificationChannel.options, NotificationChannel.rate_per_minute,
               NotificationContact.phone)
        .join(NotificationChannel, NotificationChannel.id == NotificationOutbox.channel_id)
        .outerjoin(NotificationContact,
                   NotificationContact.user_id == NotificationOutbox.user_id)
        .where(NotificationOutbox.status == DeliveryStatus.pending.value,
               NotificationOutbox.next_attempt_at <= now,
               NotificationChannel.is_active.is_(True),
               NotificationChannel.sealed.is_not(None))
        .order_by(NotificationOutbox.urgent.desc(), NotificationOutbox.next_attempt_at,
                  NotificationOutbox.id)
        .limit(batch))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=NotificationOutbox, skip_locked=True)
    rows = (await session.execute(query)).all()
    if not rows:
        return []
    used = await _recent_attempts(session, {r.channel_id for r in rows}, now)
    taken, waiting = [], []
    for row in rows:
        if used[row.channel_id] < row.rate_per_minute:
            used[row.channel_id] += 1
            taken.append(row)
        else:
            waiting.append(row.id)
    for ids, until in ((
            [r.id for r in taken], now + LEASE), (waiting, now + RATE_WINDOW)):
        if ids:
            await session.execute(update(NotificationOutbox)
                                  .where(NotificationOutbox.id.in_(ids))
                                  .values(next_attempt_at=until)
                                  .execution_options(synchronize_session=False))
    return [Claimed(r.id, r.attempts + 1, r.channel_id, r.channel_kind, r.kind, r.sealed,
                    r.options or {}, r.payload, r._mapping["count"], r.phone)  # r.count reads as tuple.count
            for r in taken]


async def send(http: httpx.AsyncClient, message: Claimed, *, now: datetime,
               settings: Settings) -> Outcome:
    provider = PROVIDERS[message.channel_kind]
    try:
        secrets = open_secrets(message.sealed, settings)
    except Exception as exc:  # the sealing key is gone: say so in the log, retry later
        return Outcome(None, f"{type(exc).__name__}: {exc}", 0)
    outgoing = Outgoing(kind=message.kind, message=Message.from_payload(message.payload),
                        count=message.count, notification_id=message.id, phone=message.phone)
    return await provider.send(http, secrets=secrets, options=message.options,
                               outgoing=outgoing, now=now,
                               blocked=settings.webhook_blocked_networks)


async def record(session: AsyncSession, message: Claimed, outcome: Outcome, *,
                 now: datetime) -> None:
    await session.execute(insert(NotificationAttempt), {
        "outbox_id": message.id, "channel_id": message.channel_id, "attempt": message.attempt,
        "status_code": outcome.status_code, "error": outcome.error,
        "duration_ms": outcome.duration_ms, "created_at": now})
    if outcome.ok:
        values: dict[str, Any] = {"status": DeliveryStatus.delivered.value,
                                  "delivered_at": now, "last_error": None}
    elif message.attempt >= MAX_ATTEMPTS:
        values = {"status": DeliveryStatus.dead.value, "last_error": outcome.error}
    else:
        values = {"next_attempt_at": now + backoff(message.attempt),
                  "last_error": outcome.error}
    # Only the first result for this attempt moves the row on (a lease that ran out may
    # have let another worker try it too).
    await session.execute(
        update(NotificationOutbox)
        .where(NotificationOutbox.id == message.id,
               NotificationOutbox.status == DeliveryStatus.pending.value,
               NotificationOutbox.attempts == message.attempt - 1)
        .values(attempts=message.attempt, **values)
        .execution_options(synchronize_session=False))


async def deliver_due(*, sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient,
                      now: datetime, settings: Settings, batch: int = 100) -> int:
    """Attempt every due message (up to ``batch``); returns how many were attempted."""
    async with unit_of_work(sessions) as session:
        claimed = await claim_due(session, now=now, batch=batch)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def attempt(message: Claimed) -> None:
        async with limit:
            outcome = await send(http, message, now=now, settings=settings)
        async with unit_of_work(sessions) as session:
            await record(session, message, outcome, now=now)

    results = await asyncio.gather(*(attempt(m) for m in claimed), return_exceptions=True)
    for message, result in zip(claimed, results, strict=True):
        if isinstance(result, Exception):  # the lease runs out and it is tried again
            log.error("recording notification %s failed", message.id, exc_info=result)
    return len(claimed)


async def run_deliveries_once(sessions: async_sessionmaker[AsyncSession], now: datetime, *,
                              settings: Settings, http: httpx.AsyncClient | None = None,
                              batch: int = 100, max_batches: int = 20) -> int:
    """The worker's step: deliver in batches until nothing due is left (or the cap)."""
    async def run(client: httpx.AsyncClient) -> int:
        total = 0
        for _ in range(max_batches):
            attempted = await deliver_due(sessions=sessions, http=client, now=now,
                                          settings=settings, batch=batch)
            total += attempted
            if attempted < batch:
                break
        return total

    if http is None:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            return await run(client)
    return await run(http)
