"""Retention: what the service stops keeping, and when (``whistle prune``, and the worker
every ``prune_interval_seconds``).

=====================  ===========================================  ============================
rows                   removed when                                 setting (default)
=====================  ===========================================  ============================
webhook and            delivered longer ago than                    retain_delivered_outbox_days
notification outbox    (with their delivery logs)                   (7)
delivery logs          attempts made longer ago than                retain_delivery_log_days (30)
(webhooks, channels)
inbox entries          read, and last changed, longer ago than      retain_read_notifications_days
                                                                    (90)
                       any, last changed longer ago than            retain_notifications_days
                                                                    (365)
unused uploads         uploaded longer ago than, never attached     retain_unused_uploads_days
(rows and files)       to a ticket or an action                     (7)
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

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from app.attachments.models import Attachment
from app.auth.models import LoginFailure, RefreshToken
from app.config import Settings
from app.db import unit_of_work
from app.notifications.models import (
    Notification,
    NotificationAttempt,
    NotificationOutbox,
)
from app.sla.national_calendar import calendar_status
from app.webhooks.models import OutboxMessage, WebhookDelivery

BATCH = 5000
FILE_GRACE = timedelta(days=1)

log = logging.getLogger("whistle.retention")


@dataclass(frozen=True, slots=True)
class PruneReport:
    delivered_outbox: int
    delivery_log: int
    refresh_tokens: int
    login_failures: int
    inbox_entries: int = 0
    unused_uploads: int = 0

    def __str__(self) -> str:
        return (f"pruned {self.delivered_outbox} delivered outbox rows, {self.delivery_log} "
                f"delivery log rows, {self.refresh_tokens} expired refresh tokens, "
                f"{self.login_failures} login failures, {self.inbox_entries} inbox entries, "
                f"{self.unused_uploads} unused uploads")


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def _delivered(outbox: Any, now: datetime, settings: Settings) -> Select:
    """Delivered rows of an outbox (webhooks', notifications'), delivered long enough ago."""
    return select(outbox.id).where(
        outbox.status == "delivered",  # OutboxStatus's and DeliveryStatus's alike
        outbox.delivered_at < now - _days(settings.retain_delivered_outbox_days))


def _attempts(log: Any, now: datetime, settings: Settings) -> Select:
    """Rows of a delivery log (webhooks', notifications') made long enough ago."""
    return select(log.id).where(log.created_at < now - _days(settings.retain_delivery_log_days))


def _old_inbox_entries(now: datetime, settings: Settings) -> Select:
    # An aggregated entry (new tickets in a queue) changes after it is read: its last
    # change dates it, as well as its reading.
    read_before = now - _days(settings.retain_read_notifications_days)
    return select(Notification.id).where(or_(
        and_(Notification.read_at < read_before, Notification.updated_at < read_before),
        Notification.updated_at < now - _days(settings.retain_notifications_days)))


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


async def _delete_unused_uploads(sessions: async_sessionmaker[AsyncSession], *,
                                 now: datetime, settings: Settings) -> int:
    """Unused uploads' rows, in batches, then their files where nothing else uses them.
    The DELETE checks again that the row is unused: a post attaching it in the meantime
    keeps it."""
    unused = (Attachment.ticket_id.is_(None), Attachment.event_id.is_(None))
    old = select(Attachment.id).where(
        *unused, Attachment.created_at < now - _days(settings.retain_unused_uploads_days))
    total = 0
    while True:
        async with unit_of_work(sessions) as session:
            ids = list((await session.execute(old.limit(BATCH))).scalars())
            gone = list((await session.execute(
                delete(Attachment).where(Attachment.id.in_(ids), *unused)
                .returning(Attachment.sha256, Attachment.storage_key, Attachment.original_key,
                           Attachment.thumbnail_key)
                .execution_options(synchronize_session=False))).all()) if ids else []
        total += len(gone)
        if gone:
            await _remove_unused_files(sessions, gone, settings.attachment_dir, now=now)
        if len(ids) < BATCH:
            return total


async def _remove_unused_files(sessions: async_sessionmaker[AsyncSession],
                               gone: Sequence[Any], directory: Path, *,
                               now: datetime) -> None:
    async with sessions() as session:
        kept = set((await session.execute(select(Attachment.sha256).where(
            Attachment.sha256.in_({row.sha256 for row in gone})))).scalars())
    keys = {key for row in gone if row.sha256 not in kept
            for key in (row.storage_key, row.original_key, row.thumbnail_key) if key}
    await asyncio.to_thread(_unlink_untouched, directory, keys,
                            (now - FILE_GRACE).timestamp())


def _unlink_untouched(directory: Path, keys: set[str], touched_before: float) -> None:
    for key in keys:
        path = directory / key
        try:
            if path.stat().st_mtime < touched_before:
                path.unlink()
        except FileNotFoundError:
            pass


async def prune(sessions: async_sessionmaker[AsyncSession], *, now: datetime,
                settings: Settings) -> PruneReport:
    """Remove what the retention settings no longer keep (see the module's table)."""
    outbox = log_rows = 0
    for model in (OutboxMessage, NotificationOutbox):
        outbox += await _delete_in_batches(sessions, model, _delivered(model, now, settings))
    for log_model in (WebhookDelivery, NotificationAttempt):
        log_rows += await _delete_in_batches(sessions, log_model,
                                             _attempts(log_model, now, settings))
    return PruneReport(
        delivered_outbox=outbox,
        delivery_log=log_rows,
        refresh_tokens=await _delete_in_batches(sessions, RefreshToken,
                                                _expired_logins(now, settings)),
        login_failures=await _delete_in_batches(sessions, LoginFailure,
                                                _login_failures(now, settings)),
        inbox_entries=await _delete_in_batches(sessions, Notification,
                                               _old_inbox_entries(now, settings)),
        unused_uploads=await _delete_unused_uploads(sessions, now=now, settings=settings),
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
