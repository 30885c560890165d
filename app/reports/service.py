"""The SLA report (统计报表) and the rankings (排名): sums over the rollups for the caller's
scope and range, turned into the metrics of ``app.reports.metrics``. Every read starts with
``begin_read``, which brings the report backlog into the rollups first."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.config import Settings
from app.errors import InvalidInput
from app.messages import M
from app.reports import backlog, queries
from app.reports.labels import Label, labels
from app.reports.metrics import derive
from app.reports.queries import Group, Selection
from app.reports.scope import RequestFilters, resolve_filters

Series = Literal["day", "week", "month"]
MAX_DAYS = 1096  # three years: longer ranges are exports, not reports


@dataclass(frozen=True, slots=True)
class ReportRequest:
    start: date
    end: date
    group_by: tuple[str, ...] = ()
    series: Series | None = None
    filters: RequestFilters = field(default_factory=RequestFilters)
    # False: the duration percentiles are left null and their histograms not read — the
    # biggest rollup by far (one row per bucket besides each daily row), which a caller
    # showing only counts and rates (the dashboard's trend and map) need not pay for.
    percentiles: bool = True


@dataclass(slots=True)
class Row:
    group: dict[str, Label]
    period: str | None
    metrics: dict[str, Any]


@dataclass(slots=True)
class Report:
    request: ReportRequest
    rows: list[Row]
    total: dict[str, Any]
    generated_at: datetime


async def begin_read(session: AsyncSession, *, settings: Settings) -> None:
    """What every report read does first, in the request's transaction: drain the report
    backlog (so the rollups count every change committed before the read — waiting for a
    batch the worker is in the middle of), then plan the report's own statements."""
    await backlog.drain_all(session, settings=settings)
    await queries.plan_each_report(session)


def check_range(start: date, end: date) -> None:
    if end < start:
        raise InvalidInput.at(["query", "to"], M("report.to_before_from", end=end, start=start))
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput.at(["query", "to"], M("report.too_many_days", days=MAX_DAYS))


def check_group_by(values: list[str]) -> tuple[str, ...]:
    dims: list[str] = []
    for index, value in enumerate(values):
        if value not in queries.DIMENSIONS:
            raise InvalidInput.at(["query", "group_by", index], M(
                "report.no_dimension", value=value, known=", ".join(queries.DIMENSIONS)))
        if value not in dims:
            dims.append(value)
    return tuple(dims)


def period_of(day: date | None, series: Series | None) -> str | None:
    if day is None or series is None:
        return None
    if series == "week":  # ISO weeks, named by their Monday
        return (day - timedelta(days=day.weekday())).isoformat()
    if series == "month":
        return f"{day:%Y-%m}"
    return day.isoformat()


@dataclass(slots=True)
class _Cell:
    counts: Counter = field(default_factory=Counter)
    histograms: dict[str, Counter] = field(default_factory=dict)

    def add(self, counts: Mapping[str, int], histograms: Mapping[str, Counter]) -> None:
        self.counts.update(counts)
        for measure, histogram in histograms.items():
            self.histograms.setdefault(measure, Counter()).update(histogram)


async def _cells(session: AsyncSession, selection: Selection, series: Series | None,
                 now: datetime, *, percentiles: bool = True
                 ) -> dict[tuple[Group, str | None], _Cell]:
    """(group, period) → summed counters and histograms of the selection (no histograms
    without ``percentiles``)."""
    counts = await queries.counter_sums(session, selection)
    hists = await queries.histograms(session, selection) if percentiles else {}
    overdue = await queries.overdue_now(session, selection, now=now)
    cells: dict[tuple[Group, str | None], _Cell] = {}
    for group, day in counts.keys() | hists.keys() | overdue.keys():
        cell = cells.setdefault((group, period_of(day, series)), _Cell())
        cell.add({**counts.get((group, day), {}), "overdue_now": overdue.get((group, day), 0)},
                 hists.get((group, day), {}))
    return cells


async def sla_report(*, session: AsyncSession, actor: Actor, request: ReportRequest,
                     now: datetime, settings: Settings) -> Report:
    check_range(request.start, request.end)
    filters = await resolve_filters(session, actor, request.filters)
    await begin_read(session, settings=settings)
    selection = Selection(request.start, request.end, request.group_by, filters,
                          series=request.series)
    cells = await _cells(session, selection, request.series, now,
                         percentiles=request.percentiles)
    names = {dim: await labels(session, dim, (g[i] for g, _ in cells))
             for i, dim in enumerate(request.group_by)}
    total = _Cell()
    rows = []
    for (group, period), cell in cells.items():
        total.add(cell.counts, cell.histograms)
        rows.append(Row({dim: names[dim][group[i]] for i, dim in enumerate(request.group_by)},
                        period, derive(cell.counts, cell.histograms)))
    rows.sort(key=lambda r: (*((label.code is None, label.code or "") for label in
                               r.group.values()), r.period or ""))
    return Report(request, rows, derive(total.counts, total.histograms), now)
