"""Request and response bodies of the tickets API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.ids import Id
from app.jurisdiction.coordinates import (
    DEFAULT_SYSTEM,
    SYSTEM_DESCRIPTION,
    CoordinateSystem,
    to_wgs84,
)
from app.tickets.models import Source, Status, Urgency

PHONE_PATTERN = r"^\+?[0-9][0-9 \-]{5,19}$"


class Location(BaseModel):
    """A point as Whistle answers it: WGS-84 unless the request asked for another system."""

    lat: float = Field(ge=-90, le=90, description="latitude, degrees")
    lon: float = Field(ge=-180, le=180, description="longitude, degrees")
    coordinate_system: CoordinateSystem = Field(
        DEFAULT_SYSTEM, description="the system lat/lon are in: wgs84 as stored, or the "
                                    "coordinate_system the request asked for")


class LocationIn(BaseModel):
    """A point as a client sends it, in the coordinate system its map kit reports. It is
    converted to WGS-84 on receipt: after validation ``lat``/``lon`` are WGS-84 and
    ``coordinate_system`` is ``wgs84``, so everything downstream sees one system."""

    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90, description="latitude, degrees")
    lon: float = Field(ge=-180, le=180, description="longitude, degrees")
    coordinate_system: CoordinateSystem = Field(DEFAULT_SYSTEM, description=SYSTEM_DESCRIPTION)

    @model_validator(mode="after")
    def _to_wgs84(self) -> LocationIn:
        if self.coordinate_system is not CoordinateSystem.wgs84:
            self.lat, self.lon = to_wgs84(self.lat, self.lon, self.coordinate_system)
            self.coordinate_system = CoordinateSystem.wgs84
        return self


class Reporter(BaseModel):
    """A resident's contact. Masked (138****1234) for every role that does not need it."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, pattern=PHONE_PATTERN)


class TicketCreate(BaseModel):
    """A new issue from a grid worker's phone, a dispatcher, or an integration client.

    Give ``grid`` (a grid code) or ``location`` (resolved to the grid containing it); with
    both, the grid is used and the location is kept as the issue's coordinates.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    grid: str | None = Field(None, min_length=1, max_length=64, examples=["BH01-01"])
    location: LocationIn | None = Field(
        None, description="where the issue is; lat/lon in ``coordinate_system`` (default "
                          "wgs84), stored as WGS-84")
    item: str | None = Field(
        None, min_length=1, max_length=32, examples=["0202"],
        description="matrix item code; without it the item is suggested from the description "
                    "(智能分拨): routed by a confident suggestion, else queued for triage (待分拨)")
    description: str = Field(min_length=1, max_length=4000)
    address: str | None = Field(None, max_length=500)
    urgency: Urgency = Urgency.normal
    reporter: Reporter | None = None
    attachments: list[Id] = Field(default_factory=list, max_length=9,
                                   description="ids from POST /attachments")
    self_handle: bool = Field(False, description="a grid worker handles it on the spot (网格自处)")
    source: Source | None = Field(
        None, description="integration clients: resident or hotline; others: set from the role")

    @model_validator(mode="after")
    def _grid_or_location(self) -> TicketCreate:
        if self.grid is None and self.location is None:
            raise ValueError("give either grid (a grid code) or location (lat/lon)")
        return self

    @field_validator("attachments")
    @classmethod
    def _unique_attachments(cls, v: list[int]) -> list[int]:
        if len(set(v)) != len(v):
            raise ValueError("attachment ids must be unique")
        return v


class ReporterOut(BaseModel):
    name: str | None
    phone: str | None
    masked: bool


class TicketOut(BaseModel):
    id: int
    number: str = Field(description="human-readable case number (案件编号)")
    status: Status
    level: str = Field(description="the level holding the ticket: grid, community or street")
    grid: str
    community: str
    street: str
    item: str
    item_name: str
    category: str
    department: str | None = Field(description="the department whose queue holds it, if any")
    routing_reason: str
    urgency: Urgency
    source: Source
    description: str
    address: str | None
    location: Location | None
    reporter: ReporterOut | None
    self_handle: bool
    matrix_version: int
    assignee_id: int | None
    attachments: list[int]
    thumbnail_url: str | None = Field(
        description="the thumbnail of the ticket's first photo (the reporter's), for lists; "
                    "null without photos")
    rework_count: int
    return_count: int
    rating: str | None
    merged_into: int | None
    response_due_at: datetime | None = Field(
        description="when it must be signed for (claimed); null once claimed, and while paused")
    resolve_due_at: datetime | None = Field(
        description="when it must be resolved; null while paused (suspended): the due instant "
                    "is unknown until the clock runs again, and is then recomputed from the "
                    "time left")
    sla_state: str = Field(
        description="on_track, warning (即将超时), overdue (超时), or paused while suspended "
                    "(挂起: the clock is stopped)", examples=["on_track"])
    resolve_remaining_minutes: int | None = Field(
        description="while paused: the minutes of the resolution limit left (working minutes, "
                    "or calendar minutes for calendar-time items), negative when it was "
                    "already overdue by that much when suspended; null otherwise")
    version: int
    created_at: datetime
    updated_at: datetime
    claimed_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None


class StaffOut(BaseModel):
    """One of a department's people and what they hold (在办)."""

    id: int
    display_name: str
    role: str = Field(description="department_staff or department_lead")
    in_hand: int = Field(description="tickets claimed by them and not yet resolved "
                                     "(claimed, in progress, suspended, rework)")


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null at the end")


class EventOut(BaseModel):
    id: int
    kind: str
    from_status: str | None
    to_status: str | None
    actor_user_id: int | None
    actor_api_key_id: int | None
    actor_role: str
    data: dict[str, Any]
    created_at: datetime
