"""POST /api/v1/tickets through uvicorn against PostgreSQL, next to a raw-asyncpg baseline.

    .venv/bin/python -m bench.run post [--seconds 10]

Prints throughput, p50 and p99 at 16 and 64 concurrent clients for both, and the ratio;
the two are measured in alternation, three rounds each, pooled.
"""

from __future__ import annotations

import asyncio
import random

from bench.harness import LoadResult, fresh_database, post_load, server

SECRET = "bench-secret-" + "x" * 40


async def _prepare(url: str) -> tuple[str, str]:
    """Migrate, load the reference data; return (gw01's token, a street-level item code)."""
    from sqlalchemy import select

    from app.auth.models import User
    from app.auth.service import actor_for_user
    from app.auth.tokens import encode_access_token
    from app.db import make_engine, make_sessionmaker, unit_of_work, utc_now
    from app.demo.seed import seed_reference
    from app.matrix.models import MatrixItem
    from app.migrate import upgrade_to_head

    engine = make_engine(url)
    await upgrade_to_head(engine)
    sessions = make_sessionmaker(engine)
    async with unit_of_work(sessions) as session:
        await seed_reference(session=session)
    async with sessions() as session:
        user = (await session.execute(select(User).where(User.username == "gw01"))).scalar_one()
        actor = await actor_for_user(session=session, user=user)
        item = (await session.execute(select(MatrixItem.code).where(
            MatrixItem.handling_level == "street").order_by(MatrixItem.code))).scalars().first()
    await engine.dispose()
    return encode_access_token(actor, secret=SECRET, now=utc_now(), minutes=600), item


def bodies(item: str, n: int = 500) -> list[dict]:
    rng = random.Random(7)
    return [{"grid": "BH01-01", "item": item,
             "description": f"路边垃圾堆积，第{i}处，气味很大，请尽快清理" + "。" * rng.randint(0, 200),
             "address": f"滨海东路{rng.randint(1, 999)}号",
             "urgency": "urgent" if rng.random() < 0.2 else "normal"} for i in range(n)]


def run(seconds: float = 10.0, concurrencies: tuple[int, ...] = (16, 64),
        rounds: int = 3) -> list[LoadResult]:
    """Both servers up at once (an idle one costs nothing); Whistle and the baseline loaded
    in turn, ``rounds`` times per concurrency, so that load drifting on a shared machine
    falls on both alike. Each path's figures pool its rounds."""
    with fresh_database("whistle_bench_post") as url:
        token, item = asyncio.run(_prepare(url))
        payloads = bodies(item)
        env = {"WHISTLE_DATABASE_URL": url, "WHISTLE_SECRET_KEY": SECRET,
               "WHISTLE_ENV": "production", "WHISTLE_CACHE_CHECK_SECONDS": "5"}
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        paths = (("Whistle POST /api/v1/tickets", {"Authorization": f"Bearer {token}"}),
                 ("baseline: raw asyncpg, same rows", {}))
        with (server("app.main:create_app", env=env, factory=True) as whistle,
              server("bench.baseline_post:app",
                     env={"BASELINE_DSN": dsn, "BASELINE_ITEM": item}) as baseline):
            bases = dict(zip((label for label, _ in paths), (whistle, baseline), strict=True))
            for label, headers in paths:
                post_load("warm-up", bases[label], "/api/v1/tickets", headers=headers,
                          bodies=payloads, concurrency=8, seconds=2)
            runs: dict[tuple[str, int], list[LoadResult]] = {}
            for c in concurrencies:
                for _ in range(rounds):
                    for label, headers in paths:
                        runs.setdefault((label, c), []).append(post_load(
                            label, bases[label], "/api/v1/tickets", headers=headers,
                            bodies=payloads, concurrency=c, seconds=seconds))
    return [pooled(results) for results in runs.values()]


def pooled(results: list[LoadResult]) -> LoadResult:
    first = results[0]
    return LoadResult(first.label, first.concurrency, sum(r.requests for r in results),
                      sum(r.errors for r in results), sum(r.seconds for r in results),
                      [ms for r in results for ms in r.latencies_ms])
