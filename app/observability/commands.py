"""``whistle worker-check`` (registered by ``app.cli.registry``): the worker container's
health check. Healthy while a worker process on this host has ended a pass within
``WHISTLE_WORKER_STALE_SECONDS``."""

from __future__ import annotations

import asyncio
import socket

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.config import Settings
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.observability.heartbeat import is_stale
from app.observability.models import WorkerHeartbeat


async def check_host(session: AsyncSession, *, host: str, clock: Clock,
                     settings: Settings) -> tuple[bool, str]:
    """Whether ``host``'s newest heartbeat is fresh, and a line saying so."""
    beat = (await session.scalars(
        select(WorkerHeartbeat).where(WorkerHeartbeat.worker.startswith(f"{host}:"))
        .order_by(WorkerHeartbeat.beat_at.desc()).limit(1))).first()
    if beat is None:
        return False, f"no worker on {host} has ended a pass"
    if is_stale(beat, now=clock.now(), settings=settings):
        return False, f"{beat.worker}'s last pass ended at {beat.beat_at.isoformat()}: stale"
    return True, f"{beat.worker}'s last pass ended at {beat.beat_at.isoformat()}"


def worker_check_command(settings: Settings) -> tuple[bool, str]:
    async def _main() -> tuple[bool, str]:
        engine = make_engine(settings.database_url)
        try:
            async with unit_of_work(make_sessionmaker(engine)) as session:
                return await check_host(session, host=socket.gethostname(), clock=Clock(),
                                        settings=settings)
        finally:
            await engine.dispose()

    return asyncio.run(_main())


def worker_check() -> None:
    """Exit 0 while a worker on this host has ended a pass recently (a container health
    check); 1 when its heartbeat is stale or missing."""
    import typer

    from app.config import get_settings

    healthy, line = worker_check_command(get_settings())
    typer.echo(line, err=not healthy)
    if not healthy:
        raise typer.Exit(1)
