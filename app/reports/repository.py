"""The SQL that keeps the report facts and rollups: loading what a fact depends on,
storing facts, adding contributions to the rollup rows. Reads for the reports themselves
are in ``app.reports.queries``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import ColumnElement, Date, Table, and_, bindparam, case, delete, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import insert_for
from app.jurisdiction.repository import department_id as department_id_of
from app.matrix.models import MatrixItem
from app.reports.facts import Fact, TicketSnapshot, TimelineEvent, fact_of
from app.reports.models import (
    COUNTERS,
    KEY,
    MONTHLY_DURATION_KEY,
    MONTHLY_KEY,
    SUMMONS_COUNTERS,
    ReportDaily,
    ReportDuration,
    ReportMonthly,
    ReportMonthlyDuration,
    ReportSummons,
    ReportTicketFact,
)
from app.sla.models import Whistle, WhistleSummons
from app.sla.service import Limits, SlaItem, limits_for
from app.sla.street_calendars import calendar_for
from app.sla.working_time import WorkingCalendar
from app.tickets.models import Ticket, TicketEvent

TABLES: dict[str, Table] = {
    "daily": ReportDaily.__table__,
    "durations": ReportDuration.__table__,
    "summons": ReportSummons.__table__,
    "monthly": ReportMonthly.__table__,
    "monthly_durations": ReportMonthlyDuration.__table__,
}
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "daily": KEY, "durations": (*KEY, "measure", "bucket"), "summons": KEY,
    "monthly": MONTHLY_KEY, "monthly_durations": (*MONTHLY_DURATION_KEY, "measure", "bucket")}
ROW_VALUES: dict[str, tuple[str, ...]] = {
    "daily": COUNTERS, "durations": ("tickets",), "summons": SUMMONS_COUNTERS,
    "monthly": COUNTERS, "monthly_durations": ("tickets",)}
# The column that is zero exactly when no ticket contributes to the row any more.
ROW_COUNT: dict[str, str] = {"daily": "reported", "durations": "tickets", "summons": "summoned",
                             "monthly": "reported", "monthly_durations": "tickets"}
FACTS_TABLE = ReportTicketFact.__table__


@dataclass(frozen=True, slots=True)
class Inputs:
    """Everything ``fact_of`` needs for one ticket."""

    ticket: TicketSnapshot
    limits: Limits
    events: tuple[TimelineEvent, ...]
    summons: tuple[tuple[int, bool, bool], ...]


def limits_of(row: Mapping, urgency: str) -> Limits:
    """``sla.service.limits_for`` on a row of ``_LIMIT_COLUMNS``; the ladder plays no part
    in report facts, so no graces."""
    return limits_for(cast(SlaItem, SimpleNamespace(**row)), urgency, graces=False)


_SNAPSHOT_COLUMNS = (Ticket.id, Ticket.created_at, Ticket.street_id, Ticket.community_id,
                     Ticket.grid_id, Ticket.department_id, Ticket.category_code,
                     Ticket.item_code, Ticket.source, Ticket.status, Ticket.level,
                     Ticket.rating, Ticket.resolved_at)
_LIMIT_COLUMNS = (Ticket.urgency, MatrixItem.time_basis, MatrixItem.response_minutes,
                  MatrixItem.resolve_minutes, MatrixItem.urgent_response_minutes,
                  MatrixItem.urgent_resolve_minutes)


async def load_inputs(session: AsyncSession, ticket_ids: Sequence[int]) -> list[Inputs]:
    """The inputs of the given tickets' facts, in the order of ``ticket_ids``."""
    rows = (await session.execute(
        select(*_SNAPSHOT_COLUMNS, *_LIMIT_COLUMNS)
        .join(MatrixItem, MatrixItem.id == Ticket.item_id)
        .where(Ticket.id.in_(ticket_ids)))).mappings().all()
    events: dict[int, list[TimelineEvent]] = defaultdict(list)
    for tid, kind, to_status, at, data in await session.execute(
            select(TicketEvent.ticket_id, TicketEvent.kind, TicketEvent.to_status,
                   TicketEvent.created_at, TicketEvent.data)
            .where(TicketEvent.ticket_id.in_(ticket_ids))
            .order_by(TicketEvent.ticket_id, TicketEvent.id)):
        events[tid].append(TimelineEvent(kind, to_status, at, data or {}))
    whistled = [tid for tid, evs in events.items() if any(e.kind == "whistle_blown" for e in evs)]
    summons: dict[int, list[tuple[int, bool, bool]]] = defaultdict(list)
    if whistled:
        # Through the whistles: summons are indexed by whistle, whistles by ticket.
        for tid, dept, reported_at, on_time in await session.execute(
                select(Whistle.ticket_id, WhistleSummons.department_id,
                       WhistleSummons.reported_in_at, WhistleSummons.on_time)
                .join(WhistleSummons, WhistleSummons.whistle_id == Whistle.id)
                .where(Whistle.ticket_id.in_(whistled))):
            summons[tid].append((dept, reported_at is not None, bool(on_time)))
    by_id = {}
    for row in rows:
        snapshot = TicketSnapshot(**{c.key: row[c.key] for c in _SNAPSHOT_COLUMNS})
        by_id[row["id"]] = Inputs(snapshot, limits_of(row, row["urgency"]),
                                  tuple(events[row["id"]]), tuple(summons[row["id"]]))
    return [by_id[tid] for tid in ticket_ids if tid in by_id]


async def compute_facts(session: AsyncSession, inputs: Iterable[Inputs], *,
                        settings: Settings) -> list[tuple[int, Fact]]:
    calendars: dict[int, WorkingCalendar] = {}
    out = []
    for i in inputs:
        street = i.ticket.street_id
        if street not in calendars:
            calendars[street] = await calendar_for(session, street, settings=settings)
        out.append((i.ticket.id, fact_of(i.ticket, i.events, limits=i.limits,
                                         cal=calendars[street], summons=i.summons)))
    return out


# --- stored facts ----------------------------------------------------------------------------


def fact_row(ticket_id: int, fact: Fact) -> dict:
    return {"ticket_id": ticket_id, **dict(zip(KEY, fact.key, strict=True)),
            "counters": "".join(str(c) for c in fact.counters),
            "claim_bucket": fact.claim_bucket, "resolve_bucket": fact.resolve_bucket,
            "summons": [list(s) for s in fact.summons]}


def fact_from_row(row: Mapping) -> Fact:
    return Fact(key=tuple(row[k] for k in KEY),
                counters=tuple(int(c) for c in row["counters"]),
                claim_bucket=row["claim_bucket"], resolve_bucket=row["resolve_bucket"],
                summons=tuple(tuple(s) for s in row["summons"] or ()))


async def stored_facts(session: AsyncSession, ticket_ids: Sequence[int]) -> dict[int, Fact]:
    """The stored facts of those of ``ticket_ids`` that have one."""
    rows = await session.execute(select(FACTS_TABLE).where(FACTS_TABLE.c.ticket_id.in_(ticket_ids)))
    return {row["ticket_id"]: fact_from_row(row) for row in rows.mappings()}


async def store_facts(session: AsyncSession, facts: Sequence[tuple[int, Fact]]) -> None:
    if not facts:
        return
    stmt = insert_for(session)(FACTS_TABLE)
    columns = [c.name for c in FACTS_TABLE.columns if c.name != "ticket_id"]
    stmt = stmt.on_conflict_do_update(index_elements=[FACTS_TABLE.c.ticket_id],
                                      set_={c: stmt.excluded[c] for c in columns})
    await session.execute(stmt, [fact_row(tid, f) for tid, f in facts])


async def posted_fact(session: AsyncSession, inputs: Inputs, *,
                      cal: WorkingCalendar) -> Fact | None:
    """The contribution a ticket was given when it was posted (``add_posted_statement``),
    rebuilt from its ``created`` event: the department, item and state it was posted with.
    None for a ticket written without one (it was never added)."""
    created = next((e for e in inputs.events if e.kind == "created"), None)
    if created is None:
        return None
    ticket, data = inputs.ticket, created.data
    department_id = None
    if data.get("department"):
        department_id = await department_id_of(session, data["department"])
    category = ticket.category_code
    if data.get("item") != ticket.item_code:
        category = (await session.execute(select(MatrixItem.category_code).where(
            MatrixItem.version_id == data.get("matrix_version"),
            MatrixItem.code == data.get("item")))).scalar_one()
    # A created event names its item (the category lookup above needs it) and its status.
    as_posted = replace(ticket, department_id=department_id, item_code=data["item"],
                        category_code=category,
                        status=created.to_status,  # type: ignore[arg-type]  # never None here
                        level=data.get("level", ticket.level), rating=None, resolved_at=None)
    return fact_of(as_posted, [created], limits=inputs.limits, cal=cal)


# --- rollup rows -----------------------------------------------------------------------------

# (dialect, table) → its upsert statement; (dialect, "posted") → posting's statements
_upserts: dict[tuple[str, str], Any] = {}


def _upsert(session: AsyncSession, table_name: str):
    dialect = session.get_bind().dialect.name
    cached = _upserts.get((dialect, table_name))
    if cached is None:
        table = TABLES[table_name]
        stmt = insert_for(session)(table)
        cached = stmt.on_conflict_do_update(
            index_elements=[table.c[k] for k in ROW_KEYS[table_name]],
            set_={v: table.c[v] + stmt.excluded[v] for v in ROW_VALUES[table_name]})
        _upserts[(dialect, table_name)] = cached
    return cached


async def add_to_rollups(session: AsyncSession,
                         changes: Mapping[tuple[str, tuple], Sequence[int]]) -> None:
    """Add each change to its rollup row (creating it), then drop the rows no ticket
    contributes to any more, so that the tables hold exactly what a rebuild would write."""
    by_table: dict[str, list[dict]] = defaultdict(list)
    emptied: dict[str, list[dict]] = defaultdict(list)
    # In key order, tables in a fixed order: two transactions moving tickets between the
    # same rows lock them in the same order and cannot deadlock.
    for (table_name, row_key), values in sorted(changes.items()):
        keys = dict(zip(ROW_KEYS[table_name], row_key, strict=True))
        by_table[table_name].append(
            {**keys, **dict(zip(ROW_VALUES[table_name], values, strict=True))})
        if any(v < 0 for v in values):
            emptied[table_name].append({f"k_{k}": v for k, v in keys.items()})
    for table_name in TABLES:
        if by_table[table_name]:
            await session.execute(_upsert(session, table_name), by_table[table_name])
        if emptied[table_name]:
            table = TABLES[table_name]
            await session.execute(
                delete(table).where(
                    and_(*(table.c[k] == bindparam(f"k_{k}") for k in ROW_KEYS[table_name])),
                    table.c[ROW_COUNT[table_name]] == 0)
                .execution_options(synchronize_session=False),
                emptied[table_name])


def _posted_insert(dialect: str, table_name: str, after=None, new_ticket=None):
    """``INSERT ... SELECT`` of a just-posted ticket's contribution to its row of one tier:
    reported, open and, for a queued ticket, dispatched + 1. From the ticket ``tid``, or
    from ``new_ticket``, the CTE that inserts it (posting's one statement)."""
    table = TABLES[table_name]
    t = Ticket.__table__ if new_ticket is None else new_ticket
    from_ticket = {"street_id": t.c.street_id, "community_id": t.c.community_id,
                   "grid_id": t.c.grid_id,
                   "department_id": func.coalesce(t.c.department_id, 0),
                   "category_code": t.c.category_code, "item_code": t.c.item_code,
                   "source": t.c.source, "day": bindparam("day", type_=Date()),
                   "month": bindparam("month", type_=Date())}
    values: dict[str, ColumnElement[Any]] = dict.fromkeys(COUNTERS, literal(0))
    values.update(reported=literal(1), open=literal(1),
                  dispatched=case((t.c.status == "dispatched", 1), else_=0))
    columns = [*ROW_KEYS[table_name], *COUNTERS]
    source = select(*(from_ticket[c] if c in from_ticket else values[c] for c in columns))
    if new_ticket is None:
        source = source.where(t.c.id == bindparam("tid"))
    if after is not None:
        source = source.where(select(after.c.done).exists())
    stmt = insert_for(dialect)(table).from_select(columns, source)
    return stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in ROW_KEYS[table_name]],
        set_={c: table.c[c] + stmt.excluded[c] for c in ("reported", "open", "dispatched")})


def add_posted_statements(session: AsyncSession) -> list:
    """The writes of the posting path (parameters ``tid``, ``day``, ``month``): one on
    PostgreSQL (``posted_rollup_ctes``), two on SQLite, which has no writable CTEs."""
    dialect = session.get_bind().dialect.name
    cached = _upserts.get((dialect, "posted"))
    if cached is not None:
        return cached
    if dialect == "postgresql":
        statements = posted_rollup_ctes()
    else:
        statements = [_posted_insert(dialect, "daily"), _posted_insert(dialect, "monthly")]
    _upserts[(dialect, "posted")] = statements
    return statements


def posted_rollup_ctes(new_ticket=None) -> list:
    """PostgreSQL's posting writes: the monthly row's upsert, with the daily row's riding in
    a CTE of it. The monthly insert reads the daily one's RETURNING, so the daily row is
    locked first — the order in which a drain locks rows too (no deadlock between them).
    ``new_ticket``: the CTE inserting the ticket, for posting's one statement (which then
    gets the upsert as a CTE to add)."""
    daily = _posted_insert("postgresql", "daily", new_ticket=new_ticket)
    done = daily.returning(literal(1).label("done")).cte("posted_daily")
    monthly = _posted_insert("postgresql", "monthly", after=done, new_ticket=new_ticket)
    return [monthly if new_ticket is None else monthly.cte("posted_monthly")]
