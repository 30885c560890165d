"""``whistle sweep --once`` and ``whistle worker``: plain functions the CLI wires in.

The worker is safe to run in any number of copies against PostgreSQL (see
``app.sla.sweep`` and ``app.reports.backlog``); each pass sweeps the SLA clocks, brings the
report backlog into the rollups and then delivers due webhooks.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.config import Settings, get_settings
from app.db import make_engine
from app.reports.backlog import drain_round
from app.sla.sweep import SweepReport, sweep_once
from app.workflow.pipeline import workflow_sessions

log = logging.getLogger("whistle.worker")


async def _deliver_webhooks(sessions: async_sessionmaker[AsyncSession], clock: Clock,
                            settings: Settings) -> int:
    try:
        worker = importlib.import_module("app.webhooks.worker")
    except ImportError:
        return 0
    return await worker.run_deliveries_once(sessions, clock.now(), settings=settings)


async def run_pass(*, sessions: async_sessionmaker[AsyncSession], settings: Settings,
                   clock: Clock) -> tuple[SweepReport, int, int]:
    """One pass of the worker: the SLA sweep, the report backlog (up to a cap, so that a
    long backlog cannot hold up the other steps; the rest waits for the next pass), then
    webhook deliveries and the notification outbox. Returns the sweep's report, the tickets
    whose report facts were refreshed and the webhook delivery attempts."""
    report = await sweep_once(sessions=sessions, now=clock.now(), settings=settings)
    refreshed = await drain_round(sessions, settings=settings)
    delivered = await _deliver_webhooks(sessions, clock, settings)
    from app.retention import housekeeping  # above the domains it prunes

    await housekeeping(sessions, now=clock.now(), settings=settings)  # hourly: prune, calendar
    # Notifications: inbox entries are written with their events; their outbox goes here.
    from app.notifications.worker import notifications_pass

    sent = await notifications_pass(sessions, clock.now(), settings=settings)
    if sent:
        log.info("notification attempts: %s", sent)
    return report, refreshed, delivered


async def run_worker(*, settings: Settings | None = None, clock: Clock | None = None,
                     passes: int | None = None,
                     echo: Callable[[str], None] = log.info) -> None:
    """Run a pass every ``settings.sweep_interval_seconds`` (forever, or ``passes`` times).
    A failing pass is logged and retried at the next interval, never fatal."""
    settings = settings or get_settings()
    clock = clock or Clock()
    engine = make_engine(settings.database_url)
    # The same after-event pipeline as the API process (deadlines, reports, outbox, live).
    sessions = workflow_sessions(engine, settings)
    done = 0
    try:
        while passes is None or done < passes:
            try:
                report, refreshed, delivered = await run_pass(
                    sessions=sessions, settings=settings, clock=clock)
                echo(f"sweep: {report}; report backlog: {refreshed} tickets; "
                     f"webhook attempts: {delivered}")
            except Exception:  # noqa: BLE001 — a worker outlives one bad pass
                log.exception("worker pass failed; retrying in %ss",
                              settings.sweep_interval_seconds)
            done += 1
            if passes is None or done < passes:
                await asyncio.sleep(settings.sweep_interval_seconds)
    finally:
        await engine.dispose()


def sweep_command(*, once: bool = True) -> str:
    """``whistle sweep --once``: one sweep now; returns the summary line."""
    settings = get_settings()

    async def _main() -> SweepReport:
        engine = make_engine(settings.database_url)
        try:
            return await sweep_once(sessions=workflow_sessions(engine, settings),
                                    now=Clock().now(),
                                    settings=settings)
        finally:
            await engine.dispose()

    if not once:
        asyncio.run(run_worker(settings=settings, echo=print))
        return "worker stopped"
    return f"sweep: {asyncio.run(_main())}"


def worker_command() -> None:
    """``whistle worker``: sweep, drain the report backlog and deliver webhooks every
    ``WHISTLE_SWEEP_INTERVAL_SECONDS``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(run_worker(settings=get_settings(), echo=log.info))
