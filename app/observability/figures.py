"""The service's own figures for ``/metrics``: read from the database when scraped, and
kept ``WHISTLE_METRICS_CACHE_SECONDS`` so that several scrapers (or a scraper per API
process) cost one set of queries.

    whistle_open_tickets{level,status,sla_state}     open tickets (overdue and warning
                                                     counts are its sla_state series)
    whistle_tickets_overdue / _warning               the same, summed, for alert rules
    whistle_queue_depth{department}                  tickets waiting to be claimed (top 50)
    whistle_report_backlog                           tickets waiting to enter the rollups
    whistle_outbox_pending / _oldest_age_seconds     webhook messages not yet delivered
    whistle_outbox_dead                              messages given up on
    whistle_worker_last_pass_timestamp_seconds       the newest worker heartbeat
    whistle_worker_last_pass_duration_seconds
    whistle_worker_heartbeat_age_seconds / _stale    1 when no worker has passed recently
    whistle_calendar_year_known{year}                0 when China's holidays and 调休 of a
                                                     year that matters now are not known
    whistle_calendar_unknown_years                   how many such years (alert on > 0)
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from app.db import unit_of_work
from app.observability.heartbeat import is_stale
from app.observability.repository import ServiceFigures, service_figures
from app.sla.national_calendar import CalendarStatus, calendar_status


class _Figures:
    """A collector over one reading of the figures."""

    def __init__(self, figures: ServiceFigures, now_ts: float, *, stale: bool,
                 calendar: CalendarStatus) -> None:
        self.figures, self.now_ts, self.stale = figures, now_ts, stale
        self.calendar = calendar

    def collect(self) -> Iterator[Metric]:
        f = self.figures
        tickets = GaugeMetricFamily("whistle_open_tickets", "open tickets",
                                    labels=["level", "status", "sla_state"])
        for (level, status, state), n in sorted(f.open_tickets.items()):
            tickets.add_metric([level, status, state], n)
        yield tickets
        for state in ("overdue", "warning"):
            yield GaugeMetricFamily(f"whistle_tickets_{state}", f"open tickets {state}",
                                    value=sum(n for (_, _, s), n in f.open_tickets.items()
                                              if s == state))
        queues = GaugeMetricFamily("whistle_queue_depth",
                                   "tickets waiting in a department's queue (dispatched)",
                                   labels=["department"])
        for code, n in sorted(f.queue_depth.items()):
            queues.add_metric([code], n)
        yield queues
        yield GaugeMetricFamily("whistle_report_backlog",
                                "tickets waiting to be brought into the report rollups",
                                value=f.report_backlog)
        yield GaugeMetricFamily("whistle_outbox_pending", "webhook messages not yet delivered",
                                value=f.outbox_pending)
        oldest = (self.now_ts - f.outbox_oldest_at.timestamp()) if f.outbox_oldest_at else 0.0
        yield GaugeMetricFamily("whistle_outbox_oldest_age_seconds",
                                "age of the oldest undelivered webhook message", value=oldest)
        yield GaugeMetricFamily("whistle_outbox_dead", "webhook messages given up on",
                                value=f.outbox_dead)
        beat = f.heartbeat
        if beat is not None:
            yield GaugeMetricFamily("whistle_worker_last_pass_timestamp_seconds",
                                    "when the newest worker pass ended",
                                    value=beat.beat_at.timestamp())
            yield GaugeMetricFamily("whistle_worker_last_pass_duration_seconds",
                                    "how long the newest worker pass took",
                                    value=beat.pass_seconds)
            yield GaugeMetricFamily("whistle_worker_heartbeat_age_seconds",
                                    "seconds since the newest worker pass ended",
                                    value=self.now_ts - beat.beat_at.timestamp())
        yield GaugeMetricFamily("whistle_worker_stale",
                                "1 when no worker has passed within WHISTLE_WORKER_STALE_SECONDS",
                                value=float(self.stale))
        known = GaugeMetricFamily("whistle_calendar_year_known",
                                  "1 when the year's official holidays and make-up workdays "
                                  "are known (holidays package or overrides for all streets)",
                                  labels=["year"])
        for year in self.calendar.years:
            known.add_metric([str(year.year)], float(year.known))
        yield known
        yield GaugeMetricFamily("whistle_calendar_unknown_years",
                                "years that matter now whose holidays and 调休 are not known",
                                value=sum(not y.known for y in self.calendar.years))


async def read(app: Any) -> bytes:
    """Read the figures now and render them in the exposition format."""
    now = app.state.clock.now()
    async with unit_of_work(app.state.sessions) as session:
        figures = await service_figures(session)
        calendar = await calendar_status(session, now=now,
                                         zone=ZoneInfo(app.state.settings.timezone))
    registry = CollectorRegistry(auto_describe=False)
    stale = is_stale(figures.heartbeat, now=now, settings=app.state.settings)
    registry.register(_Figures(figures, now.timestamp(), stale=stale, calendar=calendar))
    return generate_latest(registry)


async def cached(app: Any) -> bytes:
    """The figures, read at most once per ``metrics_cache_seconds`` in this process."""
    state = app.state
    if getattr(state, "figures_lock", None) is None:
        state.figures_lock, state.figures_cache = asyncio.Lock(), (float("-inf"), b"")
    loop = asyncio.get_running_loop()
    async with state.figures_lock:
        expires, text = state.figures_cache
        if loop.time() >= expires:
            text = await read(app)
            state.figures_cache = (loop.time() + state.settings.metrics_cache_seconds, text)
        return text
