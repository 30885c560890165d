"""``whistle seed-bulk`` on PostgreSQL: how long N tickets take, with their timelines, side
rows, facts and rollups, and whether the rollups add up to the tickets.

    .venv/bin/python -m bench.run seed        # WHISTLE_BENCH_SEED_TICKETS (500,000),
                                              # WHISTLE_BENCH_SEED_COPIES (10)

Python draws one ticket in ``COPIES`` (stories, deadlines, facts: the old path's cost per
ticket), SQL copies each into other grids of its street and sums the rollups from the facts
(``app.demo.bulk``). The checks after the load: rollup ``reported`` = tickets, monthly =
daily, summoned = summons rows, duration histograms = facts with a bucket.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

import asyncpg

from bench import bulk
from bench.harness import fresh_database

TICKETS = int(os.environ.get("WHISTLE_BENCH_SEED_TICKETS", 500_000))
COPIES = int(os.environ.get("WHISTLE_BENCH_SEED_COPIES", 10))
STREETS = int(os.environ.get("WHISTLE_BENCH_SEED_STREETS", 10))

CHECKS = {
    "tickets": "SELECT count(*) FROM tickets",
    "events": "SELECT count(*) FROM ticket_events",
    "facts": "SELECT count(*) FROM report_ticket_facts",
    "reported (daily rollups)": "SELECT sum(reported) FROM report_daily",
    "reported (monthly rollups)": "SELECT sum(reported) FROM report_monthly",
    "closed (daily rollups)": "SELECT sum(closed) FROM report_daily",
    "closed tickets": "SELECT count(*) FROM tickets WHERE status = 'closed'",
    "summons rows": "SELECT count(*) FROM whistle_summons",
    "summoned (rollups)": "SELECT sum(summoned) FROM report_summons",
    "facts with a claim bucket": "SELECT count(claim_bucket) FROM report_ticket_facts",
    "claim durations (rollups)":
        "SELECT sum(tickets) FROM report_durations WHERE measure = 'claim'",
    "claim durations (monthly)":
        "SELECT sum(tickets) FROM report_monthly_durations WHERE measure = 'claim'",
    "grids with tickets": "SELECT count(DISTINCT grid_id) FROM tickets",
}
MUST_EQUAL = [("tickets", "facts", "reported (daily rollups)", "reported (monthly rollups)"),
              ("closed (daily rollups)", "closed tickets"),
              ("summons rows", "summoned (rollups)"),
              ("facts with a claim bucket", "claim durations (rollups)",
               "claim durations (monthly)")]


@dataclass
class SeedFigures:
    tickets: int
    copies: int
    streets: int
    seconds: float
    load_before: float
    load_after: float
    summary: str
    checks: dict[str, int]
    phases: dict[str, float]


async def _load(url: str, phases: dict[str, float]) -> tuple[float, str]:
    from app.db import make_engine
    from app.demo.bulk import seed_bulk
    from app.migrate import upgrade_to_head

    engine = make_engine(url)
    try:
        await upgrade_to_head(engine)
        t0 = time.perf_counter()
        summary = await seed_bulk(engine=engine, tickets=TICKETS, streets=STREETS, days=365,
                                  copies=COPIES, phases=phases)
        return time.perf_counter() - t0, summary
    finally:
        await engine.dispose()


async def _checks(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(bulk.dsn(url))
    try:
        return {name: int(await conn.fetchval(sql) or 0) for name, sql in CHECKS.items()}
    finally:
        await conn.close()


def run() -> SeedFigures:
    load_before = os.getloadavg()[0]
    with fresh_database("whistle_bench_seed") as url:
        phases: dict[str, float] = {}
        seconds, summary = asyncio.run(_load(url, phases))
        load_after = os.getloadavg()[0]
        checks = asyncio.run(_checks(url))
    return SeedFigures(TICKETS, COPIES, STREETS, seconds, load_before, load_after, summary,
                       checks, phases)


def table(f: SeedFigures) -> str:
    rate = f.tickets / f.seconds
    lines = [
        f"`seed_bulk(tickets={f.tickets:,}, streets={f.streets}, copies={f.copies})`: "
        f"{f.summary}. 1-minute load average {f.load_before:.1f} when it began, "
        f"{f.load_after:.1f} when it ended (other sessions share the 2 cores).",
        "",
        "| tickets | copies | seconds | tickets/s | 5M at this rate |",
        "|---|---|---|---|---|",
        f"| {f.tickets:,} | {f.copies} | {f.seconds:,.0f} | {rate:,.0f} | "
        f"{5_000_000 / rate / 60:,.1f} min (extrapolated) |",
        "",
        "| phase | seconds |",
        "|---|---|",
        *(f"| {name} | {value:,.1f} |" for name, value in f.phases.items()),
        "",
        "| check | value |",
        "|---|---|",
        *(f"| {name} | {value:,} |" for name, value in f.checks.items()),
        "",
    ]
    for group in MUST_EQUAL:
        values = {f.checks[n] for n in group}
        verdict = "equal" if len(values) == 1 else "**DIFFER**"
        lines.append(f"- {' = '.join(group)}: {verdict}")
    return "\n".join(lines)
