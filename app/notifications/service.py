"""A user's own notifications: the inbox (read, mark read) and their choices per kind and
channel, with their role's defaults where they chose nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.db import insert_for
from app.errors import Forbidden
from app.messages import M
from app.notifications import repository as repo
from app.notifications.models import Notification, NotificationContact, NotificationPreference
from app.notifications.rules import PERSONAL_CHANNELS, Kind, default_enabled
from app.notifications.schemas import Choice, PreferencesIn, PreferencesOut


def _user_id(actor: Actor) -> int:
    if actor.user_id is None:
        raise Forbidden(M("notifications.not_for_api_keys"))
    return actor.user_id


async def inbox(*, session: AsyncSession, actor: Actor, unread_only: bool, before: int | None,
                limit: int) -> tuple[list[Notification], int]:
    user_id = _user_id(actor)
    items = await repo.inbox(session, user_id=user_id, unread_only=unread_only, before=before,
                             after=None, limit=limit)
    return items, await repo.unread_count(session, user_id=user_id)


async def newer_than(*, session: AsyncSession, user_id: int, after: int,
                     limit: int = 100) -> list[Notification]:
    """For the live stream: what arrived after ``after``, oldest first."""
    return await repo.inbox(session, user_id=user_id, unread_only=False, before=None,
                            after=after, limit=limit)


async def latest_id(*, session: AsyncSession, user_id: int) -> int:
    items = await repo.inbox(session, user_id=user_id, unread_only=False, before=None,
                             after=None, limit=1)
    return items[0].id if items else 0


async def mark_read(*, session: AsyncSession, actor: Actor, ids: list[int] | None,
                    now: datetime) -> tuple[int, int]:
    user_id = _user_id(actor)
    marked = await repo.mark_read(session, user_id=user_id, ids=ids, now=now)
    return marked, await repo.unread_count(session, user_id=user_id)


async def preferences(*, session: AsyncSession, actor: Actor) -> PreferencesOut:
    user_id = _user_id(actor)
    chosen = {(p.kind, p.channel): p.enabled for p in (await session.execute(
        select(NotificationPreference).where(NotificationPreference.user_id == user_id)
    )).scalars()}
    phone = await session.get(NotificationContact, user_id)
    return PreferencesOut(
        phone=phone.phone if phone else None,
        choices=[Choice(kind=k.value, channel=c,
                        enabled=chosen.get((k.value, c), default_enabled(actor.role, k, c)))
                 for k in Kind for c in PERSONAL_CHANNELS])


async def set_preferences(*, session: AsyncSession, actor: Actor,
                          body: PreferencesIn) -> PreferencesOut:
    user_id = _user_id(actor)
    insert = insert_for(session)
    if body.phone == "":
        await session.execute(delete(NotificationContact)
                              .where(NotificationContact.user_id == user_id))
    elif body.phone is not None:
        stmt = insert(NotificationContact).values(user_id=user_id, phone=body.phone)
        await session.execute(stmt.on_conflict_do_update(
            index_elements=[NotificationContact.user_id], set_={"phone": body.phone}))
    for choice in body.choices:
        stmt = insert(NotificationPreference).values(
            user_id=user_id, kind=choice.kind, channel=choice.channel, enabled=choice.enabled)
        await session.execute(stmt.on_conflict_do_update(
            index_elements=[NotificationPreference.user_id, NotificationPreference.kind,
                            NotificationPreference.channel],
            set_={"enabled": choice.enabled}))
    return await preferences(session=session, actor=actor)
