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
import resource
import threading
import time
from dataclasses import dataclass
from pathlib import Path

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
    load_mean: float = 0.0
    loader_cpu: float = 0.0
    postgres_cpu: float = 0.0
    phase_cpu: dict[str, tuple[float, float]] | None = None


class PhaseCpu(dict):
    """``seed_bulk``'s ``phases`` dict that also notes, as each phase is recorded, the CPU
    seconds the loader and PostgreSQL's backends spent in it."""

    def __init__(self, watch: CpuWatch) -> None:
        super().__init__()
        self.watch = watch
        self.cpu: dict[str, tuple[float, float]] = {}
        self.start()

    def start(self) -> None:
        self.last = (self.watch.loader(), self.watch.postgres())

    def __setitem__(self, name: str, seconds: float) -> None:
        super().__setitem__(name, seconds)
        now = (self.watch.loader(), self.watch.postgres())
        self.cpu[name] = (now[0] - self.last[0], now[1] - self.last[1])
        self.last = now


class CpuWatch:
    """CPU seconds of this process (the loader) and of the PostgreSQL backends serving the
    bench database (and their parallel workers), sampled from ``/proc`` twice a second: the
    machine is shared, so wall time alone says little. A backend's counters vanish with it,
    so each is remembered at its last sample (the load's own connection lives to the end)."""

    def __init__(self, database: str) -> None:
        self.marker = f" {database} ".encode()
        self.seen: dict[int, float] = {}
        self.loads: list[float] = []
        self.tick = os.sysconf("SC_CLK_TCK")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _cpu(self, pid: int) -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.tick  # utime + stime

    def sample(self) -> None:
        backends = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmd = (entry / "cmdline").read_bytes()
                if not cmd.startswith(b"postgres: "):
                    continue
                pid = int(entry.name)
                if self.marker in cmd or b"parallel worker" in cmd and any(
                        f"PID {b}".encode() in cmd for b in self.seen):
                    backends.add(pid)
                    self.seen[pid] = self._cpu(pid)
            except (OSError, ValueError, IndexError):
                continue
        self.loads.append(os.getloadavg()[0])

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            self.sample()

    def postgres(self) -> float:
        self.sample()
        return sum(self.seen.values())

    @staticmethod
    def loader() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime


async def _load(url: str, phases: dict[str, float],
                watch: CpuWatch | None = None) -> tuple[float, str]:
    from app.db import make_engine
    from app.demo.bulk import seed_bulk
    from app.migrate import upgrade_to_head

    engine = make_engine(url)
    try:
        await upgrade_to_head(engine)
        if isinstance(phases, PhaseCpu):
            phases.start()  # after the imports and the migrations
        t0 = time.perf_counter()
        summary = await seed_bulk(engine=engine, tickets=TICKETS, streets=STREETS, days=365,
                                  copies=COPIES, phases=phases)
        if watch is not None:
            watch.sample()
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
        watch = CpuWatch(url.rsplit("/", 1)[1])
        watch.thread.start()
        loader_before = watch.loader()
        phases = PhaseCpu(watch)
        seconds, summary = asyncio.run(_load(url, phases, watch))
        loader_cpu, postgres_cpu = watch.loader() - loader_before, watch.postgres()
        watch.stop.set()
        load_after = os.getloadavg()[0]
        checks = asyncio.run(_checks(url))
    return SeedFigures(TICKETS, COPIES, STREETS, seconds, load_before, load_after, summary,
                       checks, phases, sum(watch.loads) / max(len(watch.loads), 1),
                       loader_cpu, postgres_cpu, phases.cpu)


def table(f: SeedFigures) -> str:
    rate = f.tickets / f.seconds
    lines = [
        f"`seed_bulk(tickets={f.tickets:,}, streets={f.streets}, copies={f.copies})`: "
        f"{f.summary}. 1-minute load average {f.load_before:.1f} when it began, "
        f"{f.load_after:.1f} when it ended, {f.load_mean:.1f} on average (other sessions "
        f"share the 2 cores). CPU: the loader {f.loader_cpu:,.0f} s, PostgreSQL's backends "
        f"{f.postgres_cpu:,.0f} s (together {(f.loader_cpu + f.postgres_cpu) / f.seconds:.0%} "
        f"of one core over the wall time).",
        "",
        "| tickets | copies | seconds | tickets/s | 5M at this rate |",
        "|---|---|---|---|---|",
        f"| {f.tickets:,} | {f.copies} | {f.seconds:,.0f} | {rate:,.0f} | "
        f"{5_000_000 / rate / 60:,.1f} min (extrapolated) |",
        "",
        "| phase | seconds | CPU s: loader | CPU s: PostgreSQL |",
        "|---|---|---|---|",
        *(f"| {name} | {value:,.1f} | {cpu[0]:,.1f} | {cpu[1]:,.1f} |"
          for name, value in f.phases.items()
          for cpu in [(f.phase_cpu or {}).get(name, (float("nan"), float("nan")))]),
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
