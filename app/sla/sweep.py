"""The SLA sweep: warnings, breaches, the escalation ladder, supervision, the automatic
whistle and missed report-ins, for whatever is due — and nothing else.

Cost follows the number of due tickets: it selects ``next_check_at <= now`` through the
partial index on that column, in batches, each batch its own transaction. Any number of
sweeps may run at once on PostgreSQL: a batch locks its tickets ``FOR UPDATE SKIP LOCKED``
(another sweep takes the next ones), and everything the sweep raises is an insert into a
unique key (``SlaAlert``, ``Escalation``, the one open ``Whistle``) or a conditional update
(``missed_at IS NULL``), whose timeline event is written only by the one that inserted. On
SQLite, writers are serialised by ``BEGIN IMMEDIATE``. Re-running a sweep with the same
``now`` finds nothing due and does nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import insert_rows, is_postgres, unit_of_work, update_rows
from app.jurisdiction.models import Department
from app.matrix.models import MatrixItem
from app.sla import service
from app.sla.models import SlaAlert, SlaClock, Whistle, WhistleSummons
from app.sla.service import LADDER, RUNNING, Deadlines
from app.tickets.events import NewEvent, record_event, record_events
from app.tickets.models import Ticket
from app.whistle.service import blow, default_departments

_TICKETS = Ticket.__table__
_ALERTS = SlaAlert.__table__

# How the sweep takes a ticket one level up: the workflow's ``escalate`` action by the system
# actor (``app.workflow.actions.system_escalate``: effect, conditional update, ``escalate``
# event with ``auto``, pipeline), which every session factory puts in ``session.info``
# (``app.workflow.pipeline.workflow_sessions``) — the sweep sits below the workflow. It
# returns False when the ladder refuses (that level was reached once already).
SYSTEM_ESCALATE_KEY = "whistle.system_escalate"
SystemEscalate = Callable[..., Awaitable[bool]]
# Why a level failed (``Deadlines.ladder_failure``), as the escalation's reason says it.
_FAILED = {"response": "not signed for within the response limit at {level} level (未按时签收)",
           "resolve": "not resolved within the resolution limit at {level} level (未按时办结)"}


@dataclass(slots=True)
class SweepReport:
    tickets: int = 0
    warnings: int = 0
    overdue: int = 0
    escalations: int = 0
    supervised: int = 0
    whistles: int = 0
    missed_report_ins: int = 0

    def __str__(self) -> str:
        return ", ".join(f"{k.replace('_', ' ')}: {getattr(self, k)}" for k in self.__slots__)


async def sweep_once(*, sessions: async_sessionmaker[AsyncSession], now: datetime,
                     batch: int = 1000, settings: Settings) -> SweepReport:
    """Do everything that is due at ``now``; each batch is one transaction."""
    report = SweepReport()
    while True:
        async with unit_of_work(sessions) as session:
            seen = await _sweep_tickets(session, now=now, batch=batch, settings=settings,
                                        report=report)
        if seen < batch:
            break
    while True:
        async with unit_of_work(sessions) as session:
            missed = await _sweep_report_ins(session, now=now, batch=batch)
        report.missed_report_ins += missed
        if missed < batch:
            break
    return report


# --- tickets ---------------------------------------------------------------------------------


def _stored(ticket: Ticket, clock: SlaClock) -> Deadlines:
    return Deadlines(
        response_started_at=clock.response_started_at, response_due_at=ticket.response_due_at,
        response_warn_at=clock.response_warn_at, resolve_due_at=ticket.resolve_due_at,
        resolve_warn_at=clock.resolve_warn_at, level=clock.level,
        level_entered_at=clock.level_entered_at, escalate_due_at=clock.escalate_due_at,
        running=ticket.status in RUNNING, response_escalate_at=clock.response_escalate_at)


def _stored_row(row: Any) -> Deadlines:
    """``_stored`` of a due row (``_DUE_COLUMNS``)."""
    return Deadlines(
        response_started_at=row.response_started_at, response_due_at=row.response_due_at,
        response_warn_at=row.response_warn_at, resolve_due_at=row.resolve_due_at,
        resolve_warn_at=row.resolve_warn_at, level=row.clock_level,
        level_entered_at=row.level_entered_at, escalate_due_at=row.escalate_due_at,
        running=row.status in RUNNING, response_escalate_at=row.response_escalate_at)


def _sla_alerts(ticket_id: int, d: Deadlines, now: datetime) -> list[dict]:
    """The warning or breach due on each clock (a breach makes its warning moot)."""
    wanted = []
    for clock, due, warn in (("response", d.response_due_at, d.response_warn_at),
                             ("resolve", d.resolve_due_at, d.resolve_warn_at)):
        if due is not None and due <= now:
            wanted.append({"ticket_id": ticket_id, "kind": f"{clock}_overdue", "due_at": due})
        elif warn is not None and warn <= now:
            wanted.append({"ticket_id": ticket_id, "kind": f"{clock}_warning", "due_at": due})
    return wanted


async def _raise(session: AsyncSession, alerts: list[dict], now: datetime) -> list[tuple]:
    """Insert alerts; return the (ticket_id, kind, due_at) of those that were new."""
    if not alerts:
        return []
    # One statement for the set (``insert_rows``); the unique key keeps each alert once.
    key = ("ticket_id", "kind", "due_at")
    return sorted(await insert_rows(session, _ALERTS, [{**a, "created_at": now} for a in alerts],
                                    conflict=key, returning=key))


async def _due_ids(session: AsyncSession, now: datetime, batch: int) -> list[int]:
    query = (select(Ticket.id).where(Ticket.next_check_at <= now)
             .order_by(Ticket.next_check_at, Ticket.id).limit(batch))
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    return list((await session.execute(query)).scalars())


# What the sweep reads of its due tickets: columns, not entities — a thousand tickets,
# clocks and items loaded into the session and expired at the commit were a quarter of the
# sweep's time. The rare escalation and automatic whistle load the one ticket they act on.
_CLOCKS = SlaClock.__table__
_ITEMS = MatrixItem.__table__
# Core columns (the tables', not the entities'): an ORM-enabled select of columns still runs
# the ORM's row loading for every row.
_DUE_COLUMNS = (_TICKETS.c.id, _TICKETS.c.status, _TICKETS.c.level, _TICKETS.c.sla_state,
                _TICKETS.c.department_id, _TICKETS.c.street_id, _TICKETS.c.community_id,
                _TICKETS.c.grid_id, _TICKETS.c.response_due_at, _TICKETS.c.resolve_due_at,
                _ITEMS.c.auto_whistle, _CLOCKS.c.ticket_id.label("clock_of"),
                _CLOCKS.c.level.label("clock_level"), _CLOCKS.c.response_started_at,
                _CLOCKS.c.response_warn_at, _CLOCKS.c.resolve_warn_at,
                _CLOCKS.c.level_entered_at, _CLOCKS.c.escalate_due_at,
                _CLOCKS.c.response_escalate_at)


def _due_rows(session: AsyncSession) -> Any:
    query = select(*_DUE_COLUMNS).select_from(
        _TICKETS.join(_ITEMS, _ITEMS.c.id == _TICKETS.c.item_id)
        .outerjoin(_CLOCKS, _CLOCKS.c.ticket_id == _TICKETS.c.id))
    if is_postgres(session):  # one array parameter, not a thousand
        return query.where(_TICKETS.c.id == any_(bindparam("ids", type_=ARRAY(BigInteger))))
    return query.where(_TICKETS.c.id.in_(bindparam("ids", expanding=True)))


@dataclass(slots=True)
class _Due:
    """A due ticket as the sweep sees it: the attributes it reads (a row's, or after an
    escalation the refreshed entity's), its item's automatic whistle, its deadlines."""

    # id, status, level, sla_state and where it is (the live step's ``HOOK_COLUMNS``):
    # a row, or the Ticket once escalated
    ticket: Any
    auto_whistle: bool
    deadlines: Deadlines


async def _sweep_tickets(session: AsyncSession, *, now: datetime, batch: int,
                         settings: Settings, report: SweepReport) -> int:
    ids = await _due_ids(session, now, batch)
    if not ids:
        return 0
    rows = (await session.execute(_due_rows(session), {"ids": ids})).all()
    report.tickets += len(rows)
    plans: dict[int, _Due] = {}
    for row in rows:
        if row.status not in RUNNING:
            continue  # stopped since: nothing more to check (next_check_at cleared below)
        if row.clock_of is None:  # posted before deadlines were kept: compute them now
            clock_less = await service.refresh(session, ticket_id=row.id, now=now,
                                               settings=settings)
            if clock_less is not None:  # (None: no such ticket, which the lock rules out)
                plans[row.id] = _Due(row, row.auto_whistle, clock_less)
            continue
        plans[row.id] = _Due(row, row.auto_whistle, _stored_row(row))

    await _raise_sla_alerts(session, plans, now, report)
    for due in plans.values():
        failed = due.deadlines.ladder_failure(now) if due.ticket.level in LADDER else None
        if failed is not None:
            ticket = await session.get_one(Ticket, due.ticket.id)
            due.deadlines = await _auto_escalate(session, ticket, due.deadlines, failed,
                                                 now=now, settings=settings, report=report)
            due.ticket = ticket
    await _supervise(session, plans, now, settings, report)

    await update_rows(session, _TICKETS, [
        {"id": r.id, "next_check_at": None, "sla_state": r.sla_state} for r in rows
        if r.id not in plans] + [
        {"id": tid, "next_check_at": due.deadlines.next_check(after=now),
         "sla_state": due.deadlines.state(now)} for tid, due in plans.items()])
    return len(ids)


async def _raise_sla_alerts(session: AsyncSession, plans: dict[int, _Due], now: datetime,
                            report: SweepReport) -> None:
    """The batch's warnings and breaches as sets: one insert for the alerts (each raised
    once: unique key), one for the events of those that were new, and the after-event
    pipeline over them together (``record_events``)."""
    wanted = [a for tid, due in plans.items() for a in _sla_alerts(tid, due.deadlines, now)]
    events = []
    for ticket_id, kind, due_at in await _raise(session, wanted, now):
        clock, _, level = kind.partition("_")
        events.append(NewEvent(ticket_id=ticket_id,
                               kind="sla_overdue" if level == "overdue" else "sla_warning",
                               data={"clock": clock, "due_at": due_at.isoformat()},
                               ticket=plans[ticket_id].ticket))
        if level == "overdue":
            report.overdue += 1
        else:
            report.warnings += 1
    await record_events(session, events, at=now)


async def _auto_escalate(session: AsyncSession, ticket: Ticket, deadlines: Deadlines,
                         failed: str, *, now: datetime, settings: Settings,
                         report: SweepReport) -> Deadlines:
    """上报 by the system: the level failed its ``failed`` limit. If the ladder refuses
    (that level was reached once already), stop watching the level's limits instead."""
    escalate: SystemEscalate | None = session.info.get(SYSTEM_ESCALATE_KEY)
    if escalate is None:
        raise RuntimeError("this session cannot escalate: make its factory with "
                           "app.workflow.pipeline.workflow_sessions")
    if not await escalate(session, ticket, now=now, settings=settings,
                          reason=_FAILED[failed].format(level=ticket.level)):
        await session.execute(update(SlaClock).where(SlaClock.ticket_id == ticket.id)
                              .values(escalate_due_at=None, response_escalate_at=None)
                              .execution_options(synchronize_session=False))
        return replace(deadlines, escalate_due_at=None, response_escalate_at=None)
    report.escalations += 1
    clock = (await session.execute(select(SlaClock).where(SlaClock.ticket_id == ticket.id)
                                   .execution_options(populate_existing=True))).scalar_one()
    return _stored(ticket, clock)  # as the escalation's deadlines step left them


async def _supervise(session: AsyncSession, plans: dict[int, _Due], now: datetime,
                     settings: Settings, report: SweepReport) -> None:
    """督办: flag street-level tickets past their resolution deadline, once per deadline,
    and blow the whistle where the item's policy says so."""
    wanted = [{"ticket_id": tid, "kind": "supervision", "due_at": due.deadlines.resolve_due_at}
              for tid, due in plans.items()
              if due.ticket.level == "street" and due.deadlines.resolve_due_at is not None
              and due.deadlines.resolve_due_at <= now]
    raised = await _raise(session, wanted, now)
    await record_events(session, [
        NewEvent(ticket_id=ticket_id, kind="supervised",
                 data={"due_at": due_at.isoformat(),
                       "auto_whistle": plans[ticket_id].auto_whistle},
                 ticket=plans[ticket_id].ticket)
        for ticket_id, _, due_at in raised], at=now)
    report.supervised += len(raised)
    for ticket_id, _, _ in raised:
        if plans[ticket_id].auto_whistle:
            ticket = await session.get_one(Ticket, ticket_id)
            item = await session.get_one(MatrixItem, ticket.item_id)
            await _auto_whistle(session, ticket, item, now, settings, report)


async def _auto_whistle(session: AsyncSession, ticket: Ticket, item: MatrixItem, now: datetime,
                        settings: Settings, report: SweepReport) -> None:
    codes = default_departments(item)
    found = dict((await session.execute(select(Department.code, Department.id).where(
        Department.code.in_(codes)))).all())
    if not found:
        return
    blown = await blow(session, ticket=ticket, department_ids=found,
                       minutes=settings.whistle_report_in_minutes,
                       reason="automatic: overdue at street level (督办)", now=now,
                       blown_by=None, auto=True)
    if blown is not None:
        await record_event(session, ticket_id=ticket.id, kind="whistle_blown", actor=None,
                           at=now, data=blown.event_data(auto=True))
        report.whistles += 1


# --- report-ins ------------------------------------------------------------------------------


async def _sweep_report_ins(session: AsyncSession, *, now: datetime, batch: int) -> int:
    """报到超时: summons of open whistles past their deadline with no report-in, once each."""
    due = (select(WhistleSummons.id)
           .join(Whistle, Whistle.id == WhistleSummons.whistle_id)
           .where(WhistleSummons.reported_in_at.is_(None), WhistleSummons.missed_at.is_(None),
                  WhistleSummons.due_at <= now, Whistle.closed_at.is_(None))
           .order_by(WhistleSummons.due_at, WhistleSummons.id).limit(batch))
    if is_postgres(session):
        due = due.with_for_update(of=WhistleSummons, skip_locked=True)
    ids = list((await session.execute(due)).scalars())
    if not ids:
        return 0
    missed = (await session.execute(
        update(WhistleSummons)
        .where(WhistleSummons.id.in_(ids), WhistleSummons.missed_at.is_(None),
               WhistleSummons.reported_in_at.is_(None))
        .values(missed_at=now)
        .returning(WhistleSummons.ticket_id, WhistleSummons.whistle_id,
                   WhistleSummons.department_id, WhistleSummons.due_at)
        .execution_options(synchronize_session=False))).all()
    for ticket_id, whistle_id, department_id, due_at in sorted(missed):
        await record_event(session, ticket_id=ticket_id, kind="report_in_missed", actor=None,
                           at=now, data={"whistle_id": whistle_id, "department_id": department_id,
                                         "report_in_due_at": due_at.isoformat()})
    return len(ids)
