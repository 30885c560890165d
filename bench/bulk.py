"""Bulk data for the queue and sweep benchmarks: the demo reference data through the app,
then tickets by the hundred thousand with ``INSERT ... SELECT generate_series`` (seconds,
not the hours posting them one by one would take), with valid foreign keys and the
``sla_clocks`` rows the SLA code reads.

Deadlines are plausible, not computed by the SLA code: the benchmarks measure claiming and
sweeping, and both recompute what they touch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True, slots=True)
class Reference:
    """Ids of one street-level matrix item and one grid, for the generated tickets."""

    version_id: int
    item_id: int
    item_code: str
    category_code: str
    street_id: int
    community_id: int
    grid_id: int
    departments: dict[str, int]


async def prepare(url: str) -> Reference:
    """Migrate the fresh database, load the demo reference data, return the ids to use."""
    from app.db import make_engine, make_sessionmaker, unit_of_work
    from app.demo.seed import seed_reference
    from app.migrate import upgrade_to_head

    engine = make_engine(url)
    await upgrade_to_head(engine)
    async with unit_of_work(make_sessionmaker(engine)) as session:
        await seed_reference(session=session)
    await engine.dispose()
    conn = await asyncpg.connect(dsn(url))
    try:
        row = await conn.fetchrow("""
            SELECT i.version_id, i.id AS item_id, i.code, i.category_code, g.street_id,
                   g.community_id, g.id AS grid_id
            FROM matrix_items i JOIN jurisdictions g ON g.code = 'BH01-01'
            WHERE i.handling_level = 'street'
              AND i.version_id = (SELECT max(id) FROM matrix_versions)
            ORDER BY i.code LIMIT 1""")
        departments = dict(await conn.fetch("SELECT code, id FROM departments ORDER BY code"))
    finally:
        await conn.close()
    return Reference(row["version_id"], row["item_id"], row["code"], row["category_code"],
                     row["street_id"], row["community_id"], row["grid_id"], departments)


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


# One row per n in 1..count: created over the last three days (one a minute), one in ten
# urgent, deadlines a few hours and days after posting, next_check_at $10 + n * $11
# seconds (so a caller chooses how many are due at a given instant).
_INSERT_TICKETS = """
INSERT INTO tickets (matrix_version_id, item_id, item_code, category_code, street_id,
  community_id, grid_id, level, department_id, status, urgency, source, description, address,
  self_handle, routing_reason, rework_count, return_count, response_due_at, resolve_due_at,
  next_check_at, sla_state, version, created_at, updated_at)
SELECT $1, $2, $3, $4, $5, $6, $7, 'street', $8, 'dispatched',
       CASE WHEN n % 10 = 0 THEN 'urgent' ELSE 'normal' END, 'grid_worker',
       'bench ticket ' || n, 'bench address ' || n, false, 'bench', 0, 0,
       c + interval '4 hours', c + interval '3 days' + (n % 997) * interval '1 minute',
       $10::timestamptz + n * $11::double precision * interval '1 second', 'on_track', 1, c, c
FROM generate_series(1, $9::int) AS n,
     LATERAL (SELECT $12::timestamptz - (n % 4320) * interval '1 minute' AS c) AS t
"""

_INSERT_CLOCKS = """
INSERT INTO sla_clocks (ticket_id, response_started_at, response_warn_at, resolve_warn_at,
  level, level_entered_at, escalate_due_at)
SELECT id, created_at, created_at + interval '3 hours', resolve_due_at - interval '12 hours',
       'street', created_at, NULL
FROM tickets WHERE id > $1
"""


async def insert_tickets(conn: asyncpg.Connection, ref: Reference, *, department_id: int,
                         count: int, now: datetime, next_check_from: datetime,
                         next_check_step_seconds: float) -> None:
    """``count`` dispatched street-level tickets in ``department_id``'s queue, with clocks."""
    async with conn.transaction():
        last = await conn.fetchval("SELECT coalesce(max(id), 0) FROM tickets")
        await conn.execute(_INSERT_TICKETS, ref.version_id, ref.item_id, ref.item_code,
                           ref.category_code, ref.street_id, ref.community_id, ref.grid_id,
                           department_id, count, next_check_from, next_check_step_seconds, now)
        await conn.execute(_INSERT_CLOCKS, last)


async def insert_staff(conn: asyncpg.Connection, *, department_id: int, prefix: str,
                       count: int) -> list[int]:
    """``count`` department_staff users of the department (claimers); their ids."""
    rows = await conn.fetch("""
        INSERT INTO users (username, display_name, password_hash, role, department_id,
                           is_active, created_at)
        SELECT $1 || n, $1 || n, '!bench', 'department_staff', $2, true, now()
        FROM generate_series(1, $3::int) AS n RETURNING id""", prefix, department_id, count)
    return sorted(r["id"] for r in rows)


async def vacuum(conn: asyncpg.Connection) -> None:
    """Start every measurement from the same state: no dead rows, fresh statistics."""
    for table in ("tickets", "ticket_events", "sla_clocks"):
        await conn.execute(f"VACUUM (ANALYZE) {table}")
