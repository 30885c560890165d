"""Retention: what the service stops keeping, and when (``whistle prune``, and the worker
every ``prune_interval_seconds``).

=====================  ===========================================  ============================
rows                   removed when                                 setting (default)
=====================  ===========================================  ============================
webhook outbox         delivered longer ago than                    retain_delivered_outbox_days
                       (with its delivery log)                      (7)
webhook delivery log   attempts made longer ago than                retain_delivery_log_days (30)
refresh tokens         every token of the login expired longer      retain_expired_tokens_days
                       ago than                                     (7)
login failures         made longer ago than                         retain_login_failures_days (7)
=====================  ===========================================  ============================

Pending and dead outbox rows stay (dead ones are the record of what never arrived). A
login's tokens go together, never one by one: the first token of a family dates the
login, and ``login_max_days`` counts from it. This module sits above the domains it
prunes (auth, webhooks), so their SQL for it lives here.

Each kind is deleted in batches of ``BATCH`` rows, one transaction each, so a large first
prune neither holds locks long nor builds one huge transaction.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from app.auth.models import LoginFailure, RefreshToken
from app.config import Settings
from app.db import unit_of_work
from app.sla.national_calendar import calendar_status
from app.webhooks.models import OutboxMessage, OutboxStatus, WebhookDelivery

BATCH = 5000

log = logging.getLogger("whistle.retention")


@dataclass(frozen=True, slots=True)
class PruneReport:
    delivered_outbox: int
    delivery_log: int
    refresh_tokens: int
    login_failures: int

    def __str__(self) -> str:
        return (f"pruned {self.delivered_outbox} delivered outbox rows, {self.delivery_log} "
                f"delivery log rows, {self.refresh_tokens} expired refresh tokens, "
                f"{self.login_failures} login failures")


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def _delivered_outbox(now: datetime, settings: Settings) -> Select:
    return select(OutboxMessage.id).where(
        OutboxMessage.status == OutboxStatus.delivered.value,
        OutboxMessage.delivered_at < now - _days(settings.retain_delivered_outbox_days))


def _delivery_log(now: datetime, settings: Settings) -> Select:
    return select(WebhookDelivery.id).where(
        WebhookDelivery.created_at < now - _days(settings.retain_delivery_log_days))


def _expired_logins(now: datetime, settings: Settings) -> Select:
    cutoff = now - _days(settings.retain_expired_tokens_days)
    other = aliased(RefreshToken)
    return select(RefreshToken.id).where(
        RefreshToken.expires_at < cutoff,
        ~exists().where(other.family == RefreshToken.family, other.expires_at >= cutoff))


def _login_failures(now: datetime, settings: Settings) -> Select:
    return select(LoginFailure.id).where(
        LoginFailure.created_at < now - _days(settings.retain_login_failures_days))


async def _delete_in_batches(sessions: async_sessionmaker[AsyncSession], model, ids: Select) -> int:
    total = 0
    while True:
        async with unit_of_work(sessions) as session:
            batch = list((await session.execute(ids.limit(BATCH))).scalars())
            if batch:
                await session.execute(delete(model).where(model.id.in_(batch))
                                      .execution_options(synchronize_session=False))
        total += len(batch)
        if len(batch) < BATCH:
            return total


async def prune(sessions: async_sessionmaker[AsyncSession], *, now: datetime,
                settings: Settings) -> PruneReport:
    """Remove what the retention settings no longer keep (see the module's table)."""
    return PruneReport(
        delivered_outbox=await _delete_in_batches(sessions, OutboxMessage,
                                                  _delivered_outbox(now, settings)),
        delivery_log=await _delete_in_batches(sessions, WebhookDelivery,
                                              _delivery_log(now, settings)),
        refresh_tokens=await _delete_in_batches(sessions, RefreshToken,
                                                _expired_logins(now, settings)),
        login_failures=await _delete_in_batches(sessions, LoginFailure,
                                                _login_failures(now, settings)),
    )


_last_housekeeping: float | None = None


async def housekeeping(sessions: async_sessionmaker[AsyncSession], *, now: datetime,
                       settings: Settings) -> PruneReport | None:
    """The worker's slow chores, at most every ``prune_interval_seconds`` per process:
    prune, and warn when China's calendar of this or (from December) next year is not
    known. Returns the prune's report when it ran."""
    global _last_housekeeping
    tick = time.monotonic()
    if _last_housekeeping is not None and \
            tick - _last_housekeeping < settings.prune_interval_seconds:
        return None
    _last_housekeeping = tick
    report = await prune(sessions, now=now, settings=settings)
    log.info("%s", report)
    async with sessions() as session:
        status = await calendar_status(session, now=now, zone=ZoneInfo(settings.timezone))
    if status.warning:
        log.warning("%s", status.warning)
    return report
