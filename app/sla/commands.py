"""``whistle sweep --once``, ``whistle worker`` and ``whistle calendar-check`` (registered
by ``app.cli.registry``).

The worker is safe to run in any number of copies against PostgreSQL (see
``app.sla.sweep`` and ``app.reports.backlog``); each pass sweeps the SLA clocks, brings the
report backlog into the rollups and then delivers due webhooks.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from contextlib import suppress
from time import perf_counter
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.config import Settings, get_settings
from app.db import make_engine, unit_of_work
from app.observability import tracing
from app.observability.heartbeat import worker_name
from app.observability.logs import configure_logging
from app.observability.metrics import WORKER_PASSES
from app.observability.repository import record_heartbeat
from app.reports.backlog import drain_round
from app.sla.sweep import SweepReport, sweep_once
from app.webhooks.worker import run_deliveries_once
from app.workflow.pipeline import workflow_sessions

log = logging.getLogger("whistle.worker")


async def _deliver_webhooks(sessions: async_sessionmaker[AsyncSession], clock: Clock,
                            settings: Settings) -> int:
    return await run_deliveries_once(sessions, clock.now(), settings=settings)


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
                     echo: Callable[[str], None] = log.info,
                     tracer_provider: object | None = None) -> None:
    """Run a pass every ``settings.sweep_interval_seconds`` (forever, or ``passes`` times).
    A failing pass is logged and retried at the next interval, never fatal. SIGTERM or
    SIGINT lets the pass under way finish, then the worker says so and returns. After
    every pass the worker's heartbeat (``worker_heartbeats``) says when and what."""
    settings = settings or get_settings()
    clock = clock or Clock()
    engine = make_engine(settings.database_url)
    # The same after-event pipeline as the API process (deadlines, reports, outbox, live).
    sessions = workflow_sessions(engine, settings)
    stop = _stop_on_signals()
    tracer = tracing.worker_tracer(tracer_provider)
    worker, started_at = worker_name(), clock.now()
    done = 0
    try:
        while (passes is None or done < passes) and not stop.is_set():
            began = perf_counter()
            try:
                with tracing.pass_span(tracer):
                    report, refreshed, delivered = await run_pass(
                        sessions=sessions, settings=settings, clock=clock)
                seconds = perf_counter() - began
                figures = {"sweep": str(report), "report_backlog_refreshed": refreshed,
                           "webhook_attempts": delivered}
                WORKER_PASSES.observe(seconds)
                async with unit_of_work(sessions) as session:
                    await record_heartbeat(session, worker=worker, started_at=started_at,
                                           now=clock.now(), pass_seconds=seconds,
                                           figures=figures)
                log.info("worker pass", extra={**figures, "seconds": round(seconds, 3)})
                if echo is not log.info:
                    echo(f"sweep: {report}; report backlog: {refreshed} tickets; "
                         f"webhook attempts: {delivered}")
            except Exception:  # noqa: BLE001 — a worker outlives one bad pass
                log.exception("worker pass failed; retrying in %ss",
                              settings.sweep_interval_seconds)
            done += 1
            if passes is None or done < passes:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), settings.sweep_interval_seconds)
        log.info("worker stopped", extra={"passes": done, "signalled": stop.is_set()})
    finally:
        await engine.dispose()


def _stop_on_signals() -> asyncio.Event:
    """Set on SIGTERM or SIGINT (where the loop can take signals: the main thread)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
    return stop


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


def worker_command(*, passes: int | None = None) -> None:
    """``whistle worker``: sweep, drain the report backlog and deliver webhooks every
    ``WHISTLE_SWEEP_INTERVAL_SECONDS``."""
    settings = get_settings()
    configure_logging(settings.log_renderer, settings.log_level)
    if settings.worker_metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(settings.worker_metrics_port, addr=settings.worker_metrics_host)
    asyncio.run(run_worker(settings=settings, passes=passes, echo=log.info))


def sweep(
    once: Annotated[bool, typer.Option("--once", help="run one sweep now and exit")] = True,
) -> None:
    """One SLA sweep: warnings, breaches, escalations, supervision, whistle deadlines."""
    typer.echo(sweep_command(once=once))


def worker(
    once: Annotated[bool, typer.Option("--once", help="one pass, then exit")] = False,
) -> None:
    """Run the sweep, the report backlog and webhook deliveries every
    WHISTLE_SWEEP_INTERVAL_SECONDS; any number of workers may run against one PostgreSQL
    database. SIGTERM lets the pass under way finish, then the worker exits 0."""
    worker_command(passes=1 if once else None)


def calendar_check() -> None:
    """Exit 1 with a warning when China's holidays and make-up workdays (调休) of this year
    or, from December on, the next are neither in the installed holidays package nor
    entered as overrides for all streets."""
    from zoneinfo import ZoneInfo

    from app.cli import run_in_session
    from app.sla.national_calendar import calendar_status

    settings = get_settings()
    status = run_in_session(lambda session: calendar_status(
        session, now=Clock().now(), zone=ZoneInfo(settings.timezone)))
    for year in status.years:
        source = ("holidays " + status.holidays_version if year.known_to_holidays
                  else f"{year.overrides} overrides" if year.overrides else "unknown")
        typer.echo(f"{year.year}: {source}")
    if status.warning:
        typer.echo(f"warning: {status.warning}", err=True)
        raise typer.Exit(1)
