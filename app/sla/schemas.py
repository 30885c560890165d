"""Response and request bodies of the whistle and calendar endpoints."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SummonsOut(BaseModel):
    department: str
    department_name: str
    due_at: datetime
    reported_in_at: datetime | None
    reported_by: str | None = Field(description="display name of the staff member who reported in")
    on_time: bool | None
    missed_at: datetime | None = Field(description="when the sweep found the deadline missed")


class WhistleOut(BaseModel):
    id: int
    ticket_id: int
    ticket_number: str
    street: str
    auto: bool = Field(description="blown by the automatic policy, not by a dispatcher")
    blown_by: str | None
    reason: str
    blown_at: datetime
    report_in_due_at: datetime
    closed_at: datetime | None
    summoned: int
    reported_in: int
    on_time: int
    missed: int


class WhistleDetail(WhistleOut):
    summons: list[SummonsOut]


class WhistlePage(BaseModel):
    items: list[WhistleOut]
    total: int
    limit: int
    offset: int


class CalendarOut(BaseModel):
    street: str
    periods: str = Field(examples=["08:30-12:00,14:00-17:30"])
    timezone: str
    minutes_per_day: float


class CalendarIn(_Body):
    periods: str = Field(min_length=11, max_length=200, examples=["08:30-12:00,14:00-17:30"],
                         description="working periods of a day, HH:MM-HH:MM, comma-separated")
    timezone: str | None = Field(None, max_length=64, examples=["Asia/Shanghai"])


class OverrideIn(_Body):
    day: date
    is_working: bool = Field(description="true: an extra working day; false: an extra day off")
    note: str = Field("", max_length=200)


class OverrideOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: date
    is_working: bool
    note: str


class CalendarYearOut(BaseModel):
    year: int
    known_to_holidays: bool = Field(description="the installed holidays package lists the "
                                    "State Council's arrangements (调休) of this year")
    overrides: int = Field(description="overrides for all streets entered for this year")
    known: bool


class CalendarStatusOut(BaseModel):
    ok: bool
    warning: str | None
    holidays_version: str
    years: list[CalendarYearOut]


class CountdownOut(BaseModel):
    """What is left of a ticket's limits at ``now``, counted as its item counts them."""

    now: datetime
    basis: str = Field(description="working: minutes of the street's working time; "
                                    "calendar: plain minutes (safety items)")
    sla_state: str
    response_minutes_left: int | None = Field(
        description="until it must be signed for (null once claimed, or while paused); "
                    "negative: overdue by that much")
    resolve_minutes_left: int | None = Field(
        description="until it must be resolved (null once resolved; while paused, the "
                    "minutes the stopped clock keeps); negative: overdue by that much")
