"""Request and response models of the webhook subscriptions API."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

from app.tickets.catalogue import WEBHOOK_KINDS

# The kinds a subscription may filter on: the event catalogue's subscribable kinds.
EVENT_KINDS: frozenset[str] = WEBHOOK_KINDS


class WebhookCreate(BaseModel):
    url: str = Field(max_length=2000, examples=["https://cgzf.example.gov.cn/whistle/events"])
    event_types: list[str] = Field(
        default_factory=list, max_length=len(EVENT_KINDS),
        description="event kinds to receive; empty means all")
    department: str | None = Field(
        None, description="department code; department leads may give only their own (the "
                          "default); admins may leave it out to receive every department's events")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http:// or https:// URL")
        return value.strip()

    @field_validator("event_types")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - EVENT_KINDS)
        if unknown:
            raise ValueError(f"unknown event kinds {unknown}; known: {sorted(EVENT_KINDS)}")
        return sorted(set(value))


class WebhookOut(BaseModel):
    id: int
    department: str | None = Field(description="department code; null means every department")
    url: str
    event_types: list[str]
    is_active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="the HMAC-SHA256 signing secret; shown only this once")


class DeliveryOut(BaseModel):
    """One delivery attempt of one event."""

    id: int
    delivery_id: str = Field(description="the same on every attempt of one event")
    event_id: int
    event_kind: str
    ticket_id: int
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: int
    created_at: datetime
    message_status: str = Field(description="pending, delivered or dead")
