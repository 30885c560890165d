"""The reads behind the reports: sums over the rollup tables for a range of reporting days,
grouped by the requested dimensions, and the one live count (tickets overdue now)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import SHANGHAI
from app.reports.facts import reporting_day
from app.reports.models import COUNTERS, SUMMONS_COUNTERS
from app.reports.repository import TABLES
from app.sla.service import RUNNING
from app.tickets.models import Ticket

# Report dimension → the key column it groups or filters on.
DIMENSIONS: dict[str, str] = {
    "street": "street_id", "community": "community_id", "grid": "grid_id",
    "department": "department_id", "category": "category_code", "item": "item_code",
    "source": "source",
}

Group = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Selection:
    """Which rows: reporting days ``start``..``end`` (inclusive), equality filters on key
    columns (scope and request filters), the dimensions to group by, and the time series
    (rows are then kept apart by day; a monthly row counts on its month's first day)."""

    start: date
    end: date
    dims: tuple[str, ...] = ()
    filters: Mapping[str, Any] = field(default_factory=dict)
    series: str | None = None

    @property
    def by_day(self) -> bool:
        return self.series is not None

    def allows(self, dimensions: frozenset[str]) -> bool:
        """Whether a tier keyed by ``dimensions`` can answer (monthly tiers: no day or week
        series, and every grouping and filter among their keys)."""
        wanted = set(self.dims) | {COLUMN_DIMENSION[c] for c in self.filters}
        return self.series in (None, "month") and wanted <= dimensions


COLUMN_DIMENSION = {column: dim for dim, column in DIMENSIONS.items()}
MONTHLY = frozenset({"street", "community", "department", "category", "source"})
MONTHLY_DURATIONS = frozenset({"street", "community", "department"})


@dataclass(frozen=True, slots=True)
class Part:
    """One read: a table, its date column and an inclusive range of it."""

    table: str
    date_column: str
    start: date
    end: date


def _month_after(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def parts(s: Selection, daily: str, monthly: str | None) -> list[Part]:
    """The whole months of the range from the monthly tier (when it can answer), the days
    before and after them from the daily tier."""
    first = s.start if s.start.day == 1 else _month_after(s.start)
    after = _month_after(s.end) if _month_after(s.end) - timedelta(days=1) == s.end \
        else s.end.replace(day=1)
    if monthly is None or first >= after:
        return [Part(daily, "day", s.start, s.end)]
    out = [Part(monthly, "month", first, after - timedelta(days=1))]
    if s.start < first:
        out.append(Part(daily, "day", s.start, first - timedelta(days=1)))
    if after <= s.end:
        out.append(Part(daily, "day", after, s.end))
    return out


async def _sums(session: AsyncSession, part: Part, s: Selection, extra: tuple[str, ...],
                values: tuple[str, ...]) -> list[tuple]:
    table = TABLES[part.table]
    when = table.c[part.date_column]
    groups = [table.c[DIMENSIONS[d]] for d in s.dims] + ([when] if s.by_day else [])
    groups += [table.c[c] for c in extra]
    query = select(*groups, *(func.sum(table.c[v]) for v in values)).where(
        when >= part.start, when <= part.end,
        *(table.c[column] == value for column, value in s.filters.items()))
    if groups:
        query = query.group_by(*groups)
    return [tuple(row) for row in await session.execute(query)]


def _split(row: tuple, s: Selection, extra: int) -> tuple[Group, date | None, tuple, tuple]:
    n = len(s.dims)
    day = row[n] if s.by_day else None
    rest = row[n + int(s.by_day):]
    return row[:n], day, rest[:extra], rest[extra:]


async def counter_sums(session: AsyncSession, s: Selection
                       ) -> dict[tuple[Group, date | None], Counter]:
    """(group, day) → summed ticket counters and summons counters."""
    out: dict[tuple[Group, date | None], Counter] = {}
    reads = [(part, COUNTERS) for part in
             parts(s, "daily", "monthly" if s.allows(MONTHLY) else None)]
    reads += [(Part("summons", "day", s.start, s.end), SUMMONS_COUNTERS)]
    for part, names in reads:
        for row in await _sums(session, part, s, (), names):
            group, day, _, sums = _split(row, s, 0)
            target = out.setdefault((group, day), Counter())
            target.update({n: int(v or 0) for n, v in zip(names, sums, strict=True)})
    return out


async def histograms(session: AsyncSession, s: Selection
                     ) -> dict[tuple[Group, date | None], dict[str, Counter]]:
    """(group, day) → measure → bucket → tickets."""
    out: dict[tuple[Group, date | None], dict[str, Counter]] = {}
    monthly = "monthly_durations" if s.allows(MONTHLY_DURATIONS) else None
    for part in parts(s, "durations", monthly):
        for row in await _sums(session, part, s, ("measure", "bucket"), ("tickets",)):
            group, day, (measure, bucket), (tickets,) = _split(row, s, 2)
            by_measure = out.setdefault((group, day), {})
            by_measure.setdefault(measure, Counter())[bucket] += int(tickets)
    return out


async def plan_each_report(session: AsyncSession) -> None:
    """On PostgreSQL, plan this transaction's statements for their actual parameters:
    asyncpg prepares statements, and after five runs PostgreSQL may switch to a generic
    plan that cannot tell a month's range from a year's (the live overdue count once went
    from 6 ms to 150 ms that way)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The instants of ``start`` 00:00 and the day after ``end`` 00:00 in Asia/Shanghai."""
    return (datetime.combine(start, time(), SHANGHAI),
            datetime.combine(end + timedelta(days=1), time(), SHANGHAI))


def _ticket_column(column: str) -> ColumnElement:
    if column == "department_id":
        return func.coalesce(Ticket.department_id, 0)
    return getattr(Ticket, column)


async def overdue_now(session: AsyncSession, s: Selection, *, now: datetime
                      ) -> dict[tuple[Group, date | None], int]:
    """Tickets of the selection whose clock is running and whose response or resolution
    deadline has passed at ``now`` (超时在办): read live from the tickets, never stored,
    because it changes with time alone."""
    lower, upper = day_bounds(s.start, s.end)
    groups = [_ticket_column(DIMENSIONS[d]) for d in s.dims]
    query = (select(*groups, Ticket.created_at)
             .where(Ticket.created_at >= lower, Ticket.created_at < upper,
                    Ticket.status.in_(sorted(RUNNING)),
                    or_(Ticket.response_due_at <= now, Ticket.resolve_due_at <= now),
                    *(_ticket_column(c) == v for c, v in s.filters.items())))
    out: Counter = Counter()
    for row in await session.execute(query):
        day = reporting_day(row[-1]) if s.by_day else None
        out[(tuple(row[:-1]), day)] += 1
    return dict(out)
