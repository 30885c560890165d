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

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import insert_for, is_postgres, unit_of_work
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
    # Core and executemany (``insertmanyvalues``): compiled once, not one bound parameter
    # object per value as a multi-row ``values()`` builds.
    rows = await session.execute(
        insert_for(session)(_ALERTS)
        .on_conflict_do_nothing(index_elements=[_ALERTS.c.ticket_id, _ALERTS.c.kind,
                                                _ALERTS.c.due_at])
        .returning(_ALERTS.c.ticket_id, _ALERTS.c.kind, _ALERTS.c.due_at),
        [{**a, "created_at": now} for a in alerts])
    return sorted(rows.all())


async def _due_ids(session: AsyncSession, now: datetime, batch: int) -> list[int]:
    query = (select(Ticket.id).where(Ticket.next_check_at <= now)
             .order_by(Ticket.next_check_at, Ticket.id).limit(batch))
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    return list((await session.execute(query)).scalars())


async def _sweep_tickets(session: AsyncSession, *, now: datetime, batch: int,
                         settings: Settings, report: SweepReport) -> int:
    ids = await _due_ids(session, now, batch)
    if not ids:
        return 0
    rows = (await session.execute(
        select(Ticket, SlaClock, MatrixItem)
        .join(MatrixItem, MatrixItem.id == Ticket.item_id)
        .outerjoin(SlaClock, SlaClock.ticket_id == Ticket.id)
        .where(Ticket.id.in_(ids)).order_by(Ticket.id)
        .execution_options(populate_existing=True))).all()
    report.tickets += len(rows)
    plans: dict[int, tuple[Ticket, MatrixItem, Deadlines]] = {}
    for ticket, clock, item in rows:
        if ticket.status not in RUNNING:
            continue  # stopped since: nothing more to check (next_check_at cleared below)
        if clock is None:  # posted before deadlines were kept: compute them now
            clock_less = await service.refresh(session, ticket_id=ticket.id, now=now,
                                               settings=settings)
            plans[ticket.id] = (ticket, item, clock_less)
            continue
        plans[ticket.id] = (ticket, item, _stored(ticket, clock))

    await _raise_sla_alerts(session, plans, now, report)
    for ticket_id, (ticket, item, deadlines) in list(plans.items()):
        failed = deadlines.ladder_failure(now) if ticket.level in LADDER else None
        if failed is not None:
            plans[ticket_id] = (ticket, item, await _auto_escalate(
                session, ticket, deadlines, failed, now=now, settings=settings, report=report))
    await _supervise(session, plans, now, settings, report)

    await session.execute(
        update(_TICKETS).where(_TICKETS.c.id == bindparam("tid"))
        .values(next_check_at=bindparam("next"), sla_state=bindparam("state")),
        [{"tid": r[0].id, "next": None, "state": r[0].sla_state} for r in rows
         if r[0].id not in plans]
        + [{"tid": tid, "next": d.next_check(after=now), "state": d.state(now)}
           for tid, (_, _, d) in plans.items()])
    return len(ids)


async def _raise_sla_alerts(session: AsyncSession, plans: dict, now: datetime,
                            report: SweepReport) -> None:
    """The batch's warnings and breaches as sets: one insert for the alerts (each raised
    once: unique key), one for the events of those that were new, and the after-event
    pipeline over them together (``record_events``)."""
    wanted = [a for tid, (_, _, d) in plans.items() for a in _sla_alerts(tid, d, now)]
    events = []
    for ticket_id, kind, due_at in await _raise(session, wanted, now):
        clock, _, level = kind.partition("_")
        events.append(NewEvent(ticket_id=ticket_id,
                               kind="sla_overdue" if level == "overdue" else "sla_warning",
                               data={"clock": clock, "due_at": due_at.isoformat()}))
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


async def _supervise(session: AsyncSession, plans: dict, now: datetime, settings: Settings,
                     report: SweepReport) -> None:
    """督办: flag street-level tickets past their resolution deadline, once per deadline,
    and blow the whistle where the item's policy says so."""
    wanted = [{"ticket_id": tid, "kind": "supervision", "due_at": d.resolve_due_at}
              for tid, (ticket, _, d) in plans.items()
              if ticket.level == "street" and d.resolve_due_at is not None
              and d.resolve_due_at <= now]
    raised = await _raise(session, wanted, now)
    await record_events(session, [
        NewEvent(ticket_id=ticket_id, kind="supervised",
                 data={"due_at": due_at.isoformat(),
                       "auto_whistle": plans[ticket_id][1].auto_whistle})
        for ticket_id, _, due_at in raised], at=now)
    report.supervised += len(raised)
    for ticket_id, _, _ in raised:
        ticket, item, _ = plans[ticket_id]
        if item.auto_whistle:
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
