"""Delivering the outbox: at least once, signed, retried with backoff, every attempt logged.

Each batch is claimed in one short transaction that pushes the rows' ``next_attempt_at``
a lease into the future (``FOR UPDATE SKIP LOCKED`` on PostgreSQL so that several workers
share the work; SQLite serialises writers). The HTTP calls then run with no transaction
open, and each result is recorded in its own short transaction. A worker that dies
mid-send leaves its rows to be picked up again when the lease runs out — hence "at least
once", and the stable ``delivery_id`` receivers deduplicate on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import unit_of_work
from app.observability.metrics import DELIVERY_FAILURES
from app.webhooks.models import OutboxMessage, OutboxStatus, WebhookDelivery, WebhookSubscription
from app.webhooks.sealing import keys_of, unseal
from app.webhooks.signing import sign
from app.webhooks.targets import IPNetwork, resolve

# 10 s … 43 min, then hourly: about 6½ hours of retries before a message is given up.
MAX_ATTEMPTS = 15
BASE_DELAY = timedelta(seconds=10)
MAX_DELAY = timedelta(hours=1)
# Longer than a batch can take to send (batch / CONCURRENCY × the client's timeout).
LEASE = timedelta(minutes=5)
CONCURRENCY = 10
MAX_ERROR_CHARS = 500
USER_AGENT = "Whistle-Webhooks/1"

log = logging.getLogger(__name__)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: 10 s, 20 s, 40 s, … capped at 1 h."""
    return min(BASE_DELAY * 2 ** max(attempts - 1, 0), MAX_DELAY)


def encode_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent (stable: every retry sends the same)."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    attempt: int  # the number of this attempt, 1-based
    delivery_id: str
    event_kind: str
    payload: dict[str, Any]
    url: str
    secret: str  # sealed (app.webhooks.sealing)


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def claim_due(session: AsyncSession, *, now: datetime, batch: int) -> list[Claimed]:
    """Take up to ``batch`` due messages and lease them to this worker."""
    stmt = (
        select(OutboxMessage.id, OutboxMessage.attempts, OutboxMessage.delivery_id,
               OutboxMessage.event_kind, OutboxMessage.payload,
               WebhookSubscription.url, WebhookSubscription.secret)
        .join(WebhookSubscription, WebhookSubscription.id == OutboxMessage.subscription_id)
        .where(OutboxMessage.status == OutboxStatus.pending.value,
               OutboxMessage.next_attempt_at <= now,
               WebhookSubscription.is_active.is_(True))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=OutboxMessage, skip_locked=True)
    rows = (await session.execute(stmt)).all()
    if rows:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([r.id for r in rows]))
            .values(next_attempt_at=now + LEASE)
            .execution_options(synchronize_session=False)
        )
    return [Claimed(r.id, r.attempts + 1, r.delivery_id, r.event_kind, r.payload, r.url,
                    r.secret) for r in rows]


async def send(http: httpx.AsyncClient, message: Claimed, *, now: datetime,
               blocked: Sequence[IPNetwork], keys: Sequence[str]) -> Outcome:
    """One attempt; ``blocked`` the networks it may not reach, ``keys`` those that open
    the subscription's sealed secret."""
    body = encode_body(message.payload)
    timestamp = str(int(now.timestamp()))
    started = time.perf_counter()
    try:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Whistle-Delivery": message.delivery_id,
            "X-Whistle-Event": message.event_kind,
            "X-Whistle-Timestamp": timestamp,
            "X-Whistle-Signature": sign(unseal(message.secret, keys), timestamp, body),
        }
        target = await resolve(message.url, blocked)
        # Redirects are not followed: a signed body goes only where it was subscribed to.
        response = await target.post(http, content=body, headers=headers,
                                     follow_redirects=False)
        status_code, error = response.status_code, None
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except Exception as exc:  # any failure (unsealable, blocked, refused, timed out) counts
        status_code, error = None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
    return Outcome(status_code, error, int((time.perf_counter() - started) * 1000))


async def record(session: AsyncSession, message: Claimed, outcome: Outcome, *,
                 now: datetime) -> None:
    await session.execute(insert(WebhookDelivery), {
        "outbox_id": message.id, "attempt": message.attempt, "status_code": outcome.status_code,
        "error": outcome.error, "duration_ms": outcome.duration_ms, "created_at": now})
    if outcome.ok:
        values: dict[str, Any] = {"status": OutboxStatus.delivered.value, "delivered_at": now,
                                  "last_error": None}
    elif message.attempt >= MAX_ATTEMPTS:
        values = {"status": OutboxStatus.dead.value, "last_error": outcome.error}
    else:
        values = {"next_attempt_at": now + backoff(message.attempt), "last_error": outcome.error}
    # Guarded by the attempt count: if the lease ran out and another worker took the row,
    # only the first result to land moves it on.
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id,
               OutboxMessage.status == OutboxStatus.pending.value,
               OutboxMessage.attempts == message.attempt - 1)
        .values(attempts=message.attempt, **values)
        .execution_options(synchronize_session=False)
    )


async def deliver_due(*, sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient,
                      now: datetime, settings: Settings, batch: int = 100) -> int:
    """Attempt every due message (up to ``batch``); returns how many were attempted.
    From ``settings``: the networks no delivery may reach and the keys that open the
    subscriptions' secrets."""
    blocked, keys = settings.webhook_blocked_networks, keys_of(settings)
    async with unit_of_work(sessions) as session:
        claimed = await claim_due(session, now=now, batch=batch)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def attempt(message: Claimed) -> None:
        async with limit:
            outcome = await send(http, message, now=now, blocked=blocked, keys=keys)
        if not outcome.ok:
            DELIVERY_FAILURES.labels("webhook").inc()
        async with unit_of_work(sessions) as session:
            await record(session, message, outcome, now=now)

    results = await asyncio.gather(*(attempt(m) for m in claimed), return_exceptions=True)
    for message, result in zip(claimed, results, strict=True):
        if isinstance(result, Exception):
            # The lease runs out and the message is tried again; nothing is lost.
            log.error("recording delivery %s failed", message.delivery_id, exc_info=result)
    return len(claimed)
