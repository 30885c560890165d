"""The demo's channels: a 企业微信 group robot per department, pointing at nothing until an
admin configures it (``PUT /api/v1/notification-channels/{id}`` or
``whistle notifications configure``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utc_now
from app.jurisdiction.models import Department
from app.notifications.models import ChannelKind, NotificationChannel


async def seed_channels(*, session: AsyncSession) -> int:
    """One unconfigured robot for every department that has none; idempotent."""
    having = select(NotificationChannel.department_id).where(
        NotificationChannel.department_id.is_not(None))
    departments = (await session.execute(select(Department).where(
        Department.id.not_in(having)).order_by(Department.id))).scalars().all()
    now = utc_now()
    for department in departments:
        session.add(NotificationChannel(
            kind=ChannelKind.wecom.value, name=f"{department.name}企业微信群",
            department_id=department.id, endpoint=None, sealed=None, options={}, kinds=[],
            rate_per_minute=20, is_active=True, created_at=now, updated_at=now))
    await session.flush()
    return len(departments)
