"""``whistle reports-rebuild``: recompute every fact and rollup row from the tickets, their
timelines and their whistle summons.

The rollups it writes are, by construction, what the drain keeps: both sum
``Fact.contributions()``. Tickets are read in posting order, so a day's rollup rows are
complete — and written — as soon as the scan has passed that day.

It empties the report backlog too: every marked ticket's fact is recomputed anyway. On
PostgreSQL the backlog and the report tables are locked (``EXCLUSIVE``) for the whole
rebuild, the backlog first: the lock waits for every transaction that has marked a ticket
(or posted one) to commit, so the markers it deletes stand for committed changes, which the
scan reads; a writer that marks or posts afterwards waits at its report hook and writes its
marker or posting counts after the rebuild commits, so the next drain (or report read)
applies its change on top of the rebuilt rows — nothing is lost and nothing counted twice.
Deleting only the markers present at the start without the lock would not do: an action
that found its ticket already marked writes no marker of its own, and might commit after
the scan read its ticket. Drains wait for the rebuild too (they take markers first), and
so do report reads. Run it in a quiet hour on a large database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, delete, func, insert, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import is_postgres, unit_of_work
from app.reports import repository
from app.reports.backlog import BACKLOG
from app.reports.facts import Fact
from app.reports.repository import ROW_KEYS, ROW_VALUES, TABLES
from app.tickets.models import Ticket


class Accumulator:
    """Rollup rows summed from facts, flushed day by day."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, tuple], list[int]] = {}

    def add(self, facts: Iterable[Fact]) -> None:
        for fact in facts:
            for row, values in fact.contributions().items():
                current = self.rows.get(row)
                if current is None:
                    self.rows[row] = list(values)
                else:
                    for i, v in enumerate(values):
                        current[i] += v

    def take(self, before: date | None = None) -> dict[str, list[dict]]:
        """Remove and return the rows complete before ``before`` — daily rows of earlier
        days, monthly rows of earlier months — (all when None), as column dicts per table."""
        out: dict[str, list[dict]] = {name: [] for name in TABLES}
        month = before.replace(day=1) if before else None

        def complete(row: tuple[str, tuple]) -> bool:
            if before is None:
                return True
            return row[1][1] < (month if row[0].startswith("monthly") else before)

        for row in [r for r in self.rows if complete(r)]:
            table_name, key = row
            out[table_name].append({**dict(zip(ROW_KEYS[table_name], key, strict=True)),
                                    **dict(zip(ROW_VALUES[table_name], self.rows.pop(row),
                                               strict=True))})
        return out


@dataclass(slots=True)
class RebuildReport:
    tickets: int = 0
    daily_rows: int = 0
    duration_rows: int = 0
    summons_rows: int = 0

    monthly_rows: int = 0

    def __str__(self) -> str:
        return (f"rebuilt the reports from {self.tickets} tickets: {self.daily_rows} daily, "
                f"{self.duration_rows} duration, {self.summons_rows} summons and "
                f"{self.monthly_rows} monthly rows")


async def _write(session: AsyncSession, rows: dict[str, list[dict]],
                 report: RebuildReport) -> None:
    for table_name, table_rows in rows.items():
        if table_rows:
            await session.execute(insert(TABLES[table_name]), table_rows)
    report.daily_rows += len(rows["daily"])
    report.duration_rows += len(rows["durations"])
    report.summons_rows += len(rows["summons"])
    report.monthly_rows += len(rows["monthly"]) + len(rows["monthly_durations"])


async def rebuild(*, sessions: async_sessionmaker[AsyncSession], settings: Settings,
                  batch: int = 2000,
                  progress: Callable[[int, int], None] | None = None) -> RebuildReport:
    """Replace every report fact and rollup row; one transaction. ``progress(done, total)``
    is called after each batch."""
    report = RebuildReport()
    async with unit_of_work(sessions) as session:
        if is_postgres(session):
            # The backlog first, as drains take it first: a drain under way finishes
            # before the rebuild starts, instead of the two waiting for each other.
            await session.execute(text("LOCK TABLE report_backlog, report_ticket_facts, "
                                       "report_daily, report_durations, report_summons "
                                       "IN EXCLUSIVE MODE"))
        for table in (BACKLOG, repository.FACTS_TABLE, *TABLES.values()):
            await session.execute(delete(table))
        total = (await session.execute(select(func.count()).select_from(Ticket))).scalar_one()
        accumulator = Accumulator()
        after: tuple | None = None
        while True:
            query = select(Ticket.id, Ticket.created_at).order_by(Ticket.created_at, Ticket.id)
            if after is not None:
                last_id, at = after  # (created_at, id) > the last row's, typed comparisons
                query = query.where(or_(Ticket.created_at > at,
                                        and_(Ticket.created_at == at, Ticket.id > last_id)))
            page = (await session.execute(query.limit(batch))).all()
            if not page:
                break
            after = tuple(page[-1])
            inputs = await repository.load_inputs(session, [tid for tid, _ in page])
            facts = await repository.compute_facts(session, inputs, settings=settings)
            if facts:
                await session.execute(insert(repository.FACTS_TABLE),
                                      [repository.fact_row(tid, f) for tid, f in facts])
                accumulator.add(f for _, f in facts)
                # Rows of days before the last ticket's day can receive nothing more.
                await _write(session, accumulator.take(before=facts[-1][1].key[1]), report)
            report.tickets += len(page)
            if progress:
                progress(report.tickets, total)
        await _write(session, accumulator.take(), report)
    return report
