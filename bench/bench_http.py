"""Whistle's hot HTTP endpoints under ``wrk``, next to a ceiling doing the same database work.

    .venv/bin/python -m bench.run http [--seconds 5] [--quick]

One fresh PostgreSQL database: the reference data, and two department queues of dispatched
tickets too long to drain (one claimed by Whistle, one by the ceiling). Whistle
(``app.main:create_app`` under uvicorn, one worker) and the ceiling (``bench.ceiling_http``)
run side by side; for each endpoint and connection count they are loaded in turn,
A/B/A/B/A/B, and each run records requests per second, p50/p99 latency, non-2xx answers,
the server's CPU time per request (``/proc/<pid>/stat`` before and after) and the 1-minute
load average before it. The report gives the median of each side and the median of the
pairs' ratios (a pair is two adjacent runs, so load drifting on a shared machine falls on
both alike).

Endpoints: ``POST /api/v1/tickets`` (a unique Idempotency-Key per request), claim-next,
``GET /api/v1/tickets/{id}``, the list page (50) and a department's queue page (50).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from bench import bulk, wrk
from bench.harness import cpu_seconds, fresh_database, server_process

SECRET = "bench-secret-" + "x" * 40
PORTS = (int(os.environ.get("WHISTLE_BENCH_PORT", "18550")),
         int(os.environ.get("WHISTLE_BENCH_PORT", "18550")) + 1)
GRID = "BH01-01"
# Claim-next queues: one per side, long enough that no run drains them.
CLAIM_DEPARTMENTS = ("SZ", "YL")
SIDES = ("Whistle", "ceiling")


@dataclass
class Endpoint:
    name: str
    method: str
    paths: tuple[list[str], list[str]]  # per side
    tokens: tuple[str, str]  # per side
    bodies: list[str] = field(default_factory=list)
    idempotency_keys: bool = False

    def script(self, side: int) -> str:
        headers = {"Authorization": f"Bearer {self.tokens[side]}"}
        if self.bodies:
            headers["Content-Type"] = "application/json"
        return wrk.script(method=self.method, headers=headers, paths=self.paths[side],
                          bodies=self.bodies, idempotency_keys=self.idempotency_keys)


@dataclass
class Run:
    endpoint: str
    side: str
    connections: int
    load: float
    result: wrk.WrkResult
    cpu_ms_per_request: float


@dataclass
class Setup:
    post_item: str
    post_department: str
    tokens: dict[str, str]
    claim_staff: dict[str, int]


def _token(actor) -> str:
    from app.auth.tokens import encode_access_token

    return encode_access_token(actor, secret=SECRET, now=datetime.now(UTC), minutes=600)


async def _setup(url: str, queue: int) -> Setup:
    from sqlalchemy import select

    from app.auth.actor import Actor
    from app.auth.models import Role, User
    from app.auth.service import actor_for_user
    from app.db import make_engine, make_sessionmaker

    ref = await bulk.prepare(url)
    conn = await asyncpg.connect(bulk.dsn(url))
    try:
        item = await conn.fetchrow("""
            SELECT i.code, i.primary_department FROM matrix_items i
            WHERE i.handling_level = 'street' AND i.primary_department IS NOT NULL
              AND NOT i.negative_list
              AND i.version_id = (SELECT max(id) FROM matrix_versions)
            ORDER BY i.code LIMIT 1""")
        staff = {}
        now = datetime.now(UTC)
        for code in CLAIM_DEPARTMENTS:
            dept = ref.departments[code]
            await bulk.insert_tickets(conn, ref, department_id=dept, count=queue, now=now,
                                      next_check_from=now + timedelta(days=30),
                                      next_check_step_seconds=1)
            (staff[code],) = await bulk.insert_staff(conn, department_id=dept,
                                                      prefix=f"http_{code.lower()}_", count=1)
        await bulk.vacuum(conn)
    finally:
        await conn.close()
    engine = make_engine(url)
    tokens = {}
    async with make_sessionmaker(engine)() as session:
        for name in ("gw01", "sd"):
            user = (await session.execute(select(User).where(User.username == name))).scalar_one()
            tokens[name] = _token(await actor_for_user(session=session, user=user))
    await engine.dispose()
    for code, user_id in staff.items():
        tokens[code] = _token(Actor(kind="user", id=user_id, role=Role.department_staff,
                                    name=f"staff {code}", department_id=ref.departments[code]))
    return Setup(item["code"], item["primary_department"], tokens, staff)


def _bodies(item: str, n: int = 200) -> list[str]:
    rng = random.Random(7)
    return [json.dumps({"grid": GRID, "item": item,
                        "description": f"路边垃圾堆积，第{i}处，气味很大，请尽快清理"
                                       + "。" * rng.randint(0, 200),
                        "address": f"滨海东路{rng.randint(1, 999)}号",
                        "urgency": "urgent" if rng.random() < 0.2 else "normal"},
                       ensure_ascii=False) for i in range(n)]


async def _ticket_ids(url: str, n: int = 500) -> list[int]:
    conn = await asyncpg.connect(bulk.dsn(url))
    try:
        ids = [r[0] for r in await conn.fetch(
            "SELECT id FROM tickets WHERE grid_id = (SELECT id FROM jurisdictions WHERE code = $1)"
            " ORDER BY id DESC LIMIT $2", GRID, n)]
        await conn.execute("VACUUM (ANALYZE) tickets")
    finally:
        await conn.close()
    random.Random(3).shuffle(ids)
    return ids


async def _queues_left(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(bulk.dsn(url))
    try:
        return {code: await conn.fetchval(
            "SELECT count(*) FROM tickets t JOIN departments d ON d.id = t.department_id "
            "WHERE d.code = $1 AND t.status = 'dispatched'", code) for code in CLAIM_DEPARTMENTS}
    finally:
        await conn.close()


def _one_run(endpoint: Endpoint, side: int, base: str, pid: int, connections: int,
             seconds: float, work_dir: Path) -> Run:
    load = os.getloadavg()[0]
    before = cpu_seconds(pid)
    result = wrk.run(base + endpoint.paths[side][0], endpoint.script(side),
                     connections=connections, seconds=seconds, work_dir=work_dir)
    cpu = cpu_seconds(pid) - before
    per_request = cpu * 1000 / result.requests if result.requests else float("nan")
    return Run(endpoint.name, SIDES[side], connections, load, result, per_request)


def run(seconds: float = 5.0, pairs: int = 3, connections: tuple[int, ...] = (16, 64),
        queue: int = 150_000, only: tuple[str, ...] = ()) -> tuple[list[Run], dict]:
    wrk.ensure_wrk()
    facts: dict = {"seconds": seconds, "pairs": pairs, "queue": queue}
    runs: list[Run] = []
    with (fresh_database("whistle_bench_http") as url,
          tempfile.TemporaryDirectory() as tmp):
        setup = asyncio.run(_setup(url, queue))
        env = {"WHISTLE_DATABASE_URL": url, "WHISTLE_SECRET_KEY": SECRET,
               "WHISTLE_ENV": "production",
               # As many connections as the ceiling's pool: PostgreSQL's max_connections is
               # shared, and overflow connections were refused ("too many clients").
               "WHISTLE_DATABASE_POOL_SIZE": "20", "WHISTLE_DATABASE_MAX_OVERFLOW": "0"}
        ceiling_env = {"CEILING_DSN": bulk.dsn(url), "CEILING_SECRET": SECRET,
                       "CEILING_ITEM": setup.post_item, "CEILING_GRID": GRID}
        with (server_process("app.main:create_app", env=env, factory=True,
                             port=PORTS[0]) as (whistle, whistle_pid),
              server_process("bench.ceiling_http:app", env=ceiling_env,
                             port=PORTS[1]) as (ceiling, ceiling_pid)):
            bases = ((whistle, whistle_pid), (ceiling, ceiling_pid))
            work = Path(tmp)
            t = setup.tokens
            post = Endpoint("POST /api/v1/tickets", "POST",
                            (["/api/v1/tickets"], ["/api/v1/tickets"]),
                            (t["gw01"], t["gw01"]), _bodies(setup.post_item),
                            idempotency_keys=True)
            claim_paths = tuple([f"/api/v1/departments/{code}/queue/claim-next"]
                                for code in CLAIM_DEPARTMENTS)
            claim = Endpoint("POST …/queue/claim-next", "POST", claim_paths,
                             (t[CLAIM_DEPARTMENTS[0]], t[CLAIM_DEPARTMENTS[1]]))
            # Posts first: the reads read what they wrote.
            for side, (base, pid) in enumerate(bases):
                _one_run(post, side, base, pid, 8, 2, work)  # warm-up
            endpoints = [post]
            reads: list[Endpoint] = []
            if not only or "post" in only:
                _measure([post], bases, connections, pairs, seconds, work, runs)
            ids = asyncio.run(_ticket_ids(url))
            get_paths = [f"/api/v1/tickets/{i}" for i in ids]
            reads = [
                Endpoint("GET /api/v1/tickets/{id}", "GET", (get_paths, get_paths),
                         (t["sd"], t["sd"])),
                Endpoint("GET /api/v1/tickets (page of 50)", "GET",
                         (["/api/v1/tickets?limit=50"],) * 2, (t["sd"], t["sd"])),
                Endpoint("GET …/departments/{code}/queue (50)", "GET",
                         ([f"/api/v1/departments/{setup.post_department}/queue?limit=50"],) * 2,
                         (t["sd"], t["sd"])),
            ]
            keys = {"get": reads[0], "list": reads[1], "queue": reads[2], "claim": claim}
            endpoints = [e for k, e in keys.items() if not only or k in only]
            for e in endpoints:
                for side, (base, pid) in enumerate(bases):
                    _one_run(e, side, base, pid, 8, 1, work)  # warm-up
            _measure(endpoints, bases, connections, pairs, seconds, work, runs)
        facts["queues_left"] = asyncio.run(_queues_left(url))
        facts["posted_department"] = setup.post_department
    return runs, facts


def _measure(endpoints, bases, connections, pairs, seconds, work, runs) -> None:
    for endpoint in endpoints:
        for c in connections:
            for _ in range(pairs):
                for side, (base, pid) in enumerate(bases):
                    runs.append(_one_run(endpoint, side, base, pid, c, seconds, work))
                    r = runs[-1]
                    print(f"{r.endpoint} {r.side} c={c} load={r.load:.1f} "
                          f"{r.result.rate:,.0f} req/s p50 {r.result.p50_ms:.1f} ms "
                          f"p99 {r.result.p99_ms:.1f} ms non2xx {r.result.non2xx} "
                          f"cpu {r.cpu_ms_per_request:.2f} ms/req", flush=True)


TARGETS = {"POST /api/v1/tickets": 0.5, "POST …/queue/claim-next": 0.5,
           "GET /api/v1/tickets/{id}": 0.5, "GET /api/v1/tickets (page of 50)": 0.5}


def table(runs: list[Run], facts: dict) -> str:
    med = statistics.median
    lines = [
        f"wrk, {facts['pairs']} pairs of {facts['seconds']:g} s runs per row (Whistle, then "
        "the ceiling, alternating), one uvicorn worker each, the load generator on the same "
        "2 cores. CPU is the server process's own (user + system, `/proc/<pid>/stat`) per "
        "request; PostgreSQL's is not in it.",
        "",
        "| endpoint | conns | Whistle req/s | ceiling req/s | **ratio** (median of pairs) "
        "| Whistle p50 / p99 ms | ceiling p50 / p99 ms | non-2xx W / C "
        "| CPU ms/req W / C | load before each run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    keys = list(dict.fromkeys((r.endpoint, r.connections) for r in runs))
    for endpoint, c in keys:
        w = [r for r in runs if (r.endpoint, r.connections, r.side) == (endpoint, c, "Whistle")]
        b = [r for r in runs if (r.endpoint, r.connections, r.side) == (endpoint, c, "ceiling")]
        ratios = [x.result.rate / y.result.rate for x, y in zip(w, b, strict=True)
                  if y.result.rate]
        ratio = med(ratios) if ratios else float("nan")
        loads = " / ".join(f"{x.load:.1f}" for pair in zip(w, b, strict=True) for x in pair)
        wp99, bp99 = med(x.result.p99_ms for x in w), med(x.result.p99_ms for x in b)
        lines.append(
            f"| {endpoint} | {c} | {med(x.result.rate for x in w):,.0f} | "
            f"{med(x.result.rate for x in b):,.0f} | **{ratio:.0%}** | "
            f"{med(x.result.p50_ms for x in w):.1f} / {wp99:.1f} | "
            f"{med(x.result.p50_ms for x in b):.1f} / {bp99:.1f} | "
            f"{sum(x.result.non2xx + x.result.socket_errors for x in w)} / "
            f"{sum(x.result.non2xx + x.result.socket_errors for x in b)} | "
            f"{med(x.cpu_ms_per_request for x in w):.2f} / "
            f"{med(x.cpu_ms_per_request for x in b):.2f} | {loads} |")
        target = TARGETS.get(endpoint)
        if target is not None:
            verdict = "meets" if ratio >= target else "misses"
            line = (f"- {endpoint}, {c} connections: **{ratio:.0%}** of the ceiling "
                    f"(target ≥ {target:.0%}: {verdict})")
            if c == 16:
                line += (f"; p99 {wp99 / bp99:.1f}× the ceiling's (target ≤ 2×: "
                         f"{'meets' if wp99 <= 2 * bp99 else 'misses'})")
            verdicts.append(line)
    left = ", ".join(f"{code} {n:,}" for code, n in facts["queues_left"].items())
    lines += ["", *verdicts,
              f"- Claim-next queues: {facts['queue']:,} dispatched tickets each "
              f"({CLAIM_DEPARTMENTS[0]} for Whistle, {CLAIM_DEPARTMENTS[1]} for the ceiling); "
              f"left after the runs: {left} (none drained). The queue page lists "
              f"{facts['posted_department']}, where the benchmark's posts go."]
    return "\n".join(lines)
