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
item, department, states, times, timeline, side rows — in another grid of the same street
(so the same working calendar: its fact differs from the template's only in its place). The
rollups are then summed from all the facts in SQL (``GROUP BY``), which is what adding each
fact to them one by one comes to. A 5M load is then a few minutes, not half an hour; the
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
from app.reports.repository import FACTS_TABLE, TABLES, fact_row
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
        ids_before = dict(ids.next)
        sink = await Sink.open(conn)
        restore = await _set_aside(conn)
        lap("reference data, indexes and foreign keys set aside")
        accumulator, batch, done = Accumulator(), Batch.empty(), 0
        writing: asyncio.Task | None = None  # the previous batch's COPY, while we draw on
        for day, count in day_counts(tickets, first_day, days, rng):
            for n, posted in enumerate(posting_times(day, count, rng)):
                fact = build(world, ids, batch, rng, posted, end)
                if copies == 1:
                    accumulator.add([fact])
                if n % 200 == 0:
                    await asyncio.sleep(0)  # let the COPY in flight send its next chunk
            done += count
            if len(batch.facts) >= batch_size:
                if writing is not None:
                    await writing
                writing = asyncio.create_task(
                    _flush(sink, batch, accumulator.take(before=day)))
                batch = Batch.empty()
            if progress:
                progress(done * copies)
        if writing is not None:
            await writing
        if copies > 1:
            await _flush(sink, batch, {name: [] for name in TABLES})
            lap("draw and COPY the templates")
            await _stamp(conn, world, first_ids=ids_before, templates=tickets, wanted=wanted,
                         copies=copies)
            lap("copy in SQL")
            await _rollups_from_facts(conn, ids_before["tickets"])
            lap("rollups from the facts in SQL")
            done = wanted
        else:
            await _flush(sink, batch, accumulator.take())
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
    defined it. Primary keys stay (the copies and rollups need them), and so do partial
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
    await conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    for statement in statements:
        await conn.execute(text(statement))


# --- copies in SQL -----------------------------------------------------------------------------

# Per side table: what changes in copy k (``c.k``) of a template row. ``{t}``: the ticket id
# offset, ``{w}``: the whistle id offset, ``{own}``: the table's own id offset.
_SHIFTED: dict[str, dict[str, str]] = {
    "tickets": {"id": "src.id + c.k * {own}", "street_id": "m.street_id",
                "community_id": "m.community_id", "grid_id": "m.grid_id"},
    "ticket_events": {"id": "src.id + c.k * {own}", "ticket_id": "src.ticket_id + c.k * {t}"},
    "escalations": {"id": "src.id + c.k * {own}", "ticket_id": "src.ticket_id + c.k * {t}"},
    "ticket_requests": {"id": "src.id + c.k * {own}", "ticket_id": "src.ticket_id + c.k * {t}"},
    "ticket_pauses": {"id": "src.id + c.k * {own}", "ticket_id": "src.ticket_id + c.k * {t}"},
    "whistles": {"id": "src.id + c.k * {own}", "ticket_id": "src.ticket_id + c.k * {t}"},
    "whistle_summons": {"id": "src.id + c.k * {own}", "ticket_id": "src.ticket_id + c.k * {t}",
                        "whistle_id": "src.whistle_id + c.k * {w}"},
    FACTS_TABLE.name: {"ticket_id": "src.ticket_id + c.k * {t}", "street_id": "m.street_id",
                       "community_id": "m.community_id", "grid_id": "m.grid_id"},
}


async def _stamp(conn: AsyncConnection, world: bulk_world.World, *, first_ids: dict[str, int],
                 templates: int, wanted: int, copies: int) -> None:
    """Copies 1 … copies-1 of the templates (ticket ids ``first_ids['tickets']`` on), each
    in another grid of its street, until ``wanted`` tickets exist."""
    by_street: dict[int, list] = {}
    for grid in sorted(world.grids, key=lambda g: g.id):
        by_street.setdefault(grid.street_id, []).append(grid)
    moves = []  # (template grid, k, copy's street, community, grid)
    for grids in by_street.values():
        for i, grid in enumerate(grids):
            for k in range(1, copies):
                to = grids[(i + k) % len(grids)]
                moves.append((grid.id, k, to.street_id, to.community_id, to.id))
    await conn.execute(text("CREATE TEMP TABLE bulk_moves (grid_id bigint, k int, "
                            "street_id bigint, community_id bigint, new_grid_id bigint, "
                            "PRIMARY KEY (grid_id, k)) ON COMMIT DROP"))
    raw: Any = (await conn.get_raw_connection()).driver_connection  # asyncpg's own connection
    await raw.copy_records_to_table("bulk_moves", records=moves)
    first_ticket = first_ids["tickets"]
    spans = {}
    for name in SIDE_TABLES:
        top = (await conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {name}"))).scalar_one()
        spans[name] = max(top - first_ids[name] + 1, 1)
    offsets = {"t": spans["tickets"], "w": spans["whistles"]}
    for name, changes in _SHIFTED.items():
        table = FACTS_TABLE if name == FACTS_TABLE.name else SIDE_TABLES[name]
        own = spans.get(name, 0)
        ticket = "id" if name == "tickets" else "ticket_id"
        columns = [c.name for c in table.columns]
        values = ", ".join(
            changes[c].format(own=own, **offsets) if c in changes else f"src.{c}"
            for c in columns)
        values = values.replace("m.grid_id", "m.new_grid_id")
        placed = name in ("tickets", FACTS_TABLE.name)  # the rows that name a grid
        # Copy k of template n (n counted from 0) exists while k * templates + n < wanted.
        await conn.execute(text(
            f"INSERT INTO {name} ({', '.join(columns)}) "
            f"SELECT {values} FROM {name} AS src "
            f"CROSS JOIN generate_series(1, :last) AS c(k) "
            + ("JOIN bulk_moves m ON m.k = c.k AND m.grid_id = src.grid_id " if placed else "")
            + f"WHERE src.{ticket} >= :first AND src.{ticket} < :first + :templates"
            f" AND c.k * :templates + (src.{ticket} - :first) < :wanted"),
            {"last": copies - 1, "first": first_ticket, "templates": templates,
             "wanted": wanted})


def _sums(names: tuple[str, ...], source: str) -> str:
    return ", ".join(f"sum({source}) AS {n}".format(i=i + 1) for i, n in enumerate(names))


async def _rollups_from_facts(conn: AsyncConnection, first_ticket: int) -> None:
    """Add the facts of the tickets from ``first_ticket`` on to the rollups
    (``Fact.contributions`` as GROUP BY, each row added to what is there)."""
    facts = f"(SELECT * FROM {FACTS_TABLE.name} WHERE ticket_id >= {int(first_ticket)}) AS f"
    key = ", ".join(KEY)
    month = "date_trunc('month', day)::date"
    monthly_key = f"street_id, {month}, community_id, department_id"
    counters = _sums(COUNTERS, "substr(counters, {i}, 1)::int")
    durations = (f"SELECT {{cols}}, 'claim', claim_bucket, count(*) FROM {facts} "
                 f"WHERE claim_bucket IS NOT NULL GROUP BY {{cols}}, claim_bucket "
                 f"UNION ALL SELECT {{cols}}, 'resolve', resolve_bucket, count(*) FROM {facts} "
                 f"WHERE resolve_bucket IS NOT NULL GROUP BY {{cols}}, resolve_bucket")
    summons_key = ("street_id, day, community_id, grid_id, (s->>0)::bigint, category_code, "
                   "item_code, source")
    monthly_columns = "street_id, month, community_id, department_id"
    statements = {
        "daily": (f"({key}, {', '.join(COUNTERS)}) "
                  f"SELECT {key}, {counters} FROM {facts} GROUP BY {key}", COUNTERS),
        "monthly": (f"({monthly_columns}, category_code, source, {', '.join(COUNTERS)}) "
                    f"SELECT {monthly_key}, category_code, source, {counters} FROM {facts} "
                    f"GROUP BY {monthly_key}, category_code, source", COUNTERS),
        "durations": (f"({key}, measure, bucket, tickets) " + durations.format(cols=key),
                      ("tickets",)),
        "monthly_durations": (f"({monthly_columns}, measure, bucket, tickets) "
                              + durations.format(cols=monthly_key), ("tickets",)),
        "summons": (f"({key}, {', '.join(SUMMONS_COUNTERS)}) "
                    f"SELECT {summons_key}, count(*), sum((s->>1)::int), sum((s->>2)::int) "
                    f"FROM {facts}, json_array_elements(f.summons) AS s "
                    f"GROUP BY {summons_key}", SUMMONS_COUNTERS),
    }
    for name, (body, values) in statements.items():
        table = TABLES[name]
        keys = ", ".join(c.name for c in table.primary_key.columns)
        added = ", ".join(f"{v} = {table.name}.{v} + excluded.{v}" for v in values)
        await conn.execute(text(f"INSERT INTO {table.name} {body} "
                                f"ON CONFLICT ({keys}) DO UPDATE SET {added}"))
