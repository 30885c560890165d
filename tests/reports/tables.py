"""Reading the report tables in tests: the rollup rows of a range, the report backlog, and
the rows a rebuild would write for some tickets."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.db import unit_of_work
from app.reports import repository
from app.reports.backlog import drain_all
from app.reports.models import (
    ReportBacklog,
    ReportDaily,
    ReportDuration,
    ReportMonthly,
    ReportMonthlyDuration,
    ReportSummons,
)
from app.reports.queries import day_bounds
from app.reports.rebuild import Accumulator
from app.tickets.models import Ticket

ROLLUPS = (ReportDaily, ReportDuration, ReportSummons, ReportMonthly, ReportMonthlyDuration)


async def snapshot(sessions, first: date, last: date) -> dict[str, list[tuple]]:
    """Every rollup row (both tiers) of the days ``first``..``last``, as stored."""
    out = {}
    async with sessions() as s:
        for model in ROLLUPS:
            table = model.__table__
            when = (table.c.day.between(first, last) if "day" in table.c
                    else table.c.month.between(first.replace(day=1), last))
            rows = await s.execute(select(table).where(when))
            out[model.__tablename__] = sorted(tuple(r) for r in rows)
    return out


async def drained(sessions, settings) -> int:
    """Bring the whole backlog into the rollups, as a report read does."""
    async with unit_of_work(sessions) as s:
        return await drain_all(s, settings=settings)


async def marked(sessions) -> set[int]:
    async with sessions() as s:
        return set((await s.execute(select(ReportBacklog.ticket_id))).scalars())


async def recomputed(sessions, settings, ticket_ids: list[int]) -> dict[str, list[tuple]]:
    """The rollup rows a rebuild would write for these tickets alone, like ``snapshot``."""
    async with sessions() as s:
        inputs = await repository.load_inputs(s, sorted(ticket_ids))
        facts = await repository.compute_facts(s, inputs, settings=settings)
    accumulator = Accumulator()
    accumulator.add(f for _, f in facts)
    out = {}
    for name, rows in accumulator.take().items():
        table = repository.TABLES[name]
        out[table.name] = sorted(tuple(row[c.name] for c in table.columns) for row in rows)
    return out


async def tickets_posted(sessions, first: date, last: date) -> list[int]:
    """The tickets whose reporting day is in ``first``..``last``."""
    start, end = day_bounds(first, last)
    async with sessions() as s:
        return list((await s.execute(select(Ticket.id).where(
            Ticket.created_at >= start, Ticket.created_at < end))).scalars())
