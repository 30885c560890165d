"""A month's street report on millions of tickets: the rollup path (GET /api/v1/reports/sla
through uvicorn) next to the naive GROUP BY over tickets and their events, same database,
same run.

    .venv/bin/python -m bench.run reports

Loads the data with ``seed-bulk``'s code (5,000,000 tickets over a year, the demo street
plus 9 generated ones) into a fresh database, which takes a while; set
``WHISTLE_BENCH_REPORTS_URL`` to a database already loaded by ``whistle seed-bulk`` to
measure it instead (and ``WHISTLE_BENCH_REPORTS_LOADED_IN`` to the seconds that load took,
to record it; ``WHISTLE_BENCH_REPORTS_TICKETS`` / ``_STREETS`` size a fresh load).

The naive path computes the same figures as far as plain SQL can: counts by state, a
lateral aggregate over each ticket's events and summons, durations in calendar minutes
with ``percentile_disc`` (working-time durations cannot be done in SQL at all, so the
naive path does strictly less work than the report).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

import httpx

from bench.harness import fresh_database, server

SECRET = "bench-secret-" + "x" * 40
TICKETS = int(os.environ.get("WHISTLE_BENCH_REPORTS_TICKETS", "5000000"))
STREETS = int(os.environ.get("WHISTLE_BENCH_REPORTS_STREETS", "10"))
RUNS, NAIVE_RUNS = 60, 7

NAIVE = """
SELECT {group} AS g, count(*) AS reported,
  count(*) FILTER (WHERE t.status = 'cancelled') AS cancelled,
  count(*) FILTER (WHERE t.status NOT IN ('closed', 'cancelled')) AS open,
  count(*) FILTER (WHERE t.status = 'closed') AS closed,
  count(*) FILTER (WHERE t.status = 'suspended') AS suspended,
  count(*) FILTER (WHERE t.status IN ('self_handling', 'dispatched', 'claimed', 'in_progress',
                   'rework', 'returned') AND (t.response_due_at <= now()
                   OR t.resolve_due_at <= now())) AS overdue_now,
  count(*) FILTER (WHERE e.dispatched) AS dispatched,
  count(*) FILTER (WHERE e.first_claim IS NOT NULL) AS responded,
  count(*) FILTER (WHERE e.resolved) AS resolved,
  count(*) FILTER (WHERE t.status = 'closed' AND t.resolved_at <= t.resolve_due_at)
    AS closed_on_time,
  count(t.rating) AS rated,
  count(*) FILTER (WHERE t.rating IN ('满意', '基本满意')) AS satisfied,
  count(*) FILTER (WHERE e.returned) AS returned,
  count(*) FILTER (WHERE e.reworked) AS reworked,
  count(*) FILTER (WHERE e.extended) AS extended,
  count(*) FILTER (WHERE e.to_community) AS escalated_to_community,
  count(*) FILTER (WHERE e.to_street) AS escalated_to_street,
  count(*) FILTER (WHERE t.status = 'closed' AND t.level = 'grid') AS closed_in_grid,
  count(*) FILTER (WHERE t.status = 'closed' AND t.level IN ('grid', 'community'))
    AS closed_in_community,
  sum(w.summoned) AS summoned, sum(w.reported_in) AS reported_in,
  sum(w.on_time) AS reported_in_on_time,
  percentile_disc(0.5) WITHIN GROUP (ORDER BY e.claim_minutes) AS claim_p50,
  percentile_disc(0.9) WITHIN GROUP (ORDER BY e.claim_minutes) AS claim_p90,
  percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.resolved_at - t.created_at)
    / 60) FILTER (WHERE t.status = 'closed') AS resolve_p50,
  percentile_disc(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.resolved_at - t.created_at)
    / 60) FILTER (WHERE t.status = 'closed') AS resolve_p90
FROM tickets t
CROSS JOIN LATERAL (
  SELECT bool_or(to_status = 'dispatched') AS dispatched,
         min(created_at) FILTER (WHERE kind = 'claim') AS first_claim,
         extract(epoch FROM min(created_at) FILTER (WHERE kind = 'claim') - t.created_at) / 60
           AS claim_minutes,
         bool_or(kind IN ('resolve', 'self_close')) AS resolved,
         bool_or(kind = 'return') AS returned, bool_or(kind = 'verify_fail') AS reworked,
         bool_or(kind = 'approve_extension') AS extended,
         bool_or(kind IN ('escalate', 'escalated') AND data->>'to_level' = 'community')
           AS to_community,
         bool_or(kind IN ('escalate', 'escalated') AND data->>'to_level' = 'street')
           AS to_street
  FROM ticket_events WHERE ticket_id = t.id) e
CROSS JOIN LATERAL (
  SELECT count(s.id) AS summoned, count(s.reported_in_at) AS reported_in,
         count(*) FILTER (WHERE s.on_time) AS on_time
  FROM whistles wh JOIN whistle_summons s ON s.whistle_id = wh.id
  WHERE wh.ticket_id = t.id) w
WHERE t.street_id = $1 AND t.created_at >= $2 AND t.created_at < $3
GROUP BY {group}
"""
GROUPS = {"community": "t.community_id", "department": "coalesce(t.department_id, 0)"}


@dataclass
class Timing:
    path: str
    grouping: str
    ms: list[float]

    def pct(self, q: float) -> float:
        ordered = sorted(self.ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def row(self) -> str:
        return (f"| {self.path} | by {self.grouping} | {len(self.ms)} | "
                f"{statistics.median(self.ms):.1f} | {self.pct(0.95):.1f} |")


@contextmanager
def _database():
    url = os.environ.get("WHISTLE_BENCH_REPORTS_URL")
    if url:
        yield url, None
        return
    with fresh_database("whistle_bench_reports") as fresh:
        yield fresh, asyncio.run(_load(fresh))


async def _load(url: str) -> float:
    from app.db import make_engine
    from app.demo.bulk import seed_bulk
    from app.migrate import upgrade_to_head

    engine = make_engine(url)
    started = time.monotonic()
    try:
        await upgrade_to_head(engine)
        await seed_bulk(engine=engine, tickets=TICKETS, streets=STREETS, days=365)
    finally:
        await engine.dispose()
    return time.monotonic() - started


async def _facts(url: str) -> dict:
    """The busiest street, the last full month, sizes, and an admin token."""
    import asyncpg

    from app.auth.service import actor_for_user
    from app.auth.tokens import encode_access_token
    from app.db import make_engine, make_sessionmaker, utc_now

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        last = (await conn.fetchval("SELECT max(created_at) FROM tickets")).date()
        end = last.replace(day=1) - timedelta(days=1)
        start = end.replace(day=1)
        street_id, code = await conn.fetchrow(
            "SELECT j.id, j.code FROM tickets t JOIN jurisdictions j ON j.id = t.street_id "
            "WHERE t.created_at >= $1 GROUP BY j.id, j.code ORDER BY count(*) DESC LIMIT 1",
            _instant(start))
        sizes = {
            "tickets": await conn.fetchval("SELECT count(*) FROM tickets"),
            "events": await conn.fetchval("SELECT count(*) FROM ticket_events"),
            "month": await conn.fetchval(
                "SELECT count(*) FROM tickets WHERE street_id = $1 AND created_at >= $2 "
                "AND created_at < $3", street_id, _instant(start),
                _instant(end + timedelta(days=1))),
            "daily_rows": await conn.fetchval(
                "SELECT count(*) FROM report_daily WHERE street_id = $1 AND day BETWEEN $2 AND $3",
                street_id, start, end),
            "monthly_rows": await conn.fetchval(
                "SELECT count(*) FROM report_monthly WHERE street_id = $1 AND month = $2",
                street_id, start),
        }
    finally:
        await conn.close()
    from sqlalchemy import select

    from app.auth.models import User

    engine = make_engine(url)
    async with make_sessionmaker(engine)() as session:
        admin = (await session.execute(select(User).where(User.username == "admin"))).scalar_one()
        actor = await actor_for_user(session=session, user=admin)
    await engine.dispose()
    token = encode_access_token(actor, secret=SECRET, now=utc_now(), minutes=600)
    return {"dsn": dsn, "street_id": street_id, "street": code, "start": start, "end": end,
            "token": token, **sizes}


def _instant(day: date):
    from datetime import datetime, time

    from app.clock import SHANGHAI

    return datetime.combine(day, time(), SHANGHAI)


def _rollup_path(base: str, f: dict, grouping: str, *, shifted: bool = False) -> Timing:
    """The month's report; ``shifted``: the 31 days from the month's 16th instead, which
    no whole month covers (the daily tier answers)."""
    start, end = f["start"], f["end"]
    if shifted:
        start, end = start + timedelta(days=15), end + timedelta(days=15)
    params = {"from": start.isoformat(), "to": end.isoformat(),
              "jurisdiction": f["street"], "group_by": grouping}
    headers = {"Authorization": f"Bearer {f['token']}"}
    ms = []
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for i in range(RUNS + 5):
            t0 = time.perf_counter()
            r = client.get("/api/v1/reports/sla", params=params)
            elapsed = (time.perf_counter() - t0) * 1000
            r.raise_for_status()
            if i >= 5:  # warm-up
                ms.append(elapsed)
    label = "daily tier: the same, 31 days from the 16th" if shifted else \
        "rollups: GET /api/v1/reports/sla"
    return Timing(label, grouping, ms)


async def _naive_path(f: dict, grouping: str) -> Timing:
    import asyncpg

    conn = await asyncpg.connect(f["dsn"])
    sql = NAIVE.format(group=GROUPS[grouping])
    args = (f["street_id"], _instant(f["start"]), _instant(f["end"] + timedelta(days=1)))
    ms = []
    try:
        for i in range(NAIVE_RUNS + 1):
            t0 = time.perf_counter()
            await conn.fetch(sql, *args)
            if i >= 1:
                ms.append((time.perf_counter() - t0) * 1000)
    finally:
        await conn.close()
    return Timing("naive: GROUP BY over tickets + events (SQL only)", grouping, ms)


def run() -> tuple[list[Timing], dict]:
    with _database() as (url, load_seconds):
        f = asyncio.run(_facts(url))
        f["load_seconds"] = load_seconds
        env = {"WHISTLE_DATABASE_URL": url, "WHISTLE_SECRET_KEY": SECRET,
               "WHISTLE_ENV": "production"}
        timings = []
        with server("app.main:create_app", env=env, factory=True) as base:
            for grouping in GROUPS:
                timings.append(_rollup_path(base, f, grouping))
            timings.append(_rollup_path(base, f, "community", shifted=True))
        for grouping in GROUPS:
            timings.append(asyncio.run(_naive_path(f, grouping)))
    return timings, f


def summary(timings: list[Timing], f: dict) -> str:
    loaded = (f"loaded in this run by seed-bulk in {f['load_seconds']:,.0f} s"
              if f.get("load_seconds") else "loaded beforehand by `whistle seed-bulk`")
    if os.environ.get("WHISTLE_BENCH_REPORTS_LOADED_IN"):  # the earlier load's wall time
        loaded += f" in {int(os.environ['WHISTLE_BENCH_REPORTS_LOADED_IN']):,} s"
    lines = [f"{f['tickets']:,} tickets and {f['events']:,} events on PostgreSQL ({loaded}); "
             f"street {f['street']}, {f['start']}..{f['end']}: {f['month']:,} tickets, "
             f"{f['monthly_rows']:,} monthly rollup rows (the month's {f['daily_rows']:,} "
             "daily rows serve ranges that are not whole months). Sequential requests after "
             "warm-up, admin token, `jurisdiction` = the street.", "",
             "| path | report | runs | p50 ms | p95 ms |", "|---|---|---|---|---|"]
    lines += [t.row() for t in timings]
    lines.append("")
    for grouping in GROUPS:
        ours = next(t for t in timings if t.grouping == grouping and t.path.startswith("roll"))
        naive = next(t for t in timings if t.grouping == grouping and t.path.startswith("naive"))
        ratio = statistics.median(naive.ms) / statistics.median(ours.ms)
        lines.append(
            f"- by {grouping}: rollup p95 **{ours.pct(0.95):.0f} ms** (target < 300 ms: "
            f"{'meets' if ours.pct(0.95) < 300 else 'misses'}); naive p50 / rollup p50 = "
            f"**{ratio:.0f}×** (target ≥ 20×: {'meets' if ratio >= 20 else 'misses'})")
    shifted = next(t for t in timings if t.path.startswith("daily tier"))
    lines.append(f"- 31 days across two months, by community (daily tier): p95 "
                 f"**{shifted.pct(0.95):.0f} ms** (target < 300 ms: "
                 f"{'meets' if shifted.pct(0.95) < 300 else 'misses'})")
    return "\n".join(lines)
