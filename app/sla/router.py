"""HTTP for whistles (吹哨报到) and street working calendars (工作日历).

Blowing the whistle and reporting in are workflow actions
(``POST /tickets/{id}/whistle``, ``POST /tickets/{id}/report-in``); this router lists them.
Importing it registers the SLA effects and the deadline hook.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response, status

from app.auth.deps import Admin, CurrentActor
from app.deps import ClockDep, SessionDep, SettingsDep
from app.errors import problem_responses
from app.ids import Id, IdPath, Offset
from app.sla import countdown, national_calendar, repository, street_calendars
from app.sla.schemas import (
    CalendarIn,
    CalendarOut,
    CalendarStatusOut,
    CalendarYearOut,
    CountdownOut,
    OverrideIn,
    OverrideOut,
    WhistleDetail,
    WhistlePage,
)
from app.tickets import service as tickets

router = APIRouter()



@router.get("/tickets/{ticket_id}/countdown", operation_id="get_ticket_countdown",
            tags=["tickets"], response_model=CountdownOut,
            summary="What is left of the ticket's limits now, in working time (倒计时)",
            description="The stored deadlines are instants; this counts the minutes left to "
                        "each as the ticket's item counts them (the street's working time, "
                        "holidays and make-up workdays; or plain time for safety items). "
                        "Scope as `GET /tickets/{id}` (404 outside it).",
            responses=problem_responses(401, 404))
async def get_ticket_countdown(ticket_id: IdPath, actor: CurrentActor, session: SessionDep,
                               clock: ClockDep, settings: SettingsDep) -> CountdownOut:
    ticket = (await tickets.get_ticket(session=session, actor=actor, ticket_id=ticket_id)).ticket
    now = clock.now()
    if ticket.sla_state == "paused":  # the clock stands: what it keeps, not a moving figure
        left = countdown.Countdown("working", None, ticket.resolve_remaining_minutes)
    else:
        left = await countdown.countdown(session, ticket, now=now, settings=settings)
    return CountdownOut(now=now, basis=left.basis, sla_state=ticket.sla_state,
                        response_minutes_left=_whole(left.response_minutes_left),
                        resolve_minutes_left=_whole(left.resolve_minutes_left))


def _whole(minutes: float | None) -> int | None:
    return None if minutes is None else int(minutes) if minutes >= 0 else -int(-minutes)


@router.get("/whistles", operation_id="list_whistles", tags=["whistles"],
            response_model=WhistlePage,
            summary="Open and past whistles in scope, newest first, with report-in counts",
            responses=problem_responses(401, 422))
async def list_whistles(
    actor: CurrentActor, session: SessionDep,
    state: Annotated[Literal["open", "closed"] | None,
                     Query(description="only open or only closed whistles")] = None,
    ticket_id: Annotated[Id | None, Query(description="whistles of one ticket")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> WhistlePage:
    items, total = await repository.list_whistles(session, actor=actor, state=state,
                                                  ticket_id=ticket_id, limit=limit,
                                                  offset=offset)
    return WhistlePage(items=items, total=total, limit=limit, offset=offset)


@router.get("/whistles/{whistle_id}", operation_id="get_whistle", tags=["whistles"],
            response_model=WhistleDetail,
            summary="One whistle: who was summoned, who reported in, when, and on time or not",
            responses=problem_responses(401, 404))
async def get_whistle(whistle_id: IdPath, actor: CurrentActor, session: SessionDep) -> WhistleDetail:
    return WhistleDetail(**await repository.get_whistle(session, actor=actor,
                                                        whistle_id=whistle_id))


# --- working calendars (admin) ---------------------------------------------------------------

CALENDAR_NOTE = ("Changes apply to deadlines computed from now on; stored deadlines are not "
                 "recomputed retroactively.")


def _calendar_out(code: str, cal) -> CalendarOut:
    return CalendarOut(street=code, periods=street_calendars.format_periods(cal),
                       timezone=str(cal.timezone), minutes_per_day=cal.minutes_per_day)


@router.get("/calendar/status", operation_id="get_calendar_status", tags=["calendars"],
            response_model=CalendarStatusOut,
            summary="Whether China's holidays and make-up workdays (调休) of this year and, from "
                    "December on, of the next are known",
            responses=problem_responses(401, 403))
async def get_calendar_status(actor: Admin, session: SessionDep, clock: ClockDep,
                              settings: SettingsDep) -> CalendarStatusOut:
    status = await national_calendar.calendar_status(session, now=clock.now(),
                                                     zone=ZoneInfo(settings.timezone))
    return CalendarStatusOut(
        ok=status.ok, warning=status.warning, holidays_version=status.holidays_version,
        years=[CalendarYearOut(year=y.year, known_to_holidays=y.known_to_holidays,
                               overrides=y.overrides, known=y.known) for y in status.years])


@router.get("/calendars/{street_code}", operation_id="get_calendar", tags=["calendars"],
            response_model=CalendarOut, summary="A street's working periods (工作时间)",
            responses=problem_responses(401, 403, 404))
async def get_calendar(street_code: str, actor: Admin, session: SessionDep,
                       settings: SettingsDep) -> CalendarOut:
    street_id = await street_calendars.street_id_for(session, street_code)
    assert street_id is not None
    cal = await street_calendars.get_periods(session=session, street_id=street_id, settings=settings)
    return _calendar_out(street_code, cal)


@router.put("/calendars/{street_code}", operation_id="put_calendar", tags=["calendars"],
            response_model=CalendarOut, summary="Set a street's working periods",
            description=CALENDAR_NOTE, responses=problem_responses(401, 403, 404, 422))
async def put_calendar(street_code: str, payload: CalendarIn, actor: Admin,
                       session: SessionDep, settings: SettingsDep) -> CalendarOut:
    street_id = await street_calendars.street_id_for(session, street_code)
    assert street_id is not None
    cal = await street_calendars.set_periods(session=session, street_id=street_id,
                                      periods=payload.periods, timezone=payload.timezone,
                                      settings=settings)
    return _calendar_out(street_code, cal)


OVERRIDES_DOC = (f"Extra days off or on for a street, or for every street with the code "
                 f"`{street_calendars.ALL_STREETS}`; they win over China's public-holiday calendar. "
                 + CALENDAR_NOTE)


@router.get("/calendars/{street_code}/overrides", operation_id="list_calendar_overrides",
            tags=["calendars"], response_model=list[OverrideOut],
            summary="Local extra days off or on", description=OVERRIDES_DOC,
            responses=problem_responses(401, 403, 404))
async def list_overrides(street_code: str, actor: Admin, session: SessionDep,
                         since: Annotated[date | None, Query()] = None) -> list[OverrideOut]:
    street_id = await street_calendars.street_id_for(session, street_code, allow_all=True)
    rows = await street_calendars.list_overrides(session=session, street_id=street_id, since=since)
    return [OverrideOut.model_validate(r) for r in rows]


@router.post("/calendars/{street_code}/overrides", operation_id="add_calendar_override",
             tags=["calendars"], response_model=OverrideOut, status_code=status.HTTP_201_CREATED,
             summary="Add an extra day off or on", description=OVERRIDES_DOC,
             responses=problem_responses(401, 403, 404, 409, 422))
async def add_override(street_code: str, payload: OverrideIn, actor: Admin,
                       session: SessionDep) -> OverrideOut:
    street_id = await street_calendars.street_id_for(session, street_code, allow_all=True)
    row = await street_calendars.add_override(session=session, street_id=street_id, day=payload.day,
                                       is_working=payload.is_working, note=payload.note)
    return OverrideOut.model_validate(row)


@router.delete("/calendars/{street_code}/overrides/{day}", operation_id="delete_calendar_override",
               tags=["calendars"], status_code=status.HTTP_204_NO_CONTENT,
               summary="Remove an override", responses=problem_responses(401, 403, 404, 422))
async def delete_override(street_code: str, day: date, actor: Admin,
                          session: SessionDep) -> Response:
    street_id = await street_calendars.street_id_for(session, street_code, allow_all=True)
    await street_calendars.delete_override(session=session, street_id=street_id, day=day)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
