"""Tables of the SLA clock, the escalation ladder and the whistle (吹哨报到).

What must never happen is refused by the database, not by Python:

- a warning or breach raised twice for the same deadline — ``SlaAlert`` is unique on
  (ticket, kind, due_at), so concurrent sweeps insert it once and only the inserter writes
  the timeline event;
- a ticket reaching a level twice — ``Escalation`` is unique on (ticket, to_level);
- two pending extension (or suspension) requests, two open pauses, two open whistles per
  ticket — partial unique indexes (PostgreSQL and SQLite both have them);
- a department summoned twice by one whistle — unique (whistle, department).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime, utc_now

ALERT_KINDS = ("response_warning", "response_overdue", "resolve_warning", "resolve_overdue",
               "supervision")
REQUEST_KINDS = ("extension", "suspension")
REQUEST_STATUSES = ("pending", "approved", "rejected")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _partial(condition: str) -> dict:
    return {"postgresql_where": text(condition), "sqlite_where": text(condition)}


class StreetCalendar(Base):
    """A street's office hours (工作时间); streets without a row use the defaults."""

    __tablename__ = "street_calendars"

    street_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("jurisdictions.id", ondelete="CASCADE"), primary_key=True)
    periods: Mapped[str] = mapped_column(String(200))  # "08:30-12:00,14:00-17:30"
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class CalendarOverride(Base):
    """A local extra day off or on, for one street or (``street_id`` NULL) all streets."""

    __tablename__ = "calendar_overrides"
    __table_args__ = (
        UniqueConstraint("street_id", "day"),
        # NULLs are distinct in a unique constraint: the all-streets rows need their own.
        Index("uq_calendar_overrides_all_streets_day", "day", unique=True,
              **_partial("street_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    street_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("jurisdictions.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    is_working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class SlaClock(Base):
    """The SLA state of one ticket that the ticket row does not carry: when its clocks
    started and the precomputed warning / escalation instants the sweep compares with."""

    __tablename__ = "sla_clocks"

    ticket_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    # When the ticket entered its current queue (派遣时间): the response clock's start.
    response_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When an unclaimed ticket fails its level's response limit (+ grace) and climbs; part
    # of the response clock, so a claim clears it with the rest of that clock.
    response_escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The level the ticket is held at, since when, and when the level fails its resolution
    # limit (+ grace), counted from entering the level: the ticket climbs then.
    level: Mapped[str] = mapped_column(String(16))
    level_entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    escalate_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SlaAlert(Base):
    """A warning (即将超时), breach (超时) or supervision flag (督办), once per deadline."""

    __tablename__ = "sla_alerts"
    __table_args__ = (
        UniqueConstraint("ticket_id", "kind", "due_at"),
        CheckConstraint(_in("kind", ALERT_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class Escalation(Base):
    """One step up the ladder (上报): grid → community → street, by hand or by the sweep."""

    __tablename__ = "escalations"
    __table_args__ = (
        UniqueConstraint("ticket_id", "to_level"),
        CheckConstraint("to_level IN ('community', 'street')", name="to_level"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id", ondelete="CASCADE"))
    from_level: Mapped[str] = mapped_column(String(16))
    to_level: Mapped[str] = mapped_column(String(16))
    auto: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    actor_api_key_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class TicketRequest(Base):
    """An extension (延期申请) or suspension (挂起申请) request and its decision."""

    __tablename__ = "ticket_requests"
    __table_args__ = (
        CheckConstraint(_in("kind", REQUEST_KINDS), name="kind"),
        CheckConstraint(_in("status", REQUEST_STATUSES), name="status"),
        CheckConstraint("kind != 'extension' OR minutes > 0", name="extension_minutes"),
        Index("uq_ticket_requests_one_pending", "ticket_id", "kind", unique=True,
              **_partial("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    minutes: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)


class TicketPause(Base):
    """A stretch during which the ticket's clock stood still (an approved suspension)."""

    __tablename__ = "ticket_pauses"
    __table_args__ = (
        Index("uq_ticket_pauses_one_open", "ticket_id", unique=True,
              **_partial("ended_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Whistle(Base):
    """吹哨: the street summons departments to report in (报到) on a ticket by a deadline."""

    __tablename__ = "whistles"
    __table_args__ = (
        Index("uq_whistles_one_open", "ticket_id", unique=True, **_partial("closed_at IS NULL")),
        Index("ix_whistles_street_blown", "street_id", "blown_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    street_id: Mapped[int] = mapped_column(BigId, ForeignKey("jurisdictions.id"))
    blown_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    auto: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    blown_at: Mapped[datetime] = mapped_column(UTCDateTime)
    report_in_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WhistleSummons(Base):
    """One department summoned by a whistle, and its report-in (报到): who, when, on time."""

    __tablename__ = "whistle_summons"
    __table_args__ = (
        UniqueConstraint("whistle_id", "department_id"),
        # The sweep's "report-ins past their deadline": only still-pending rows are indexed.
        Index("ix_whistle_summons_pending_due", "due_at",
              **_partial("reported_in_at IS NULL AND missed_at IS NULL")),
        # "Tickets this department was summoned to" (its queue and scope).
        Index("ix_whistle_summons_department_ticket", "department_id", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    whistle_id: Mapped[int] = mapped_column(BigId, ForeignKey("whistles.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(BigId, ForeignKey("departments.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the whistle's report-in deadline
    reported_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
