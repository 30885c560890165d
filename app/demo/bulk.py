"""``whistle seed-bulk --tickets N``: a large realistic dataset for reports and benchmarks.

Tickets are drawn day by day (fewer at weekends), each with a history told by
``app.demo.bulk_story``, and written with everything the rest of the system reads: the
ticket row (with its resolution deadline), its timeline, escalations, extension and
suspension requests, pauses, whistles and summons, and the report facts and rollups —
computed by the same ``fact_of`` as the backlog drain, so a ``reports-rebuild`` afterwards
writes the same rollup rows. On PostgreSQL rows go in with binary ``COPY``
(asyncpg ``copy_records_to_table``), on SQLite with ``executemany`` (small N only). The
whole load is one transaction.

At database speed (PostgreSQL, ``copies`` > 1): Python draws only one ticket in ``copies``
(the *templates*: their stories, deadlines and facts as above), and SQL stamps out the rest
with ``INSERT … SELECT … generate_series``: copy *k* of a template is the same story —
item, department, states, times, timeline, side rows — in another grid of any street that
keeps the same working calendar (the same working minutes for the same instants, so its fact
differs from the template's only in its place; with the generated streets a copy may land
anywhere in the city). The copies of each batch of templates are made right after the
batch's COPY, while Python draws the next, their ids right after the batch's own. The
rollups are summed at the end from the template facts, unpacked once, times their
placements (one ``GROUP BY`` for the daily counters, one for the duration histograms; the
monthly tiers from those), which is what adding each fact to them one by one comes to. The
price is that every template's posting instant recurs ``copies`` times in different grids.

Bulk tickets are not scheduled for the SLA sweep (``next_check_at`` is left empty): they
are history, not work. ``--streets`` adds generated streets (8 communities of 10 grids
each) beside the demo street, so that the tickets spread over a city.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from operator import itemgetter
from time import monotonic
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from app.clock import SHANGHAI
from app.config import get_settings
from app.demo import bulk_world
from app.demo.bulk_story import SOURCES, Story, pick, tell
from app.demo.seed import seed_reference
from app.reports.facts import Fact, TicketSnapshot, TimelineEvent, fact_of
from app.reports.models import COUNTERS, KEY, SUMMONS_COUNTERS
from app.reports.rebuild import Accumulator
from app.reports.repository import FACTS_TABLE, ROW_KEYS, ROW_VALUES, TABLES, fact_row
from app.sla.deadlines import Pause, deadline
from app.sla.models import Escalation, TicketPause, TicketRequest, Whistle, WhistleSummons
from app.tickets.models import Ticket, TicketEvent

SIDE_TABLES: dict[str, Table] = {
    "tickets": Ticket.__table__, "ticket_events": TicketEvent.__table__,
    "escalations": Escalation.__table__, "ticket_requests": TicketRequest.__table__,
    "ticket_pauses": TicketPause.__table__, "whistles": Whistle.__table__,
    "whistle_summons": WhistleSummons.__table__,
}
PLACES = ("海韵路", "星海广场", "滨海东路", "中山路", "人民路", "胜利街", "长春路", "港湾街")


class Sink:
    """Rows to tables: binary COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, conn: AsyncConnection, raw) -> None:
        self.conn, self.raw = conn, raw  # raw: the asyncpg connection, or None

    @classmethod
    async def open(cls, conn: AsyncConnection) -> Sink:
        if conn.dialect.name != "postgresql":
            return cls(conn, None)
        return cls(conn, (await conn.get_raw_connection()).driver_connection)

    async def write(self, table: Table, rows: list[dict]) -> None:
        if not rows:
            return
        if self.raw is None:
            await self.conn.execute(insert(table), rows)
            return
        columns = [c.name for c in table.columns]
        # COPY writes every column, so the model's defaults do not apply by themselves: a
        # column the rows leave out gets its scalar default (a new flag, say), else NULL.
        blank = {c.name: (c.default.arg if isinstance(c.default, ScalarElementColumnDefault)
                          else None) for c in table.columns}
        get = itemgetter(*columns)  # dict → tuple in C: the rows are millions
        records = [get({**blank, **r}) for r in rows]
        for i, column in enumerate(table.columns):
            if column.type.__class__.__name__ == "JSON":
                records = [(*r[:i], json.dumps(r[i], ensure_ascii=False), *r[i + 1:])
                           for r in records]
        await self.raw.copy_records_to_table(table.name, records=records, columns=columns)


@dataclass
class Batch:
    rows: dict[str, list[dict]]
    facts: list[dict]

    @classmethod
    def empty(cls) -> Batch:
        return cls({name: [] for name in SIDE_TABLES}, [])


class Ids:
    """The next id of each table, continuing after what is there."""

    def __init__(self, start: dict[str, int]) -> None:
        self.next = dict(start)

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


def day_counts(total: int, start: date, days: int, rng: random.Random) -> list[tuple[date, int]]:
    """``total`` tickets over ``days`` days from ``start``: weekends get 60 %."""
    weights = [(start + timedelta(d), (0.6 if (start + timedelta(d)).weekday() >= 5 else 1.0)
                * rng.uniform(0.85, 1.15)) for d in range(days)]
    scale = total / sum(w for _, w in weights)
    counts = [(day, int(w * scale)) for day, w in weights]
    short = total - sum(c for _, c in counts)
    for i in range(short):
        day, c = counts[i % days]
        counts[i % days] = (day, c + 1)
    return counts


def posting_times(day: date, count: int, rng: random.Random) -> list[datetime]:
    """Mostly office hours, some evenings and nights (Shanghai time)."""
    out = []
    for _ in range(count):
        hour = rng.choice((8, 9, 9, 10, 10, 11, 14, 15, 15, 16, 17)) if rng.random() < 0.8 \
            else rng.randrange(24)
        out.append(datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)),
                                    SHANGHAI))
    return sorted(out)


def _due(story: Story, item, limits, cal, posted: datetime) -> tuple:
    """The stored deadlines of the ticket as the SLA module would have left them."""
    extension = sum(m or 0 for kind, m, _, _ in story.requests if kind == "extension")
    pauses = [Pause(a, b) for a, b in story.pauses if b is not None]
    resolve_due = deadline(start=posted, limit_minutes=limits.resolve + extension,
                           basis=limits.basis, cal=cal, pauses=pauses)
    response_due = None
    if story.status == "dispatched":
        queued = max(s.at for s in story.steps if s.to_status == "dispatched")
        response_due = deadline(start=queued, limit_minutes=limits.response,
                                basis=limits.basis, cal=cal)
    return response_due, resolve_due


def build(world: bulk_world.World, ids: Ids, batch: Batch, rng: random.Random,
          posted: datetime, end: datetime) -> Fact:
    """Draw one ticket and add its rows to ``batch``; return its report fact."""
    grid = rng.choice(world.grids)
    source = pick(rng, SOURCES)
    item = world.pick_item(rng, source)
    self_handle = source == "grid_worker" and item.self_handle_allowed and rng.random() < 0.6
    story = tell(rng, item=item, posted=posted, end=end, self_handle=self_handle,
                 co_departments=[c for c in item.co_departments or [] if c in world.departments])
    story.steps.sort(key=lambda s: s.at)
    urgency = "urgent" if rng.random() < 0.1 else "normal"
    limits = world.limits(item, urgency)
    cal = world.calendars[grid.street_id]
    tid = ids.take("tickets")
    department_id = world.departments.get(story.department) if story.department else None
    response_due, resolve_due = _due(story, item, limits, cal, posted)
    running = story.status not in ("resolved", "suspended", "closed", "cancelled")
    late = running and any(d is not None and d <= end for d in (response_due, resolve_due))
    batch.rows["tickets"].append({
        "id": tid, "matrix_version_id": world.version_id, "item_id": item.id,
        "item_code": item.code, "category_code": item.category_code,
        "street_id": grid.street_id, "community_id": grid.community_id, "grid_id": grid.id,
        "level": story.level, "department_id": department_id, "status": story.status,
        "urgency": urgency, "source": source, "self_handle": self_handle,
        "description": f"{rng.choice(PLACES)}附近{item.name}", "routing_reason": "bulk",
        "claimed_at": story.claimed_at, "resolved_at": story.resolved_at,
        "closed_at": story.closed_at, "rework_count": story.rework_count,
        "return_count": story.return_count, "rating": story.rating,
        "response_due_at": response_due, "resolve_due_at": resolve_due,
        "sla_state": "overdue" if late else "on_track", "version": len(story.steps),
        "created_at": posted, "updated_at": story.steps[-1].at})
    summons = _side_rows(world, ids, batch, tid, grid.street_id, story)
    events = []
    for step in story.steps:
        data = step.data
        if step.kind == "reported_in":
            data = {**data, "department_id": world.departments[data["department"]]}
        batch.rows["ticket_events"].append({
            "id": ids.take("ticket_events"), "ticket_id": tid, "kind": step.kind,
            "from_status": step.from_status if step.kind != "created" else None,
            "to_status": step.to_status, "actor_role": "bulk", "data": data,
            "created_at": step.at})
        events.append(TimelineEvent(step.kind, step.to_status, step.at, data))
    snapshot = TicketSnapshot(
        id=tid, created_at=posted, street_id=grid.street_id, community_id=grid.community_id,
        grid_id=grid.id, department_id=department_id, category_code=item.category_code,
        item_code=item.code, source=source, status=story.status, level=story.level,
        rating=story.rating, resolved_at=story.resolved_at)
    fact = fact_of(snapshot, events, limits=limits, cal=cal, summons=summons)
    batch.facts.append(fact_row(tid, fact))
    return fact


def _side_rows(world, ids: Ids, batch: Batch, tid: int, street_id: int,
               story: Story) -> list[tuple[int, bool, bool]]:
    rows = batch.rows
    for from_level, to_level, at in story.escalations:
        rows["escalations"].append({"id": ids.take("escalations"), "ticket_id": tid,
                                    "from_level": from_level, "to_level": to_level,
                                    "auto": True, "reason": "bulk", "created_at": at})
    for kind, minutes, asked, decided in story.requests:
        rows["ticket_requests"].append({
            "id": ids.take("ticket_requests"), "ticket_id": tid, "kind": kind,
            "status": "approved", "minutes": minutes, "reason": "bulk", "requested_at": asked,
            "decided_at": decided})
    for started, ended in story.pauses:
        rows["ticket_pauses"].append({"id": ids.take("ticket_pauses"), "ticket_id": tid,
                                      "started_at": started, "ended_at": ended})
    summons = []
    for blown, due, report_ins in story.whistles:
        whistle_id = ids.take("whistles")
        rows["whistles"].append({"id": whistle_id, "ticket_id": tid, "street_id": street_id,
                                 "auto": False, "reason": "bulk", "blown_at": blown,
                                 "report_in_due_at": due, "closed_at": story.closed_at})
        for code, came in report_ins:
            department_id = world.departments[code]
            on_time = None if came is None else came <= due
            rows["whistle_summons"].append({
                "id": ids.take("whistle_summons"), "whistle_id": whistle_id, "ticket_id": tid,
                "department_id": department_id, "due_at": due, "reported_in_at": came,
                "on_time": on_time})
            summons.append((department_id, came is not None, bool(on_time)))
    return summons


async def _flush(sink: Sink, batch: Batch, rollups: dict[str, list[dict]]) -> None:
    for name, table in SIDE_TABLES.items():
        await sink.write(table, batch.rows[name])
    await sink.write(FACTS_TABLE, batch.facts)
    for name, table in TABLES.items():
        await sink.write(table, rollups[name])


async def seed_bulk(*, engine: AsyncEngine, tickets: int, streets: int = 1, days: int = 365,
                    end: datetime | None = None, seed: int = 20261123, batch_size: int = 20_000,
                    progress: Callable[[int], None] | None = None, copies: int = 1,
                    phases: dict[str, float] | None = None) -> str:
    """Load ``tickets`` tickets posted over the ``days`` days before ``end``; with
    ``copies`` > 1 (PostgreSQL only) Python draws one in ``copies`` and SQL the rest.
    ``phases``, when given, receives the seconds each phase took."""
    phases = {} if phases is None else phases
    started = monotonic()

    def lap(name: str) -> None:
        nonlocal started
        phases[name] = monotonic() - started
        started = monotonic()

    wanted = tickets
    if engine.dialect.name != "postgresql":
        copies = 1
    copies = max(1, min(copies, tickets))
    tickets = -(-tickets // copies)  # the templates
    rng = random.Random(seed)
    end = end or datetime.now(SHANGHAI)
    first_day = (end.astimezone(SHANGHAI) - timedelta(days=days)).date()
    async with engine.begin() as conn:
        session = AsyncSession(bind=conn)
        await seed_reference(session=session)
        await bulk_world.add_streets(session, streets)
        world = await bulk_world.load(session, settings=get_settings())
        await session.flush()
        ids = Ids({name: 1 + ((await conn.execute(select(func.coalesce(
            func.max(table.c.id), 0)))).scalar_one()) for name, table in SIDE_TABLES.items()})
        lap("reference data and streets")
        sink = await Sink.open(conn)
        if conn.dialect.name == "postgresql":
            # One transaction whose commit is the end of the load: nothing to wait for.
            await conn.execute(text("SET LOCAL synchronous_commit = off"))
            # The copies' statements run once per batch with other id ranges: a plan made
            # for the values at hand, not a generic one that may scan the whole table.
            await conn.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        restore = await _set_aside(conn)
        lap("indexes and foreign keys set aside")
        copier = None
        if copies > 1:
            copier = Copier(conn, world, templates=tickets, wanted=wanted, copies=copies)
            await copier.prepare()
            batch_size = max(1, batch_size // copies)  # templates: a batch is copies × that

        async def write(batch: Batch, rollups: dict[str, list[dict]], plan) -> None:
            await _flush(sink, batch, rollups)
            if copier is not None:
                await copier.stamp(plan)

        accumulator, batch, done = Accumulator(), Batch.empty(), 0
        batch_from = dict(ids.next)
        writing: asyncio.Task | None = None  # the previous batch's COPY, while we draw on
        for day, count in day_counts(tickets, first_day, days, rng):
            for n, posted in enumerate(posting_times(day, count, rng)):
                fact = build(world, ids, batch, rng, posted, end)
                if copier is None:
                    accumulator.add([fact])
                if n % 200 == 0:
                    await asyncio.sleep(0)  # let the COPY in flight send its next chunk
            done += count
            if len(batch.facts) >= batch_size:
                plan = copier.plan(ids, batch_from) if copier is not None else None
                if writing is not None:
                    await writing
                writing = asyncio.create_task(write(batch, accumulator.take(before=day), plan))
                batch, batch_from = Batch.empty(), dict(ids.next)
            if progress:
                progress(min(done * copies, wanted))
        if writing is not None:
            await writing
        plan = copier.plan(ids, batch_from) if copier is not None else None
        await write(batch, accumulator.take(), plan)
        if copier is not None:
            lap("draw and COPY the templates, copy them in SQL")
            await copier.rollups()
            lap("rollups from the templates in SQL")
            done = wanted
        else:
            lap("draw and COPY every ticket")
        await _put_back(conn, restore)
        lap("indexes and foreign keys back")
        if conn.dialect.name == "postgresql":
            for name in SIDE_TABLES:
                await conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {name}))"))
            # Fresh statistics, so that the first reports are planned for millions of rows.
            for table in (*SIDE_TABLES.values(), FACTS_TABLE, *TABLES.values()):
                await conn.execute(text(f"ANALYZE {table.name}"))
        lap("sequences and ANALYZE")
    return (f"loaded {done} tickets over {days} days up to {end:%Y-%m-%d} "
            f"in {len(world.streets)} street(s)")


# --- indexes and foreign keys aside while the rows go in ------------------------------------

# What the load writes. A row into ``tickets`` checks six foreign keys and updates ten
# indexes, one row at a time; built once from the finished table (a sort per index, a join
# per foreign key) the same indexes and checks cost a fraction of that.
LOAD_TABLES = (*SIDE_TABLES, FACTS_TABLE.name, *(t.name for t in TABLES.values()))

_ASIDE = """
SELECT * FROM (
    SELECT CASE c.contype WHEN 'f' THEN 1 ELSE 2 END AS drop_order,
           format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
           CASE c.contype WHEN 'f' THEN 3 ELSE 2 END AS add_order,
           format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
                  pg_get_constraintdef(c.oid))
      FROM pg_constraint c
     WHERE c.conrelid = ANY(CAST(:tables AS regclass[])) AND c.contype IN ('f', 'u')
    UNION ALL
    SELECT 3, format('DROP INDEX %s', i.indexrelid::regclass),
           1, pg_get_indexdef(i.indexrelid)
      FROM pg_index i
     WHERE i.indrelid = ANY(CAST(:tables AS regclass[])) AND NOT i.indisprimary
       AND i.indpred IS NULL
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                        WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
) AS aside ORDER BY 1, 2
"""


async def _set_aside(conn: AsyncConnection) -> list[str]:
    """PostgreSQL: drop the secondary indexes, unique and foreign-key constraints of the
    tables the load writes; answer the statements that put each back as the catalogue
    defined it. Primary keys stay (the copies read their templates by id, and rollups are
    added to through them; ``Copier.rollups`` sets an empty rollup table's aside), and so do partial
    indexes: they hold only open pauses, pending requests, open whistles, tickets still
    to check — which history hardly has — and a predicate is not always written back as it
    was first written. All inside the load's transaction: if the load fails, the drops are
    rolled back with it."""
    if conn.dialect.name != "postgresql":
        return []
    rows = (await conn.execute(text(_ASIDE), {"tables": list(LOAD_TABLES)})).all()
    for _, drop, _, _ in rows:
        await conn.execute(text(drop))
    return [add for _, _, _, add in sorted(rows, key=lambda r: (r[2], r[3]))]


async def _put_back(conn: AsyncConnection, statements: list[str]) -> None:
    """Rebuild the indexes, then the unique constraints, then add the foreign keys again —
    each checked against every row, as when it was first made."""
    if not statements:
        return
    await conn.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
    for statement in statements:
        await conn.execute(text(statement))


# --- copies in SQL -----------------------------------------------------------------------------

# Per table: what changes in copy k (``c.k``) of a template row of the batch: ids continue
# after the batch's templates (``:base`` on, one block of ``:cnt`` rows per copy), the ticket
# (and whistle) ids follow the copied ticket's (whistle's), and a placed row takes the copy's
# grid, community and street (``m``, a row of ``bulk_moves``).
_OWN_ID = ":base + (c.k - 1) * :cnt + (src.id - :lo)"
_TICKET_ID = ":tbase + (c.k - 1) * :tcnt + (src.ticket_id - :tlo)"
_PLACE = {"street_id": "m.street_id", "community_id": "m.community_id",
          "grid_id": "m.new_grid_id"}
_SHIFTED: dict[str, dict[str, str]] = {
    "tickets": {"id": ":tbase + (c.k - 1) * :tcnt + (src.id - :tlo)", **_PLACE},
    "ticket_events": {"id": _OWN_ID, "ticket_id": _TICKET_ID},
    "escalations": {"id": _OWN_ID, "ticket_id": _TICKET_ID},
    "ticket_requests": {"id": _OWN_ID, "ticket_id": _TICKET_ID},
    "ticket_pauses": {"id": _OWN_ID, "ticket_id": _TICKET_ID},
    "whistles": {"id": _OWN_ID, "ticket_id": _TICKET_ID, "street_id": "m.street_id"},
    "whistle_summons": {"id": _OWN_ID, "ticket_id": _TICKET_ID,
                        "whistle_id": ":wbase + (c.k - 1) * :wcnt + (src.whistle_id - :wlo)"},
    FACTS_TABLE.name: {"ticket_id": _TICKET_ID, **_PLACE},
}
# How copy k of a template row finds its place: tickets and facts name their grid; a
# whistle's is its ticket's (template tickets keep their ids); the rest have none.
_MOVES = {
    "tickets": "JOIN bulk_moves m ON m.grid_id = src.grid_id AND m.k = c.k",
    FACTS_TABLE.name: "JOIN bulk_moves m ON m.grid_id = src.grid_id AND m.k = c.k",
    "whistles": "JOIN tickets t ON t.id = src.ticket_id "
                "JOIN bulk_moves m ON m.grid_id = t.grid_id AND m.k = c.k",
}


def placements(world: bulk_world.World, copies: int) -> list[tuple[int, int, int, int, int]]:
    """(grid, k, street, community, grid of copy k) for k in 0 … copies-1: copy k of a ticket
    goes k grids further along the grids of every street that keeps the same working
    calendar as its own (copy 0 is the ticket itself). Streets with one calendar count the
    same working minutes for the same instants, so a copy's report fact is its template's
    in another place — and a city's copies spread over the whole city."""
    pools: dict[tuple, list[bulk_world.Grid]] = {}
    for grid in sorted(world.grids, key=lambda g: (g.street_id, g.id)):
        cal = world.calendars[grid.street_id]
        same = (str(cal.timezone), cal.periods, frozenset(cal.overrides.items()))
        pools.setdefault(same, []).append(grid)
    moves = []
    for grids in pools.values():
        for i, grid in enumerate(grids):
            for k in range(copies):
                to = grids[(i + k) % len(grids)]
                moves.append((grid.id, k, to.street_id, to.community_id, to.id))
    return moves


def placed(ordinal: int, *, templates: int, wanted: int, copies: int) -> int:
    """How many tickets template ``ordinal`` (from 0) stands for, itself included: copy k
    exists while ``k * templates + ordinal < wanted``."""
    return min(copies, -(-(wanted - ordinal) // templates))


class Copier:
    """PostgreSQL: copies 1 … copies-1 of each batch of templates, made in SQL right after
    the batch's COPY (so that PostgreSQL copies while Python draws the next batch), and the
    rollups of every ticket summed from the templates and their placements at the end."""

    def __init__(self, conn: AsyncConnection, world: bulk_world.World, *, templates: int,
                 wanted: int, copies: int) -> None:
        self.conn, self.world = conn, world
        self.templates, self.wanted, self.copies = templates, wanted, copies
        self.drawn = 0  # templates handed over so far
        self.raw: Any = None  # asyncpg's own connection, for COPY

    async def prepare(self) -> None:
        self.raw = (await self.conn.get_raw_connection()).driver_connection
        await self.conn.execute(text(
            "CREATE TEMP TABLE bulk_moves (grid_id bigint, k int, street_id bigint, "
            "community_id bigint, new_grid_id bigint, PRIMARY KEY (grid_id, k)) "
            "ON COMMIT DROP"))
        await self.conn.execute(text(
            "CREATE TEMP TABLE bulk_templates (ticket_id bigint PRIMARY KEY, placed int) "
            "ON COMMIT DROP"))
        await self.raw.copy_records_to_table(
            "bulk_moves", records=placements(self.world, self.copies))

    def plan(self, ids: Ids, batch_from: dict[str, int]) -> dict[str, Any]:
        """Reserve the ids of the copies of the templates drawn since ``batch_from`` (the
        next ids when the batch began): each table's copies take the ids right after its
        templates, so the next batch continues after them."""
        plan: dict[str, Any] = {"ordinal": self.drawn}
        for name in SIDE_TABLES:
            lo, hi = batch_from[name], ids.next[name]
            plan[name] = (lo, hi - lo, hi)  # template ids [lo, lo + cnt), copies from hi
            ids.next[name] = hi + (self.copies - 1) * (hi - lo)
        self.drawn += plan["tickets"][1]
        return plan

    async def stamp(self, plan: dict[str, Any]) -> None:
        tlo, tcnt, tbase = plan["tickets"]
        if not tcnt:
            return
        first = plan["ordinal"]
        await self.raw.copy_records_to_table("bulk_templates", records=[
            (tlo + n, placed(first + n, templates=self.templates, wanted=self.wanted,
                             copies=self.copies)) for n in range(tcnt)])
        wlo, wcnt, wbase = plan["whistles"]
        for name, changes in _SHIFTED.items():
            table = FACTS_TABLE if name == FACTS_TABLE.name else SIDE_TABLES[name]
            lo, cnt, base = plan.get(name, plan["tickets"])
            if not cnt:
                continue
            columns = [c.name for c in table.columns]
            values = ", ".join(changes.get(c, f"src.{c}") for c in columns)
            ticket = "id" if name == "tickets" else "ticket_id"
            rows = f"src.{ticket}" if name == FACTS_TABLE.name else "src.id"
            await self.conn.execute(text(
                f"INSERT INTO {name} ({', '.join(columns)}) SELECT {values} "
                f"FROM {name} AS src CROSS JOIN generate_series(1, :last) AS c(k) "
                f"{_MOVES.get(name, '')} "
                f"WHERE {rows} >= :lo AND {rows} < :lo + :cnt"
                # copy k of template n exists while k * templates + n < wanted
                f" AND c.k * :templates + :first + (src.{ticket} - :tlo) < :wanted"),
                {"last": self.copies - 1, "lo": lo, "cnt": cnt, "base": base, "tlo": tlo,
                 "tcnt": tcnt, "tbase": tbase, "wlo": wlo, "wcnt": wcnt, "wbase": wbase,
                 "templates": self.templates, "first": first, "wanted": self.wanted})

    async def rollups(self) -> None:
        """Add every ticket's contribution to the rollups: each template's fact, unpacked
        once, counted in each place it was copied to (``Fact.contributions`` as GROUP BY,
        added to what is there). One pass builds the daily counters and one the duration
        histograms (into temporary tables); the monthly tiers are sums of those, and the
        summons of the few facts that have any."""
        counters = ", ".join(f"substr(f.counters, {i + 1}, 1)::int AS {c}"
                             for i, c in enumerate(COUNTERS))
        await self.conn.execute(text("SET LOCAL work_mem = '256MB'"))
        await self.conn.execute(text(
            f"CREATE TEMP TABLE bulk_facts ON COMMIT DROP AS "
            f"SELECT f.grid_id, {', '.join(k for k in KEY if k not in _PLACE)}, t.placed, "
            f"{counters}, f.claim_bucket, f.resolve_bucket, f.summons "
            f"FROM {FACTS_TABLE.name} f JOIN bulk_templates t USING (ticket_id)"))
        placed_key = ", ".join(f"m.{c} AS {c}" if c in ("street_id", "community_id")
                               else "m.new_grid_id AS grid_id" if c == "grid_id"
                               else f"u.{c}" for c in KEY)
        everywhere = "bulk_facts u JOIN bulk_moves m ON m.grid_id = u.grid_id AND m.k < u.placed"
        key = ", ".join(KEY)
        sums = ", ".join(f"sum({c}) AS {c}" for c in COUNTERS)
        await self.conn.execute(text(
            f"CREATE TEMP TABLE bulk_daily ON COMMIT DROP AS SELECT {key}, {sums} "
            f"FROM (SELECT {placed_key}, {', '.join(COUNTERS)} FROM {everywhere}) AS p "
            f"GROUP BY {key}"))
        await self.conn.execute(text(
            f"CREATE TEMP TABLE bulk_durations ON COMMIT DROP AS "
            f"SELECT {key}, b.measure, b.bucket, count(*) AS tickets "
            f"FROM (SELECT {placed_key}, u.claim_bucket, u.resolve_bucket FROM {everywhere}) p "
            f"CROSS JOIN LATERAL (VALUES ('claim', p.claim_bucket), "
            f"('resolve', p.resolve_bucket)) AS b(measure, bucket) "
            f"WHERE b.bucket IS NOT NULL GROUP BY {key}, b.measure, b.bucket"))
        month = "date_trunc('month', day)::date AS month"
        monthly = f"street_id, {month}, community_id, department_id"
        summons_key = ", ".join("(s->>0)::bigint AS department_id" if c == "department_id"
                                else c for c in KEY)
        statements = {
            "daily": (f"SELECT {key}, {', '.join(COUNTERS)} FROM bulk_daily", COUNTERS),
            "monthly": (f"SELECT {monthly}, category_code, source, {sums} FROM bulk_daily "
                        f"GROUP BY 1, 2, 3, 4, category_code, source", COUNTERS),
            "durations": (f"SELECT {key}, measure, bucket, tickets FROM bulk_durations",
                          ("tickets",)),
            "monthly_durations": (f"SELECT {monthly}, measure, bucket, sum(tickets) "
                                  f"FROM bulk_durations GROUP BY 1, 2, 3, 4, measure, bucket",
                                  ("tickets",)),
            "summons": (f"SELECT {summons_key}, count(*), sum((s->>1)::int), "
                        f"sum((s->>2)::int) FROM (SELECT {placed_key}, u.summons "
                        f"FROM {everywhere} WHERE json_array_length(u.summons) > 0) AS p, "
                        f"json_array_elements(p.summons) AS s GROUP BY 1, 2, 3, 4, 5, 6, 7, 8",
                        SUMMONS_COUNTERS),
        }
        for name, (select_rows, values) in statements.items():
            table = TABLES[name]
            columns = ", ".join((*ROW_KEYS[name], *ROW_VALUES[name]))
            keys = ", ".join(c.name for c in table.primary_key.columns)
            # In primary-key order, the key's B-tree fills page after page instead of
            # touching a random page per row (the rollups have about a row per ticket).
            ordered = f"SELECT * FROM ({select_rows}) AS r ORDER BY {keys}"
            if (await self.conn.execute(text(f"SELECT EXISTS (SELECT FROM {table.name})"))
                    ).scalar_one():
                added = ", ".join(f"{v} = {table.name}.{v} + excluded.{v}" for v in values)
                await self.conn.execute(text(
                    f"INSERT INTO {table.name} ({columns}) {ordered} "
                    f"ON CONFLICT ({keys}) DO UPDATE SET {added}"))
            else:
                # The first load: nothing to add to, so no key to look up either. The
                # primary key goes aside like the other indexes and is built by one sort
                # from the finished table (checking, as it is built, that no key repeats).
                pk = (await self.conn.execute(text(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = CAST(:t AS regclass) AND contype = 'p'"),
                    {"t": table.name})).one()
                await self.conn.execute(text(f"ALTER TABLE {table.name} DROP CONSTRAINT {pk[0]}"))
                await self.conn.execute(text(f"INSERT INTO {table.name} ({columns}) {select_rows}"))
                await self.conn.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
                await self.conn.execute(text(
                    f"ALTER TABLE {table.name} ADD CONSTRAINT {pk[0]} {pk[1]}"))

