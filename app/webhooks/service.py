"""Webhook subscriptions: who may subscribe to what, and the delivery log.

A department lead (部门负责人) manages the subscriptions of their own department; an admin
manages any, including those with no department (every department's events). Other
departments' subscriptions are invisible (404), as everywhere else in the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.models import Role
from app.config import Settings
from app.errors import Forbidden, InvalidInput, NotFound
from app.jurisdiction.repository import department_by_code
from app.messages import M
from app.webhooks import repository as repo
from app.webhooks.models import WebhookSubscription
from app.webhooks.sealing import keys_of, seal
from app.webhooks.signing import new_secret
from app.webhooks.targets import BlockedTarget, check_literal


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    subscription: WebhookSubscription
    department_code: str | None


async def _department_for_new(session: AsyncSession, actor: Actor,
                              code: str | None) -> tuple[int | None, str | None]:
    if actor.role is Role.admin:
        if code is None:
            return None, None
        dept = await department_by_code(session, code)
        if dept is None:
            raise InvalidInput.at(["body", "department"], M("error.no_department", code=code))
        return dept.id, dept.code
    own = _own_department(actor)
    own_code = (await repo.department_codes(session, {own}))[own]
    if code is not None and code != own_code:
        raise Forbidden(M("webhook.own_department", own=own_code, code=code))
    return actor.department_id, own_code


async def create_subscription(*, session: AsyncSession, actor: Actor, url: str,
                              event_types: list[str], department_code: str | None,
                              now: datetime, settings: Settings) -> tuple[SubscriptionView, str]:
    """A new subscription, and its plain signing secret (stored only sealed)."""
    try:
        check_literal(url, settings.webhook_blocked_networks)
    except BlockedTarget as exc:
        raise InvalidInput.at(["body", "url"], M("webhook.bad_target", reason=str(exc))) from exc
    department_id, code = await _department_for_new(session, actor, department_code)
    secret = new_secret()
    subscription = WebhookSubscription(
        department_id=department_id, url=url, secret=seal(secret, keys_of(settings)),
        event_types=event_types, is_active=True, created_by_user_id=actor.user_id,
        created_at=now)
    session.add(subscription)
    await session.flush()
    return SubscriptionView(subscription, code), secret


def _scope(actor: Actor) -> int | None:
    """The department whose subscriptions the actor manages; None: all (admins)."""
    if actor.role is Role.admin:
        return None
    return _own_department(actor)


def _own_department(actor: Actor) -> int:
    """The department of a non-admin who manages subscriptions (403 if the actor has none)."""
    if actor.department_id is None:
        raise Forbidden(M("webhook.managers"))
    return actor.department_id


async def list_subscriptions(*, session: AsyncSession, actor: Actor) -> list[SubscriptionView]:
    subscriptions = await repo.active_subscriptions(session, department_id=_scope(actor))
    codes = await repo.department_codes(
        session, {s.department_id for s in subscriptions if s.department_id is not None})
    return [SubscriptionView(s, codes.get(s.department_id) if s.department_id else None)
            for s in subscriptions]


async def get_subscription(*, session: AsyncSession, actor: Actor,
                           subscription_id: int) -> WebhookSubscription:
    department_id = _scope(actor)
    subscription = await session.get(WebhookSubscription, subscription_id)
    if subscription is None or (department_id is not None
                                and subscription.department_id != department_id):
        raise NotFound(M("error.no_webhook", id=subscription_id))
    return subscription


async def delete_subscription(*, session: AsyncSession, actor: Actor,
                              subscription_id: int) -> None:
    """Stop the subscription; what it has not yet delivered is given up. The row and its
    delivery log stay for the record (deleting twice is harmless)."""
    subscription = await get_subscription(session=session, actor=actor,
                                          subscription_id=subscription_id)
    subscription.is_active = False
    await session.flush()
    await repo.give_up_pending(session, subscription_id=subscription.id,
                               reason="subscription deleted")


async def list_deliveries(*, session: AsyncSession, actor: Actor, subscription_id: int,
                          limit: int) -> list[Row]:
    await get_subscription(session=session, actor=actor, subscription_id=subscription_id)
    return await repo.deliveries(session, subscription_id=subscription_id, limit=limit)
