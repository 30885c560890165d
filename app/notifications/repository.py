"""The SQL of notifications: the ticket as messages show it, channels by owner, users'
choices, writing inbox entries and outbox rows (once each: unique dedupe keys), and the
inbox reads."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement

from app.auth.models import User
from app.db import (
    among,
    driver_statement,
    insert_for,
    insert_rows,
    rowcount,
    run_on_driver,
    runs_on_driver,
)
from app.jurisdiction.models import Department, Jurisdiction
from app.matrix.models import MatrixItem
from app.notifications.models import (
    ChannelKind,
    Notification,
    NotificationChannel,
    NotificationContact,
    NotificationOutbox,
    NotificationPreference,
)
from app.notifications.recipients import Owners, TicketContext
from app.notifications.rules import INBOX, SMS
from app.tickets.models import Ticket, ticket_number

_GRID = aliased(Jurisdiction)
_GRID_TABLE = Jurisdiction.__table__.alias("grid")


async def ticket_context(session: AsyncSession, ticket_id: int) -> TicketContext | None:
    """One ticket as messages show it. On asyncpg (every post reads its new ticket so) the
    statement is compiled once and run on the driver: building it, its cache key and the
    rendering of its IN list cost a post more than the query."""
    if not runs_on_driver(session):
        return (await ticket_contexts(session, [ticket_id])).get(ticket_id)
    statement = driver_statement(session, ("ticket_context",), lambda: _contexts_select().where(
        Ticket.__table__.c.id == bindparam("ticket_id", 0, type_=Ticket.id.type)))
    rows = await run_on_driver(session, statement, {"ticket_id": ticket_id})
    return _context(_ContextRow(*rows[0])) if rows else None


def _contexts_select() -> Select:
    # Core columns (the tables', not the entities'): the sweep reads a thousand at a time,
    # and an ORM-enabled select of columns still runs the ORM's row loading.
    tickets, item, grid, department = (Ticket.__table__, MatrixItem.__table__, _GRID_TABLE,
                                       Department.__table__)
    c = tickets.c
    return (
        select(c.id, c.created_at, c.level, c.urgency, c.status, c.department_id, c.street_id,
               c.community_id, c.grid_id, c.assignee_id, c.item_code, c.address,
               c.reporter_name, c.resolve_due_at, c.response_due_at,
               item.c.name.label("item_name"), grid.c.name.label("grid_name"),
               department.c.code.label("department_code"))
        .select_from(tickets.join(item, item.c.id == c.item_id)
                     .join(grid, grid.c.id == c.grid_id)
                     .outerjoin(department, department.c.id == c.department_id)))


# A row of ``_contexts_select`` by name, from the driver's tuples (its columns, in order:
# tests/notifications check they match).
_ContextRow = namedtuple("_ContextRow", [
    "id", "created_at", "level", "urgency", "status", "department_id", "street_id",
    "community_id", "grid_id", "assignee_id", "item_code", "address", "reporter_name",
    "resolve_due_at", "response_due_at", "item_name", "grid_name", "department_code"])


async def ticket_contexts(session: AsyncSession,
                          ticket_ids: Sequence[int]) -> dict[int, TicketContext]:
    """The tickets as messages show them, by id, in one query."""
    rows = (await session.execute(
        _contexts_select().where(among(session, Ticket.__table__.c.id, ticket_ids)))).all()
    # columns, not entities: nothing to load into the session
    return {t.id: _context(t) for t in rows}


def _context(t: Any) -> TicketContext:
    place = t.grid_name + (f" {t.address}" if t.address else "")
    return TicketContext(
        id=t.id, number=ticket_number(t.id, t.created_at), level=t.level,
        urgency=t.urgency, status=t.status, department_id=t.department_id,
        department_code=t.department_code, street_id=t.street_id,
        community_id=t.community_id, grid_id=t.grid_id, assignee_id=t.assignee_id,
        item_code=t.item_code, item_name=t.item_name, place=place, address=t.address,
        reporter_name=t.reporter_name, resolve_due_at=t.resolve_due_at,
        response_due_at=t.response_due_at)


async def robot_channels(session: AsyncSession, owners: Owners,
                         kind: str) -> list[NotificationChannel]:
    """The configured, active group robots of ``owners`` that take ``kind``."""
    if not owners.department_ids and not owners.jurisdiction_ids:
        return []
    rows = (await session.execute(select(NotificationChannel).where(
        NotificationChannel.kind.in_([ChannelKind.wecom.value, ChannelKind.dingtalk.value]),
        NotificationChannel.is_active.is_(True), NotificationChannel.sealed.is_not(None),
        or_(NotificationChannel.department_id.in_(sorted(owners.department_ids)),
            NotificationChannel.jurisdiction_id.in_(sorted(owners.jurisdiction_ids))),
    ).order_by(NotificationChannel.id))).scalars()
    return [c for c in rows if not c.kinds or kind in c.kinds]


async def sms_channels(session: AsyncSession, *, department_ids: Iterable[int],
                       street_id: int) -> dict[int | None, NotificationChannel]:
    """The SMS accounts of these departments (by department id) and the street's (None)."""
    rows = (await session.execute(select(NotificationChannel).where(
        NotificationChannel.kind == ChannelKind.sms.value,
        NotificationChannel.is_active.is_(True), NotificationChannel.sealed.is_not(None),
        or_(NotificationChannel.department_id.in_(sorted(set(department_ids))),
            NotificationChannel.jurisdiction_id == street_id),
    ).order_by(NotificationChannel.id.desc()))).scalars()
    return {c.department_id: c for c in rows}


async def choices(session: AsyncSession, user_ids: Iterable[int],
                  kind: str) -> dict[tuple[int, str], bool]:
    rows = await session.execute(select(
        NotificationPreference.user_id, NotificationPreference.channel,
        NotificationPreference.enabled).where(
            NotificationPreference.user_id.in_(sorted(set(user_ids))),
            NotificationPreference.kind == kind))
    return {(u, c): e for u, c, e in rows}


async def phones(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, str]:
    rows = await session.execute(select(NotificationContact.user_id, NotificationContact.phone)
                                 .where(NotificationContact.user_id.in_(sorted(set(user_ids)))))
    return dict(rows.all())


async def add_inbox(session: AsyncSession, entries: list[dict[str, Any]], *,
                    aggregated: bool) -> None:
    """Write inbox entries once each; an aggregated entry already there counts one more
    (and shows the latest ticket, unread again)."""
    if not entries:
        return
    if not aggregated:  # one statement however many entries
        await insert_rows(session, Notification.__table__, entries, conflict=("dedupe_key",))
        return
    insert = insert_for(session)(Notification).values(entries)
    if aggregated:
        insert = insert.on_conflict_do_update(
            index_elements=[Notification.dedupe_key],
            set_={"count": Notification.count + 1, "body": insert.excluded.body,
                  "ticket_id": insert.excluded.ticket_id, "read_at": None,
                  "updated_at": insert.excluded.updated_at})
    else:
        insert = insert.on_conflict_do_nothing(index_elements=[Notification.dedupe_key])
    await session.execute(insert)


def _chosen(user_id: Any, kind: str, channel: str, default: Any) -> ColumnElement[bool]:
    """The user's choice for ``kind`` on ``channel`` (``choices``), or ``default``."""
    p = NotificationPreference
    return func.coalesce(select(p.enabled).where(
        p.user_id == user_id, p.kind == kind, p.channel == channel).scalar_subquery(), default)


async def add_queue_inbox(session: AsyncSession, users: Select, *, queue: tuple,
                          entry: dict[str, Any], scope: str, sees_contact: ColumnElement[bool],
                          bodies: tuple[str, str], aggregated: bool) -> None:
    """``add_inbox`` for every user ``users`` selects who has the inbox on for the kind, in
    one ``INSERT … SELECT``: each entry's key is ``scope:u<id>``, its body the first of
    ``bodies`` where ``sees_contact`` holds and the second (masked) elsewhere; ``entry``
    holds the columns all entries share. On asyncpg compiled once per ``queue`` (what
    ``users`` and ``sees_contact`` are built from), kind and aggregation, and run on the
    driver: its cache key, a walk of the whole statement, was most of its cost."""
    params = {f"p_{name}": value for name, value in entry.items() if name != "kind"}
    params.update(p_body=bodies[0], p_masked=bodies[1], p_scope=scope + ":u")

    def build():
        u, n = User.__table__, Notification.__table__
        shared = {name: literal(value, n.c.kind.type) if name == "kind"
                  else bindparam(f"p_{name}", value, type_=n.c[name].type)
                  for name, value in entry.items()}
        rows = (users.with_only_columns(
            u.c.id, *shared.values(),
            case((sees_contact, bindparam("p_body", bodies[0], type_=n.c.body.type)),
                 else_=bindparam("p_masked", bodies[1], type_=n.c.body.type)),
            bindparam("p_scope", scope + ":u", type_=n.c.dedupe_key.type)
            + cast(u.c.id, String))
            .where(_chosen(u.c.id, entry["kind"], INBOX, true()))
            .order_by(u.c.id))
        insert = insert_for(session)(n).from_select(
            ["user_id", *shared, "body", "dedupe_key"], rows)
        if aggregated:
            return insert.on_conflict_do_update(
                index_elements=[n.c.dedupe_key],
                set_={"count": n.c.count + 1, "body": insert.excluded.body,
                      "ticket_id": insert.excluded.ticket_id, "read_at": None,
                      "updated_at": insert.excluded.updated_at})
        return insert.on_conflict_do_nothing(index_elements=[n.c.dedupe_key])

    if runs_on_driver(session):
        await run_on_driver(session, driver_statement(
            session, ("queue_inbox", entry["kind"], aggregated, *queue), build), params)
    else:
        await session.execute(build(), params)


async def texters(session: AsyncSession, users: Select, *, kind: str,
                  sms_by_default: Iterable[str], queue: tuple | None = None,
                  ) -> list[tuple[int, str, int | None, str]]:
    """Who among ``users`` has SMS on for ``kind`` (by choice, or by their role's default:
    ``sms_by_default``) and a phone: (id, role, department id, phone), by id. With
    ``queue`` (what ``users`` is built from, as ``add_queue_inbox`` takes it), on asyncpg
    compiled once per queue and kind and run on the driver: every post asks it."""
    u, c = User.__table__, NotificationContact.__table__
    defaults = tuple(sorted(sms_by_default))

    def build() -> Select:
        default = u.c.role.in_(defaults) if defaults else false()
        return (users.with_only_columns(u.c.id, u.c.role, u.c.department_id, c.c.phone)
                .join(c, c.c.user_id == u.c.id)
                .where(_chosen(u.c.id, kind, SMS, default))
                .order_by(u.c.id))

    if queue is not None and runs_on_driver(session):
        rows: Iterable[Any] = await run_on_driver(session, driver_statement(
            session, ("texters", kind, defaults, *queue), build), {})
    else:
        rows = await session.execute(build())
    return [tuple(row) for row in rows]


async def add_outbox(session: AsyncSession, rows: list[dict[str, Any]], *,
                     aggregated: bool, late_suffix: str = "") -> None:
    """Write outbox rows once each; an aggregated row still waiting counts one more. An
    event that commits after its window's reminder went out gets a reminder of its own
    (``late_suffix`` added to the key) rather than none."""
    if not rows:
        return
    insert = insert_for(session)
    if not aggregated:  # one statement however many rows
        await insert_rows(session, NotificationOutbox.__table__, rows, conflict=("dedupe_key",))
        return
    stmt = insert(NotificationOutbox).values(rows)
    counted = set((await session.execute(stmt.on_conflict_do_update(
        index_elements=[NotificationOutbox.dedupe_key],
        set_={"count": NotificationOutbox.count + 1, "payload": stmt.excluded.payload},
        where=NotificationOutbox.status == "pending",
    ).returning(NotificationOutbox.dedupe_key))).scalars())
    late = [{**row, "dedupe_key": row["dedupe_key"] + late_suffix}
            for row in rows if row["dedupe_key"] not in counted]
    if late:
        await session.execute(insert(NotificationOutbox).values(late).on_conflict_do_nothing(
            index_elements=[NotificationOutbox.dedupe_key]))


# --- the inbox ---------------------------------------------------------------------------------


async def inbox(session: AsyncSession, *, user_id: int, unread_only: bool, before: int | None,
                after: int | None, limit: int) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if before is not None:
        query = query.where(Notification.id < before)
    if after is not None:
        query = query.where(Notification.id > after)
        return list((await session.execute(query.order_by(Notification.id).limit(limit)))
                    .scalars())
    return list((await session.execute(query.order_by(Notification.id.desc()).limit(limit)))
                .scalars())


async def unread_count(session: AsyncSession, *, user_id: int) -> int:
    return (await session.execute(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)))).scalar_one()


async def mark_read(session: AsyncSession, *, user_id: int, ids: list[int] | None,
                    now: datetime) -> int:
    condition = and_(Notification.user_id == user_id, Notification.read_at.is_(None))
    if ids is not None:
        condition = and_(condition, Notification.id.in_(ids))
    result = await session.execute(update(Notification).where(condition).values(read_at=now)
                                   .execution_options(synchronize_session=False))
    return rowcount(result) or 0
