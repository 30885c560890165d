"""The maintained aggregates behind the supervisor reports (统计报表).

Every ticket contributes one *fact* (``ReportTicketFact``): where it was reported, which
department holds it, its item and source, and 0/1 counters (closed, responded on time,
returned, ...), two duration buckets and its whistle summons. The three rollup tables are
exact sums of those contributions per reporting day (Asia/Shanghai) and key:

- ``ReportDaily``      the counters, per (street, day, community, grid, department, category,
                       item, source);
- ``ReportDuration``   how many tickets fell in each duration bucket (time to claim, time to
                       resolve), per the same key — percentiles are read from these histograms;
- ``ReportSummons``    whistle summons per the same key, with the *summoned* department in
                       the department column;
- ``ReportMonthly``    the counters per calendar month and coarse key (street, community,
                       department, category, source): a month's street report by community
                       or department sums a few thousand rows instead of one per ticket;
- ``ReportMonthlyDuration`` the histograms per month and (street, community, department).

Reports read the monthly tier for the whole months of their range when their dimensions
and filters allow it, and the daily tier for the rest; both are sums of the same
contributions, so the answer does not depend on which tier was read.

Posting adds a new ticket to them in its own transaction; every later change marks the
ticket in ``ReportBacklog`` (``app.reports.facts_step``), and ``app.reports.backlog.drain``
moves the changed facts into the rollups — continuously in ``whistle worker``, and before
every report is read, so reports are exact when read. ``whistle reports-rebuild``
recomputes everything from tickets and events. ``department_id`` 0 means "no department"
(a ticket held in the tree), so that the key has no NULLs and the upserts can match it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime

# The counters of a ticket's fact and of a ``ReportDaily`` row, in this order everywhere.
COUNTERS: tuple[str, ...] = (
    "reported", "cancelled", "open", "suspended", "closed", "dispatched", "responded",
    "responded_on_time", "resolved", "closed_on_time", "rated", "satisfied", "returned",
    "reworked", "extended", "escalated_to_community", "escalated_to_street",
    "closed_in_grid", "closed_in_community",
)
KEY: tuple[str, ...] = ("street_id", "day", "community_id", "grid_id", "department_id",
                        "category_code", "item_code", "source")
SUMMONS_COUNTERS: tuple[str, ...] = ("summoned", "reported_in", "reported_in_on_time")
MONTHLY_KEY: tuple[str, ...] = ("street_id", "month", "community_id", "department_id",
                                "category_code", "source")
MONTHLY_DURATION_KEY: tuple[str, ...] = ("street_id", "month", "community_id", "department_id")


class _RollupKey:
    """The key every rollup row shares (copied into each table by SQLAlchemy); the primary
    key starts with (street, day): a street's report for a range is one index range."""

    street_id: Mapped[int] = mapped_column(BigId)
    day: Mapped[date] = mapped_column(Date)
    community_id: Mapped[int] = mapped_column(BigId)
    grid_id: Mapped[int] = mapped_column(BigId)
    department_id: Mapped[int] = mapped_column(BigId)
    category_code: Mapped[str] = mapped_column(String(8))
    item_code: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))


class _Counters:
    """The 0/1 counters of a fact, summed (``COUNTERS``)."""

    reported: Mapped[int] = mapped_column(Integer)
    cancelled: Mapped[int] = mapped_column(Integer)
    open: Mapped[int] = mapped_column(Integer)
    suspended: Mapped[int] = mapped_column(Integer)
    closed: Mapped[int] = mapped_column(Integer)
    dispatched: Mapped[int] = mapped_column(Integer)
    responded: Mapped[int] = mapped_column(Integer)
    responded_on_time: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[int] = mapped_column(Integer)
    closed_on_time: Mapped[int] = mapped_column(Integer)
    rated: Mapped[int] = mapped_column(Integer)
    satisfied: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer)
    reworked: Mapped[int] = mapped_column(Integer)
    extended: Mapped[int] = mapped_column(Integer)
    escalated_to_community: Mapped[int] = mapped_column(Integer)
    escalated_to_street: Mapped[int] = mapped_column(Integer)
    closed_in_grid: Mapped[int] = mapped_column(Integer)
    closed_in_community: Mapped[int] = mapped_column(Integer)


class ReportTicketFact(Base):
    """One ticket's current contribution to the rollups (what was last added for it), so
    that a change can take the old contribution out before putting the new one in. A ticket
    gets its row at its first change after posting; until then it contributes its posting
    counts, which the hook can rebuild from the ticket's ``created`` event."""

    __tablename__ = "report_ticket_facts"

    ticket_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    street_id: Mapped[int] = mapped_column(BigId)
    day: Mapped[date] = mapped_column(Date)
    community_id: Mapped[int] = mapped_column(BigId)
    grid_id: Mapped[int] = mapped_column(BigId)
    department_id: Mapped[int] = mapped_column(BigId)
    category_code: Mapped[str] = mapped_column(String(8))
    item_code: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    # The counters packed as a string of 0/1 digits in ``COUNTERS`` order: narrow, and
    # compared as a whole to skip writes when an event changed nothing.
    counters: Mapped[str] = mapped_column(String(32))
    claim_bucket: Mapped[int | None] = mapped_column(SmallInteger)
    resolve_bucket: Mapped[int | None] = mapped_column(SmallInteger)
    # [[summoned department id, reported in 0/1, on time 0/1], ...]
    summons: Mapped[list] = mapped_column(JSON, default=list)


class ReportDaily(_RollupKey, _Counters, Base):
    """Counters per reporting day and key (see the module docstring)."""

    __tablename__ = "report_daily"
    __table_args__ = (PrimaryKeyConstraint(*KEY),
                      Index("ix_report_daily_department_day", "department_id", "day"))


class ReportDuration(_RollupKey, Base):
    """Tickets per duration bucket: ``measure`` is ``claim`` (time to first claim) or
    ``resolve`` (time to resolution of a closed ticket); buckets in ``app.reports.metrics``."""

    __tablename__ = "report_durations"
    __table_args__ = (PrimaryKeyConstraint(*KEY, "measure", "bucket"),
                      Index("ix_report_durations_department_day", "department_id", "day"))

    measure: Mapped[str] = mapped_column(String(8))
    bucket: Mapped[int] = mapped_column(SmallInteger)
    tickets: Mapped[int] = mapped_column(Integer)


class ReportSummons(_RollupKey, Base):
    """Whistle summons (吹哨召集) and report-ins (报到) per key, ``department_id`` being the
    summoned department (not the one holding the ticket)."""

    __tablename__ = "report_summons"
    __table_args__ = (PrimaryKeyConstraint(*KEY),
                      Index("ix_report_summons_department_day", "department_id", "day"))

    summoned: Mapped[int] = mapped_column(Integer)
    reported_in: Mapped[int] = mapped_column(Integer)
    reported_in_on_time: Mapped[int] = mapped_column(Integer)


class ReportMonthly(_Counters, Base):
    """Counters per calendar month (``month`` is its first day) and coarse key."""

    __tablename__ = "report_monthly"
    __table_args__ = (PrimaryKeyConstraint(*MONTHLY_KEY),)

    street_id: Mapped[int] = mapped_column(BigId)
    month: Mapped[date] = mapped_column(Date)
    community_id: Mapped[int] = mapped_column(BigId)
    department_id: Mapped[int] = mapped_column(BigId)
    category_code: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(16))


class ReportMonthlyDuration(Base):
    """Duration histograms per calendar month and (street, community, department)."""

    __tablename__ = "report_monthly_durations"
    __table_args__ = (PrimaryKeyConstraint(*MONTHLY_DURATION_KEY, "measure", "bucket"),)

    street_id: Mapped[int] = mapped_column(BigId)
    month: Mapped[date] = mapped_column(Date)
    community_id: Mapped[int] = mapped_column(BigId)
    department_id: Mapped[int] = mapped_column(BigId)
    measure: Mapped[str] = mapped_column(String(8))
    bucket: Mapped[int] = mapped_column(SmallInteger)
    tickets: Mapped[int] = mapped_column(Integer)


class ReportBacklog(Base):
    """Tickets whose fact may be out of date: marked in the transaction of each event that
    can change a fact (one small insert, or part of the claim's own statement), and brought
    into the rollups by ``app.reports.backlog.drain`` — in the worker, and before every
    report is read, so a report always counts every change committed before it.

    No foreign key: a marker written on the hottest paths checks nothing it need not; a
    marker whose ticket is gone is simply dropped when drained."""

    __tablename__ = "report_backlog"

    ticket_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)
