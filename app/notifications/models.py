"""Notifications (消息提醒): the in-app inbox, the channels that reach people where they
already are (企业微信 / 钉钉 group robots, SMS), the outbox of messages to send through them,
and every user's choices.

An inbox entry and an outbox row are written in the same transaction as the ticket event
that causes them, so a change that rolls back is never announced and one that commits is
delivered at least once; ``dedupe_key`` (unique) makes writing them twice a no-op, and the
outbox row's id is the notification id a delivery is deduplicated on.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime, utc_now


class ChannelKind(StrEnum):
    wecom = "wecom"  # 企业微信群机器人
    dingtalk = "dingtalk"  # 钉钉自定义机器人 (signed-timestamp mode)
    sms = "sms"  # 短信 (Alibaba Cloud SMS)


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its time (quiet hours, backoff, a lease)
    delivered = "delivered"  # the provider accepted it
    dead = "dead"  # given up after the last attempt, or its channel was removed


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class NotificationChannel(Base):
    """A group robot or an SMS account of one department or one jurisdiction (community or
    street). ``sealed`` holds its URL and secrets (Fernet, like webhook secrets); NULL
    means not configured yet, and nothing is sent through it."""

    __tablename__ = "notification_channels"
    __table_args__ = (
        CheckConstraint(_in("kind", ChannelKind), name="kind"),
        CheckConstraint("(department_id IS NULL) <> (jurisdiction_id IS NULL)",
                        name="one_owner"),
        CheckConstraint("rate_per_minute > 0", name="rate_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("departments.id"), index=True)
    jurisdiction_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("jurisdictions.id"), index=True)
    # Where it sends, without the key or token (shown to admins).
    endpoint: Mapped[str | None] = mapped_column(String(2000))
    sealed: Mapped[str | None] = mapped_column(Text)
    # Not secret: the SMS sign name and template codes, mentions ...
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Notification kinds sent through it; empty means every kind.
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    rate_per_minute: Mapped[int] = mapped_column(Integer, default=20)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class Notification(Base):
    """One entry of a user's in-app inbox. Aggregated kinds (new tickets in a queue) keep
    one entry per window and count what it stands for."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_inbox", "user_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tickets.id"))
    event_id: Mapped[int | None] = mapped_column(BigId)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(500))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    count: Mapped[int] = mapped_column(Integer, default=1)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationOutbox(Base):
    """One message to send through one channel (to one phone, for SMS)."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        CheckConstraint(_in("status", DeliveryStatus), name="status"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        Index("ix_notification_outbox_due", "next_attempt_at",
              postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("notification_channels.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tickets.id"))
    event_id: Mapped[int | None] = mapped_column(BigId)
    # The message's fields (``app.notifications.messages.Message``), fixed when written.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    count: Mapped[int] = mapped_column(Integer, default=1)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationAttempt(Base):
    """One attempt to send an outbox message (the delivery log admins read)."""

    __tablename__ = "notification_attempts"
    __table_args__ = (Index("ix_notification_attempts_channel", "channel_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("notification_outbox.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(BigId, ForeignKey("notification_channels.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class NotificationPreference(Base):
    """A user's choice for one kind on one personal channel (``inbox`` or ``sms``); with
    no row, the role's default applies (``app.notifications.rules.ROLE_DEFAULTS``)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)


class NotificationContact(Base):
    """Where a user is reached outside the app: the mobile number SMS goes to."""

    __tablename__ = "notification_contacts"

    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    phone: Mapped[str] = mapped_column(String(32))
