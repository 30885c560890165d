"""Configuring channels (admins): a group robot or SMS account per department, community or
street. A robot's URL carries its key or token, so the whole URL and every secret are
stored only sealed (``app.webhooks.sealing``, the webhook secrets' keys); admins see the
endpoint without them. Bad configuration — an unknown kind, a URL that is not http(s), a
target in a blocked network, a missing secret — is refused with 422 and nothing is saved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.errors import InvalidInput, NotFound
from app.jurisdiction.models import Department, Jurisdiction
from app.jurisdiction.repository import department_id
from app.messages import M
from app.notifications.delivery import open_secrets
from app.notifications.messages import Message
from app.notifications.models import (
    ChannelKind,
    DeliveryStatus,
    NotificationAttempt,
    NotificationChannel,
    NotificationOutbox,
)
from app.notifications.providers import ALIYUN_SMS_ENDPOINT, PROVIDERS, Outcome, Outgoing
from app.notifications.schemas import ChannelConfig, ChannelCreate
from app.webhooks.sealing import keys_of, seal
from app.webhooks.targets import BlockedTarget, check_literal


@dataclass(frozen=True, slots=True)
class ChannelView:
    channel: NotificationChannel
    department_code: str | None
    jurisdiction_code: str | None


def _endpoint(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def _secrets(kind: ChannelKind, config: ChannelConfig,
             settings: Settings) -> tuple[str | None, str | None]:
    """The sealed secrets and the shown endpoint; (None, None) leaves it unconfigured."""
    def missing(field: str) -> InvalidInput:
        return InvalidInput.at(["body", field], M("channel.needs_field", kind=kind.value, field=field))

    if kind is ChannelKind.sms:
        if config.access_key_id is None and config.access_key_secret is None:
            return None, None
        if not config.access_key_id:
            raise missing("access_key_id")
        if config.access_key_secret is None:
            raise missing("access_key_secret")
        if not config.sign_name:
            raise missing("sign_name")
        if not config.templates:
            raise missing("templates")
        url = config.url or ALIYUN_SMS_ENDPOINT
        secrets = {"url": url, "access_key_id": config.access_key_id,
                   "access_key_secret": config.access_key_secret.get_secret_value()}
    else:
        if config.url is None:
            return None, None
        url = config.url
        secrets = {"url": url}
        if kind is ChannelKind.dingtalk:
            if config.secret is None:
                raise missing("secret")
            secrets["secret"] = config.secret.get_secret_value()
    try:
        check_literal(url, settings.webhook_blocked_networks)
    except BlockedTarget as exc:
        raise InvalidInput.at(["body", "url"], M("channel.bad_target", reason=str(exc))) from exc
    return seal(json.dumps(secrets), keys_of(settings)), _endpoint(url)


def _options(kind: ChannelKind, config: ChannelConfig) -> dict:
    if kind is ChannelKind.sms:
        return {"sign_name": config.sign_name, "templates": dict(config.templates)}
    return {}


async def _owner(session: AsyncSession, body: ChannelCreate) -> tuple[int | None, int | None]:
    if (body.department is None) == (body.jurisdiction is None):
        raise InvalidInput.at(["body"], M("channel.one_target"))
    if body.department is not None:
        found = await department_id(session, body.department)
        if found is None:
            raise InvalidInput.at(["body", "department"], M("error.no_department", code=body.department))
        return found, None
    node = (await session.execute(select(Jurisdiction.id, Jurisdiction.level).where(
        Jurisdiction.code == body.jurisdiction))).first()
    if node is None or node.level not in ("community", "street"):
        raise InvalidInput.at(["body", "jurisdiction"],
                              M("error.no_community_or_street", code=body.jurisdiction))
    return None, node.id


async def _view(session: AsyncSession, channel: NotificationChannel) -> ChannelView:
    department = jurisdiction = None
    if channel.department_id is not None:
        department = (await session.execute(select(Department.code).where(
            Department.id == channel.department_id))).scalar_one()
    if channel.jurisdiction_id is not None:
        jurisdiction = (await session.execute(select(Jurisdiction.code).where(
            Jurisdiction.id == channel.jurisdiction_id))).scalar_one()
    return ChannelView(channel, department, jurisdiction)


async def create_channel(*, session: AsyncSession, body: ChannelCreate, now: datetime,
                         settings: Settings) -> ChannelView:
    department_id, jurisdiction_id = await _owner(session, body)
    sealed, endpoint = _secrets(body.kind, body, settings)
    channel = NotificationChannel(
        kind=body.kind.value, name=body.name, department_id=department_id,
        jurisdiction_id=jurisdiction_id, endpoint=endpoint, sealed=sealed,
        options=_options(body.kind, body), kinds=body.kinds,
        rate_per_minute=body.rate_per_minute, is_active=body.is_active, created_at=now,
        updated_at=now)
    session.add(channel)
    await session.flush()
    return await _view(session, channel)


async def get_channel(session: AsyncSession, channel_id: int) -> NotificationChannel:
    channel = await session.get(NotificationChannel, channel_id)
    if channel is None:
        raise NotFound(M("channel.no_channel", id=channel_id))
    return channel


async def configure_channel(*, session: AsyncSession, channel_id: int, config: ChannelConfig,
                            now: datetime, settings: Settings) -> ChannelView:
    """Replace a channel's target, secrets and rules."""
    channel = await get_channel(session, channel_id)
    kind = ChannelKind(channel.kind)
    sealed, endpoint = _secrets(kind, config, settings)
    channel.sealed, channel.endpoint = sealed, endpoint
    channel.options, channel.kinds = _options(kind, config), config.kinds
    channel.rate_per_minute, channel.is_active = config.rate_per_minute, config.is_active
    channel.updated_at = now
    await session.flush()
    return await _view(session, channel)


async def list_channels(*, session: AsyncSession) -> list[ChannelView]:
    rows = (await session.execute(select(NotificationChannel)
                                  .order_by(NotificationChannel.id))).scalars()
    return [await _view(session, c) for c in rows]


async def delete_channel(*, session: AsyncSession, channel_id: int) -> None:
    """Stop a channel; what it has not sent is given up (the log stays)."""
    channel = await get_channel(session, channel_id)
    channel.is_active = False
    await session.flush()
    await session.execute(
        update(NotificationOutbox)
        .where(NotificationOutbox.channel_id == channel.id,
               NotificationOutbox.status == DeliveryStatus.pending.value)
        .values(status=DeliveryStatus.dead.value, last_error="channel removed")
        .execution_options(synchronize_session=False))


TEST_MESSAGE = Message(title="测试消息", number=None, item=None, place=None, deadline=None,
                       deadline_label="", link="/app", note="Whistle 消息通道配置成功")


async def test_send(*, session: AsyncSession, channel_id: int, phone: str | None,
                    http: httpx.AsyncClient, now: datetime, settings: Settings) -> Outcome:
    """Send a test message through the channel now (not through the outbox)."""
    channel = await get_channel(session, channel_id)
    if channel.sealed is None:
        raise InvalidInput.at(["path", "channel_id"], M("channel.not_configured"))
    if channel.kind == ChannelKind.sms.value and not phone:
        raise InvalidInput.at(["body", "phone"], M("channel.sms_needs_phone"))
    message = TEST_MESSAGE.to_payload() | {"link": settings.public_url.rstrip("/") + "/app"}
    outgoing = Outgoing(kind="test", message=Message.from_payload(message), count=1,
                        notification_id=0, phone=phone)
    return await PROVIDERS[channel.kind].send(
        http, secrets=open_secrets(channel.sealed, settings), options=channel.options or {},
        outgoing=outgoing, now=now, blocked=settings.webhook_blocked_networks)


async def attempts(*, session: AsyncSession, channel_id: int | None, limit: int) -> list[Row]:
    """The delivery log, newest first."""
    query = (select(NotificationAttempt.id, NotificationAttempt.outbox_id.label(
        "notification_id"), NotificationAttempt.channel_id, NotificationOutbox.kind,
        NotificationOutbox.ticket_id, NotificationAttempt.attempt,
        NotificationAttempt.status_code, NotificationAttempt.error,
        NotificationAttempt.duration_ms, NotificationAttempt.created_at,
        NotificationOutbox.status)
        .join(NotificationOutbox, NotificationOutbox.id == NotificationAttempt.outbox_id)
        .order_by(NotificationAttempt.id.desc()).limit(limit))
    if channel_id is not None:
        query = query.where(NotificationAttempt.channel_id == channel_id)
    return list((await session.execute(query)).all())
