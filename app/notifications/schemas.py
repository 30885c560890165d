"""Request and response models of the notifications API: the inbox, preferences, channels
and their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator

from app.ids import Id
from app.notifications.models import ChannelKind
from app.notifications.rules import PERSONAL_CHANNELS, Kind

KIND_VALUES = sorted(k.value for k in Kind)


# --- the inbox -------------------------------------------------------------------------------


class NotificationOut(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    link: str = Field(description="where it leads in the web app (/app/…)")
    ticket_id: int | None
    urgent: bool
    count: int = Field(description="how many events it stands for (aggregated reminders)")
    created_at: datetime
    updated_at: datetime
    read_at: datetime | None


class InboxOut(BaseModel):
    items: list[NotificationOut]
    unread: int = Field(description="unread notifications in the whole inbox")


class MarkRead(BaseModel):
    ids: list[Id] | None = Field(None, max_length=500,
                                  description="the notifications to mark read; omit for all")


class MarkedRead(BaseModel):
    marked: int
    unread: int


# --- preferences -----------------------------------------------------------------------------


class Choice(BaseModel):
    kind: str
    channel: str
    enabled: bool

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in KIND_VALUES:
            raise ValueError(f"unknown notification kind {value!r}; known: {KIND_VALUES}")
        return value

    @field_validator("channel")
    @classmethod
    def _personal_channel(cls, value: str) -> str:
        if value not in PERSONAL_CHANNELS:
            raise ValueError(f"channel must be one of {list(PERSONAL_CHANNELS)}")
        return value


class PreferencesIn(BaseModel):
    phone: str | None = Field(None, pattern=r"^(\+?[0-9]{6,20})?$",
                              description="mobile number for SMS; leave out to keep it, "
                                          "empty string to remove it")
    choices: list[Choice] = Field(default_factory=list, max_length=200)


class PreferencesOut(BaseModel):
    phone: str | None
    choices: list[Choice] = Field(description="every kind on every personal channel, with "
                                              "the role's default where nothing was chosen")


# --- channels --------------------------------------------------------------------------------


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http:// or https:// URL")
    return value.strip()


class ChannelConfig(BaseModel):
    """Where and how a channel sends. Leave ``url`` out to keep a channel unconfigured."""

    url: str | None = Field(None, max_length=2000, description=(
        "wecom: the robot's webhook URL with its key; dingtalk: the robot's URL with its "
        "access_token; sms: the API endpoint (default https://dysmsapi.aliyuncs.com/)"))
    secret: SecretStr | None = Field(None, description="dingtalk: the robot's signing secret "
                                                       "(SEC…)")
    access_key_id: str | None = Field(None, max_length=128, description="sms")
    access_key_secret: SecretStr | None = Field(None, description="sms")
    sign_name: str | None = Field(None, max_length=64, description="sms: the 短信签名")
    templates: dict[str, str] = Field(default_factory=dict, description=(
        "sms: notification kind (or `default`) → template code (SMS_…); the template gets "
        "title, number, item, place, deadline, count and link"))
    kinds: list[str] = Field(default_factory=list, description="kinds sent; empty: all")
    rate_per_minute: int = Field(20, ge=1, le=6000)
    is_active: bool = True

    @field_validator("url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        return _http_url(value)

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(KIND_VALUES))
        if unknown:
            raise ValueError(f"unknown notification kinds {unknown}; known: {KIND_VALUES}")
        return sorted(set(value))

    @field_validator("templates")
    @classmethod
    def _template_kinds(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(KIND_VALUES) - {"default"})
        if unknown:
            raise ValueError(f"templates for unknown kinds {unknown}")
        return value


class ChannelCreate(ChannelConfig):
    kind: ChannelKind
    name: str = Field(min_length=1, max_length=200)
    department: str | None = Field(None, description="a department code")
    jurisdiction: str | None = Field(None, description="a community or street code")


class ChannelOut(BaseModel):
    id: int
    kind: str
    name: str
    department: str | None
    jurisdiction: str | None
    endpoint: str | None = Field(description="where it sends, without key or token")
    configured: bool = Field(description="false until a URL and secrets are set")
    options: dict[str, Any]
    kinds: list[str]
    rate_per_minute: int
    is_active: bool
    created_at: datetime
    updated_at: datetime


class TestSendOut(BaseModel):
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int


class AttemptOut(BaseModel):
    """One attempt to send one notification through a channel."""

    id: int
    notification_id: int = Field(description="the outbox row: the same on every attempt")
    channel_id: int
    kind: str
    ticket_id: int | None
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: int
    created_at: datetime
    status: str = Field(description="pending, delivered or dead")
