from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import SHANGHAI
from app.db import Base, BigId, UTCDateTime, utc_now


class Status(StrEnum):
    self_handling = "self_handling"  # 网格自处: the grid worker handles it on the spot
    dispatched = "dispatched"  # 已派遣/待签收: in a queue
    claimed = "claimed"  # 已签收
    in_progress = "in_progress"  # 处置中
    suspended = "suspended"  # 挂起: clock paused, with approval
    resolved = "resolved"  # 已处置/待核查
    rework = "rework"  # 返工: failed on-site verification
    returned = "returned"  # 退单: awaiting re-routing by the dispatcher
    closed = "closed"  # 已结案
    cancelled = "cancelled"  # 作废 / merged


OPEN_STATUSES = tuple(s.value for s in Status if s not in (Status.closed, Status.cancelled))
_STATUS_LIST = ", ".join(f"'{s.value}'" for s in Status)
# The open tickets with a location: what the duplicate checks search (app.duplicates).
NEARBY_PREDICATE = ("status IN (" + ", ".join(f"'{s}'" for s in OPEN_STATUSES)
                    + ") AND lat IS NOT NULL")


class Urgency(StrEnum):
    normal = "normal"
    urgent = "urgent"


class Source(StrEnum):
    grid_worker = "grid_worker"
    resident = "resident"
    hotline = "hotline"
    open311 = "open311"


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUS_LIST})", name="status"),
        CheckConstraint("level IN ('grid', 'community', 'street')", name="level"),
        CheckConstraint("urgency IN ('normal', 'urgent')", name="urgency"),
        CheckConstraint("version >= 1", name="version_positive"),
        # Only a street-level ticket sits in a department's queue (claim-next relies on it).
        CheckConstraint("department_id IS NULL OR level = 'street'", name="department_at_street"),
        # A department queue's claim path: by department, state, urgency, deadline, age.
        Index("ix_tickets_queue", "department_id", "status", "urgency", "resolve_due_at", "id"),
        Index("ix_tickets_scope", "street_id", "community_id", "grid_id"),
        # Radius queries of the duplicate checks: the item, then a latitude band, with
        # longitude and age checked inside the index; open tickets only.
        Index("ix_tickets_nearby", "item_code", "lat", "lon", "created_at",
              postgresql_where=text(NEARBY_PREDICATE), sqlite_where=text(NEARBY_PREDICATE)),
        # The sweep selects only open tickets that have something due.
        Index(
            "ix_tickets_next_check",
            "next_check_at",
            postgresql_where=text("next_check_at IS NOT NULL"),
            sqlite_where=text("next_check_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    matrix_version_id: Mapped[int] = mapped_column(BigId, ForeignKey("matrix_versions.id"))
    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("matrix_items.id"))
    item_code: Mapped[str] = mapped_column(String(32), index=True)
    category_code: Mapped[str] = mapped_column(String(8), index=True)
    street_id: Mapped[int] = mapped_column(BigId, ForeignKey("jurisdictions.id"))
    community_id: Mapped[int] = mapped_column(BigId, ForeignKey("jurisdictions.id"))
    grid_id: Mapped[int] = mapped_column(BigId, ForeignKey("jurisdictions.id"))
    level: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("departments.id"))
    status: Mapped[str] = mapped_column(String(16), index=True)
    urgency: Mapped[str] = mapped_column(String(8), default=Urgency.normal)
    source: Mapped[str] = mapped_column(String(16), default=Source.grid_worker)
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    reporter_name: Mapped[str | None] = mapped_column(String(100))
    reporter_phone: Mapped[str | None] = mapped_column(String(32))
    self_handle: Mapped[bool] = mapped_column(Boolean, default=False)
    # 待分拨: posted without an item and no suggestion was confident, so it waits in the
    # triage queue of its level (the street's, or its community's: app.suggest.triage)
    # until a dispatcher routes it (reroute clears it).
    awaiting_triage: Mapped[bool] = mapped_column(Boolean, default=False,
                                                  server_default=false())
    routing_reason: Mapped[str] = mapped_column(Text)
    created_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    created_by_api_key_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("api_keys.id"))
    assignee_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merged_into_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tickets.id"))
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[str | None] = mapped_column(String(16))
    rating_comment: Mapped[str | None] = mapped_column(Text)
    # SLA: stored, recomputed on every change that affects them, never on read.
    response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # on_track / warning / overdue, or paused while suspended (then no deadline is stored and
    # ``resolve_remaining_minutes`` says how much of the resolution limit is left).
    sla_state: Mapped[str] = mapped_column(String(16), default="on_track")
    resolve_remaining_minutes: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    @property
    def number(self) -> str:
        return ticket_number(self.id, self.created_at)


def ticket_number(ticket_id: int, created_at: datetime) -> str:
    """The human-readable case number (案件编号): the UTC+8 date and the id, e.g.
    ``20261123-0000042``. Derived, so it can never disagree with the id."""
    return f"{created_at.astimezone(SHANGHAI):%Y%m%d}-{ticket_id:07d}"


def parse_ticket_number(number: str) -> int | None:
    head, _, tail = number.partition("-")
    if len(head) == 8 and head.isdigit() and tail.isdigit():
        return int(tail)
    return None


class TicketEvent(Base):
    """One immutable entry of a ticket's timeline, written in the same transaction as the
    change it records. Nothing updates or deletes these rows."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    actor_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    actor_api_key_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("api_keys.id"))
    actor_role: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Indexed for Open311's servicerequestupdates, which reads the events of a time window.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)


class IdempotencyRecord(Base):
    """An ``Idempotency-Key`` seen from one caller: the unique key makes a retried or
    concurrent duplicate POST find the first one instead of creating a second ticket."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("owner", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
