"""Webhooks for departments' own systems: subscriptions, the transactional outbox, and the
log of every delivery attempt.

An outbox row is written in the same transaction as the ticket change it reports, so a
change that rolls back is never announced and one that commits is always (at least once)
delivered; ``delivery_id`` is what receivers deduplicate on.
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


class OutboxStatus(StrEnum):
    pending = "pending"  # waiting for its next attempt (or being attempted under a lease)
    delivered = "delivered"  # a 2xx came back
    dead = "dead"  # gave up after the last attempt, or the subscription was deleted


_OUTBOX_STATUSES = ", ".join(f"'{s.value}'" for s in OutboxStatus)


class WebhookSubscription(Base):
    """A department's endpoint for ticket events. ``department_id`` NULL means every
    department (admins only); an empty ``event_types`` list means every kind."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    department_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("departments.id"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(512))  # sealed (app.webhooks.sealing)
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class OutboxMessage(Base):
    """One event to deliver to one subscription."""

    __tablename__ = "webhook_outbox"
    __table_args__ = (
        CheckConstraint(f"status IN ({_OUTBOX_STATUSES})", name="status"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        # The delivery worker's scan: only pending rows, by when they are due.
        Index(
            "ix_webhook_outbox_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("webhook_subscriptions.id"), index=True
    )
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("ticket_events.id"))
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id"))
    event_kind: Mapped[str] = mapped_column(String(32))
    # The request body, fixed when the event happened: every attempt sends the same bytes.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    delivery_id: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    """One attempt to deliver an outbox message, successful or not."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("webhook_outbox.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
