"""What the duplicate checks answer: at intake, and the dispatchers' groups."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.tickets.models import Status
from app.tickets.schemas import Location, ReporterOut, TicketOut


class PossibleDuplicate(BaseModel):
    """An open ticket of the same item near a new post (疑似重复)."""

    id: int
    number: str
    status: Status
    item: str
    grid: str
    distance_m: float = Field(description="metres from the new post's location")
    description: str
    address: str | None
    location: Location
    reporter: ReporterOut | None = Field(description="masked as everywhere in the API")
    created_at: datetime


class PostedTicketOut(TicketOut):
    possible_duplicates: list[PossibleDuplicate] = Field(
        description="open tickets of the same item within WHISTLE_DUPLICATE_RADIUS_M (100 m) "
                    "of the location, posted in the last WHISTLE_DUPLICATE_DAYS (7), that "
                    "the poster may read; nearest first, at most 5; empty without a location. "
                    "Merge a duplicate with POST /tickets/{id}/merge")


class DuplicateGroup(BaseModel):
    item: str = Field(description="the matrix item all of them have")
    item_name: str
    spread_m: float = Field(description="the largest distance between two suspected pairs")
    tickets: list[TicketOut] = Field(description="oldest first: the first is the natural "
                                                 "ticket to merge the others into")


class DuplicateGroups(BaseModel):
    groups: list[DuplicateGroup]
