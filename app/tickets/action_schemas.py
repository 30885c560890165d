"""Request bodies of the workflow actions, one per kind of need."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.ids import Id
from app.tickets.ratings import Rating


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CommentBody(_Body):
    comment: str | None = Field(None, max_length=2000)


class ReasonBody(_Body):
    reason: str = Field(min_length=1, max_length=2000)
    attachments: list[Id] = Field(default_factory=list, max_length=9)


class ResultBody(_Body):
    result: str = Field(min_length=1, max_length=4000)
    attachments: list[Id] = Field(default_factory=list, max_length=9)


class VerifyBody(_Body):
    passed: bool = Field(description="true: verified on site → closed; false: → rework")
    reason: str | None = Field(None, max_length=2000,
                               description="required when passed is false")
    attachments: list[Id] = Field(default_factory=list, max_length=9)


class RerouteBody(_Body):
    item: str | None = Field(None, max_length=32, description="route by another matrix item")
    department: str | None = Field(None, max_length=64,
                                   description="or straight to a department's queue")
    reason: str | None = Field(None, max_length=2000)


class TransferBody(_Body):
    assignee_id: Id = Field(description="a staff member of the same department")
    reason: str | None = Field(None, max_length=2000)


class MergeBody(_Body):
    target_ticket_id: Id = Field(description="the open ticket this one duplicates")
    reason: str | None = Field(None, max_length=2000)


class RateBody(_Body):
    rating: Rating
    comment: str | None = Field(None, max_length=2000)


class EditBody(_Body):
    description: str | None = Field(None, min_length=1, max_length=4000)
    address: str | None = Field(None, max_length=500)
    urgency: Literal["normal", "urgent"] | None = None


class ExtensionBody(_Body):
    minutes: int = Field(ge=1, le=60 * 24 * 90, description="extra time, in the item's basis "
                         "(working minutes for working-time items)")
    reason: str = Field(min_length=1, max_length=2000)


class DecisionBody(_Body):
    approve: bool
    note: str | None = Field(None, max_length=2000)


class WhistleBody(_Body):
    departments: list[str] | None = Field(
        None, max_length=20, description="department codes to summon; default: the item's "
        "co-handling departments")
    minutes: int | None = Field(None, ge=1, le=24 * 60,
                                description="report-in deadline in calendar minutes; default 30")
    reason: str | None = Field(None, max_length=2000)
