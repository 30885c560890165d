"""HTTP for the supervisor reports: the SLA report and the rankings, as JSON or CSV. Report
GETs write: they drain the report backlog into the rollups first, in the request's one
transaction (``service.begin_read``). Importing it registers the rollup hook
(``app.reports.facts_step``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from app.auth.deps import CurrentActor
from app.deps import ClockDep, SessionDep, SettingsDep
from app.errors import problem_responses
from app.reports import csvout, rankings, service
from app.reports.queries import DIMENSIONS
from app.reports.schemas import RankingsOut, SlaReportOut
from app.reports.scope import RequestFilters

router = APIRouter(tags=["reports"])

FORMULAS = (Path(__file__).parent / "FORMULAS.md").read_text(encoding="utf-8")
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {"schema": {"type": "string"}},
                                  csvout.XLSX_MEDIA_TYPE: {"schema": {"type": "string",
                                                                      "format": "binary"}}},
                      "description": "JSON by default; CSV (UTF-8 with BOM) with format=csv; "
                      "Excel with format=xlsx (rates formatted as percentages)"}}
Format = Literal["json", "csv", "xlsx"]
# Reports cover the years a deployment can have data for: a date at the calendar's edge
# (0001-01-01, 9999-12-31) overflows the period arithmetic.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
From = Annotated[date, Query(alias="from", ge=FIRST_DAY, le=LAST_DAY,
                             description="first reporting day (Asia/Shanghai), 2000-2100")]
To = Annotated[date, Query(ge=FIRST_DAY, le=LAST_DAY,
                           description="last reporting day, inclusive, 2000-2100")]
# A weight is a finite number up to MAX_WEIGHT: infinity, or one so large that the weighted
# sum overflows, would make every score null or equal.
MAX_WEIGHT = 1000.0


def _weight(description: str) -> Any:
    return Query(ge=0, le=MAX_WEIGHT, allow_inf_nan=False, description=description)
FormatQ = Annotated[Format, Query(description="json, or csv / xlsx for Excel")]
LangQ = Annotated[csvout.Lang, Query(description="CSV / xlsx header language")]


def _file(table: csvout.Table, format: str, stem: str) -> Response:  # noqa: A002
    content, media_type = ((table.xlsx(), csvout.XLSX_MEDIA_TYPE) if format == "xlsx"
                           else (table.csv(), "text/csv; charset=utf-8"))
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{stem}.{format}"'})


def _split(values: list[str]) -> list[str]:
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


@router.get("/reports/sla", operation_id="get_sla_report", response_model=SlaReportOut,
            summary="SLA report: counts, rates and durations of the tickets reported in a range",
            description="Grouped by any of " + ", ".join(DIMENSIONS) + ", optionally as a "
            "time series; confined to the caller's scope (supervisors: their subtree; "
            "department leads: their department; dispatchers: their node).\n\n" + FORMULAS,
            responses={**CSV_RESPONSE, **problem_responses(401, 403, 404, 422)})
async def get_sla_report(
    actor: CurrentActor, session: SessionDep, clock: ClockDep, settings: SettingsDep,
    start: From, to: To,
    group_by: Annotated[list[str], Query(description="one or more of " + ", ".join(DIMENSIONS)
                                         + " (repeat the parameter or separate by commas)")]
    = [],  # noqa: B006  (FastAPI copies query defaults)
    series: Annotated[service.Series | None, Query(description="a row per day, week or "
                                                   "month")] = None,
    jurisdiction: Annotated[str | None, Query(description="a street, community or grid code "
                                              "inside your scope")] = None,
    department: Annotated[str | None, Query(description="a department code")] = None,
    category: Annotated[str | None, Query(description="a category code, 01-07")] = None,
    percentiles: Annotated[bool, Query(
        description="false: the four duration percentiles (claim_minutes_p50 …) are null "
        "and their histograms are not read — much faster over long ranges or many groups "
        "when only counts and rates are wanted (the dashboard's trend and map)")] = True,
    format: FormatQ = "json",
    lang: LangQ = "zh",
):
    request = service.ReportRequest(
        start=start, end=to, group_by=service.check_group_by(_split(group_by)), series=series,
        filters=RequestFilters(jurisdiction=jurisdiction, department=department,
                               category=category), percentiles=percentiles)
    report = await service.sla_report(session=session, actor=actor, request=request,
                                      now=clock.now(), settings=settings)
    if format != "json":
        return _file(csvout.report_table(report, lang), format, f"sla-report-{start}-{to}")
    return SlaReportOut(
        from_=start, to=to, group_by=list(request.group_by), series=series,
        jurisdiction=jurisdiction, department=department, category=category,
        generated_at=report.generated_at, total=report.total,
        rows=[{"group": {d: {"code": label.code, "name": label.name}
                         for d, label in row.group.items()},
               "period": row.period, "metrics": row.metrics} for row in report.rows])


@router.get("/reports/rankings", operation_id="get_rankings", response_model=RankingsOut,
            summary="Departments or communities ranked by a weighted 三率 score, with the "
            "movement since the previous period of the same length",
            description=rankings.__doc__ or "",
            responses={**CSV_RESPONSE, **problem_responses(401, 403, 404, 422)})
async def get_rankings(
    actor: CurrentActor, session: SessionDep, settings: SettingsDep, start: From, to: To,
    by: Annotated[rankings.RankBy, Query(description="what to rank")] = "department",
    w_response: Annotated[float, _weight("weight of the on-time response rate")]
    = rankings.DEFAULT_WEIGHTS["response"],
    w_resolution: Annotated[float, _weight("weight of the resolution rate")]
    = rankings.DEFAULT_WEIGHTS["resolution"],
    w_satisfaction: Annotated[float, _weight("weight of the satisfaction rate")]
    = rankings.DEFAULT_WEIGHTS["satisfaction"],
    jurisdiction: Annotated[str | None, Query(description="rank within this street, "
                                              "community or grid")] = None,
    format: FormatQ = "json",
    lang: LangQ = "zh",
):
    weights = {"response": w_response, "resolution": w_resolution,
               "satisfaction": w_satisfaction}
    ranking = await rankings.rankings(session=session, actor=actor, by=by, start=start,
                                      end=to, weights=weights, jurisdiction=jurisdiction,
                                      settings=settings)
    if format != "json":
        return _file(csvout.ranking_table(ranking, lang), format, f"rankings-{by}-{start}-{to}")
    return RankingsOut(
        by=by, from_=start, to=to, previous_from=ranking.previous_start,
        previous_to=ranking.previous_end, weights=weights,
        entries=[{"rank": e.rank, "code": e.code, "name": e.name, "score": e.score, **e.rates,
                  "valid": e.valid, "previous_rank": e.previous_rank,
                  "previous_score": e.previous_score, "movement": e.movement}
                 for e in ranking.entries])
