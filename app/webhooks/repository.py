"""The SQL of webhook subscriptions and their delivery log."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.jurisdiction.models import Department
from app.webhooks.models import OutboxMessage, OutboxStatus, WebhookDelivery, WebhookSubscription


async def department_codes(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Department.id, Department.code)
                                 .where(Department.id.in_(ids)))
    return {r.id: r.code for r in rows}


async def active_subscriptions(session: AsyncSession, *,
                               department_id: int | None) -> list[WebhookSubscription]:
    """Active subscriptions, of one department or (None) of all."""
    stmt = select(WebhookSubscription).where(WebhookSubscription.is_active.is_(True))
    if department_id is not None:
        stmt = stmt.where(WebhookSubscription.department_id == department_id)
    return list((await session.execute(stmt.order_by(WebhookSubscription.id))).scalars())


async def give_up_pending(session: AsyncSession, *, subscription_id: int, reason: str) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.subscription_id == subscription_id,
               OutboxMessage.status == OutboxStatus.pending.value)
        .values(status=OutboxStatus.dead.value, last_error=reason)
        .execution_options(synchronize_session=False)
    )


async def deliveries(session: AsyncSession, *, subscription_id: int,
                     limit: int) -> list[Row]:
    """The latest attempts first."""
    stmt = (
        select(WebhookDelivery.id, OutboxMessage.delivery_id, OutboxMessage.event_id,
               OutboxMessage.event_kind, OutboxMessage.ticket_id, WebhookDelivery.attempt,
               WebhookDelivery.status_code, WebhookDelivery.error, WebhookDelivery.duration_ms,
               WebhookDelivery.created_at, OutboxMessage.status.label("message_status"))
        .join(OutboxMessage, OutboxMessage.id == WebhookDelivery.outbox_id)
        .where(OutboxMessage.subscription_id == subscription_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).all())
