"""The report backlog (``ReportBacklog``): tickets whose fact may be out of date, and the
drain that brings their facts into the rollups.

A change that can move a ticket's fact only *marks* the ticket, in its own transaction
(``mark``: one ``INSERT ... ON CONFLICT DO NOTHING``; claim-next writes the same row inside
its one statement). ``drain`` takes markers, deletes them and moves each ticket's changed
contribution into the rollups, all in one transaction. ``whistle worker`` drains in
``SKIP LOCKED`` batches every pass (``drain_round``); every report read drains whatever is
left first, in the request's transaction (``drain_all``), so that a report counts every
change committed before it.

Why no change is lost (PostgreSQL; SQLite serialises writers, so there is no race there).
Every transaction A that changes a ticket's fact has updated or locked the ticket's row
before it marks it — the actions' conditional UPDATE, the sweep's ``FOR UPDATE``, the
claim-next marker fed by its ``UPDATE ... RETURNING`` — and keeps that lock until it
commits. A drain D deletes the markers, *then* checks their tickets with
``FOR SHARE SKIP LOCKED``, then reads them:

- A marks after D deleted the marker: A's insert waits for D's deletion to commit, then
  writes a new marker; the next drain reads A's change.
- A committed before D's check: D reads A's change.
- A marked before D took the marker (finding it there, its insert did nothing and left no
  marker of its own) and has not committed at D's check: A holds the ticket's row, so D
  finds the ticket busy and marks it again in its own transaction. D still folds in what
  is committed; the next drain reads A's change.

So once both have committed, the ticket's fact includes A's change or the ticket is marked.
D never waits for an action (the check skips locked rows), so the two cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, Row, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import insert_for, is_postgres, unit_of_work
from app.reports import repository
from app.reports.facts import Fact, delta, fact_of
from app.reports.models import ReportBacklog
from app.sla.street_calendars import calendar_for
from app.sla.working_time import WorkingCalendar
from app.tickets.models import Ticket

BACKLOG = ReportBacklog.__table__
CHUNK = 500  # tickets whose inputs are loaded by one set of statements
WORKER_CAP = 20_000  # tickets one worker pass drains at most, so the other steps still run



def marking(dialect: str):
    """``INSERT`` a ticket's marker; a ticket already marked keeps its first one. The one
    statement that marks (claim-next's PostgreSQL statement inserts from its claim)."""
    return insert_for(dialect)(BACKLOG).on_conflict_do_nothing(
        index_elements=[BACKLOG.c.ticket_id])


_MARK = {name: marking(name) for name in ("postgresql", "sqlite")}


def _take(dialect: str, *, limited: bool, skip_locked: bool):
    """``DELETE`` the first markers (all, or ``:batch`` of them) ``RETURNING`` them. On
    PostgreSQL they are chosen ``FOR UPDATE`` in ticket order (two drains lock them in the
    same order) in a CTE joined to the delete, which then finds each by its key instead of
    scanning the whole backlog; on SQLite, which has neither, by a plain subquery."""
    chosen = select(BACKLOG.c.ticket_id).order_by(BACKLOG.c.ticket_id)
    if limited:
        chosen = chosen.limit(bindparam("batch", type_=Integer()))
    if dialect == "postgresql":
        taken = chosen.with_for_update(skip_locked=skip_locked).cte("taken")
        where = BACKLOG.c.ticket_id == taken.c.ticket_id
    else:
        where = BACKLOG.c.ticket_id.in_(chosen)
    return delete(BACKLOG).where(where).returning(BACKLOG.c.ticket_id, BACKLOG.c.marked_at)


_TAKE = {(dialect, limited, skip): _take(dialect, limited=limited, skip_locked=skip)
         for dialect in ("postgresql", "sqlite") for limited in (True, False)
         for skip in (True, False)}


async def mark(session: AsyncSession, ticket_id: int, at: datetime) -> None:
    """Mark a ticket whose fact may have changed (once: a marked ticket stays as it is)."""
    await session.execute(_MARK[session.get_bind().dialect.name],
                          {"ticket_id": ticket_id, "marked_at": at})


async def mark_many(session: AsyncSession, marks: Sequence[tuple[int, datetime]]) -> None:
    """``mark`` for many tickets, in one statement (executemany)."""
    if marks:
        await session.execute(_MARK[session.get_bind().dialect.name],
                              [{"ticket_id": tid, "marked_at": at} for tid, at in marks])


async def drain(session: AsyncSession, *, settings: Settings, batch: int | None = 500,
                wait: bool = True) -> int:
    """Take up to ``batch`` markers (all when None), delete them and bring their tickets'
    facts into the rollups, in the session's transaction; how many markers were taken.

    ``wait=False`` (the worker) skips markers another drain holds; ``wait=True`` (a report
    read) waits for that drain to commit, so that the report counts its tickets too."""
    take = _TAKE[session.get_bind().dialect.name, batch is not None, not wait]
    taken = (await session.execute(take, {} if batch is None else {"batch": batch})).all()
    changes: dict[tuple[str, tuple], list[int]] = {}
    calendars: dict[int, WorkingCalendar] = {}
    ordered = sorted(taken)
    for start in range(0, len(ordered), CHUNK):
        await _refresh(session, ordered[start:start + CHUNK], settings=settings,
                       changes=changes, calendars=calendars)
    # One pass over the rollup rows however many chunks, in the key order every writer of
    # them keeps (``repository.add_to_rollups``): drains and postings cannot deadlock.
    net = {row: tuple(values) for row, values in changes.items() if any(values)}
    if net:
        await repository.add_to_rollups(session, net)
    return len(taken)


async def drain_all(session: AsyncSession, *, settings: Settings) -> int:
    """Everything marked, in one statement (what a report read does first). One statement
    and not a loop of batches: a reader holding one batch's rollup rows while it waits for
    a worker's markers could deadlock with that worker; and a loop would take again the
    markers this transaction has just put back for busy tickets."""
    return await drain(session, settings=settings, batch=None, wait=True)


async def drain_round(sessions: async_sessionmaker[AsyncSession], *, settings: Settings,
                      batch: int = 500, cap: int = WORKER_CAP) -> int:
    """The worker's pass: ``SKIP LOCKED`` batches, each its own short transaction, until a
    batch comes back short or ``cap`` markers were taken; how many were."""
    total = 0
    while total < cap:
        size = min(batch, cap - total)
        async with unit_of_work(sessions) as session:
            taken = await drain(session, settings=settings, batch=size, wait=False)
        total += taken
        if taken < size:
            break
    return total


async def _refresh(session: AsyncSession, taken: Sequence[Row], *, settings: Settings,
                   changes: dict[tuple[str, tuple], list[int]],
                   calendars: dict[int, WorkingCalendar]) -> None:
    """Recompute the facts of a chunk of taken tickets, store those that changed and add
    their differences to ``changes``; mark again the busy ones. A marker whose ticket is
    gone is simply dropped."""
    ids = [ticket_id for ticket_id, _ in taken]
    free = await _free(session, ids)  # before reading them: see the module docstring
    inputs = await repository.load_inputs(session, ids)
    stored = await repository.stored_facts(session, ids)
    new_facts: list[tuple[int, Fact]] = []
    for i in inputs:
        street = i.ticket.street_id
        if street not in calendars:
            calendars[street] = await calendar_for(session, street, settings=settings)
        cal = calendars[street]
        new = fact_of(i.ticket, i.events, limits=i.limits, cal=cal, summons=i.summons)
        old = stored.get(i.ticket.id)
        if old is None:
            old = await repository.posted_fact(session, i, cal=cal)
        if old == new:
            continue
        new_facts.append((i.ticket.id, new))
        for row, values in delta(old, new).items():
            current = changes.setdefault(row, [0] * len(values))
            for n, v in enumerate(values):
                current[n] += v
    await repository.store_facts(session, new_facts)
    busy = set() if free is None else {i.ticket.id for i in inputs} - free
    if busy:
        await session.execute(_MARK[session.get_bind().dialect.name],
                              [{"ticket_id": tid, "marked_at": at}
                               for tid, at in taken if tid in busy])


async def _free(session: AsyncSession, ticket_ids: list[int]) -> set[int] | None:
    """Those of the tickets no other transaction is changing, share-locked until this one
    ends; None on SQLite (a writer is alone). ``FOR SHARE`` conflicts with an action's
    UPDATE or ``FOR UPDATE``, not with other drains nor with foreign keys' key-share locks."""
    if not is_postgres(session):
        return None
    return set((await session.execute(
        select(Ticket.id).where(Ticket.id.in_(ticket_ids)).order_by(Ticket.id)
        .with_for_update(read=True, skip_locked=True))).scalars())
