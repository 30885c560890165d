"""``whistle worker-check``: healthy only while this host's worker passes recently."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from app.db import unit_of_work
from app.observability.commands import check_host
from app.observability.models import WorkerHeartbeat
from app.observability.repository import record_heartbeat


async def test_a_host_is_healthy_while_its_worker_beats(sessions, settings, clock):
    async with unit_of_work(sessions) as session:
        assert (await check_host(session, host="box-a", clock=clock, settings=settings))[0] \
            is False
        await record_heartbeat(session, worker="box-a:42", started_at=clock.now(),
                               now=clock.now(), pass_seconds=0.5, figures={})
        await record_heartbeat(session, worker="box-b:7", started_at=clock.now(),
                               now=clock.now() - timedelta(hours=1), pass_seconds=0.5,
                               figures={})
    try:
        async with unit_of_work(sessions) as session:
            healthy, line = await check_host(session, host="box-a", clock=clock,
                                             settings=settings)
            assert healthy and "box-a:42" in line
            # Another host's stale worker is not this one's health.
            assert (await check_host(session, host="box-b", clock=clock,
                                     settings=settings))[0] is False
        clock.advance(timedelta(seconds=settings.worker_stale_seconds + 1))
        async with unit_of_work(sessions) as session:
            healthy, line = await check_host(session, host="box-a", clock=clock,
                                             settings=settings)
            assert not healthy and "stale" in line
    finally:
        async with unit_of_work(sessions) as session:
            await session.execute(delete(WorkerHeartbeat))
