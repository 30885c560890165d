"""Turning the table's ``Who`` and ``Robots`` into users and channel owners, and keeping to
the API's scopes: a user is told of a ticket only if ``GET /tickets/{id}`` would show it
to them, with the same contact masking.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.models import Role, User, UserGrid
from app.auth.scope import can_see_contact, ticket_scope_clause
from app.db import among
from app.jurisdiction.models import Jurisdiction
from app.jurisdiction.repository import department_ids
from app.notifications.rules import Robots, Who
from app.sla.models import TicketRequest
from app.tickets.models import Ticket


@dataclass(frozen=True, slots=True)
class TicketContext:
    """The ticket after the change, with the names a message shows."""

    id: int
    number: str
    level: str
    urgency: str
    status: str
    department_id: int | None
    department_code: str | None
    street_id: int
    community_id: int
    grid_id: int
    assignee_id: int | None
    item_code: str
    item_name: str
    place: str
    address: str | None
    reporter_name: str | None
    resolve_due_at: Any
    response_due_at: Any


@dataclass(frozen=True, slots=True)
class Owners:
    """Whose group robots a notification goes to."""

    department_ids: frozenset[int] = frozenset()
    jurisdiction_ids: frozenset[int] = frozenset()


def _users(*conditions: Any):
    return select(User.id).where(User.is_active.is_(True), *conditions)


async def _ids(session: AsyncSession, query) -> set[int]:
    return set((await session.execute(query)).scalars())


async def _department_ids(session: AsyncSession, codes: Iterable[Any]) -> set[int]:
    return set((await department_ids(session, codes)).values())


def _in_departments(department_ids: set[int], *roles: Role):
    return _users(User.department_id.in_(sorted(department_ids)),
                  User.role.in_([r.value for r in roles]))


STAFF = (Role.department_staff, Role.department_lead)


def queue_users(t: TicketContext):
    """The users who work the queue the ticket is in, as a query of ``users`` (the set-based
    new-ticket reminder selects its recipients from it; ``Who.queue`` runs it)."""
    if t.level == "street" and t.department_id is not None:
        return _in_departments({t.department_id}, *STAFF)
    if t.level == "community":
        return _dispatchers_query(Role.community_dispatcher, t.community_id)
    return _grid_workers_query(t.grid_id)


async def _queue(session: AsyncSession, t: TicketContext) -> set[int]:
    return await _ids(session, queue_users(t))


def _dispatchers_query(role: Role, node_id: int):
    return _users(User.role == role.value, User.jurisdiction_id == node_id)


def _grid_workers_query(grid_id: int):
    return _users(User.role == Role.grid_worker.value,
                  exists().where(UserGrid.user_id == User.id, UserGrid.grid_id == grid_id))


async def _dispatchers(session: AsyncSession, role: Role, node_id: int) -> set[int]:
    return await _ids(session, _dispatchers_query(role, node_id))


async def _grid_workers(session: AsyncSession, grid_id: int) -> set[int]:
    return await _ids(session, _grid_workers_query(grid_id))


async def _level_dispatchers(session: AsyncSession, t: TicketContext) -> set[int]:
    if t.level == "grid":
        return await _grid_workers(session, t.grid_id)
    if t.level == "community":
        return await _dispatchers(session, Role.community_dispatcher, t.community_id)
    return await _dispatchers(session, Role.street_dispatcher, t.street_id)


async def _above(session: AsyncSession, t: TicketContext) -> set[int]:
    """The dispatcher of the level that routed (and approves for) the ticket."""
    if t.level == "grid":
        return await _dispatchers(session, Role.community_dispatcher, t.community_id)
    return await _dispatchers(session, Role.street_dispatcher, t.street_id)


async def users_for(session: AsyncSession, who: Who, t: TicketContext,
                    data: dict[str, Any]) -> set[int]:
    match who:
        case Who.queue:
            return await _queue(session, t)
        case Who.assignee_or_queue:
            return {t.assignee_id} if t.assignee_id else await _queue(session, t)
        case Who.department_lead:
            if t.department_id is None:
                return set()
            return await _ids(session, _in_departments({t.department_id}, Role.department_lead))
        case Who.level_dispatchers:
            return await _level_dispatchers(session, t)
        case Who.summoned:
            departments = await _department_ids(session, data.get("departments") or ())
            return await _ids(session, _in_departments(departments, *STAFF)) if departments \
                else set()
        case Who.concerned_department_lead:
            department = data.get("department_id")
            if not isinstance(department, int):
                return set()
            return await _ids(session, _in_departments({department}, Role.department_lead))
        case Who.street_dispatchers:
            return await _dispatchers(session, Role.street_dispatcher, t.street_id)
        case Who.rerouter | Who.approver:
            return await _above(session, t)
        case Who.grid_workers:
            return await _grid_workers(session, t.grid_id)
        case Who.requester:
            request_id = data.get("request_id")
            if not isinstance(request_id, int):
                return set()
            requester = (await session.execute(select(TicketRequest.requested_by).where(
                TicketRequest.id == request_id))).scalar_one_or_none()
            return {requester} if requester else set()
    return set()


async def owners_for(session: AsyncSession, robots: Iterable[Robots], t: TicketContext,
                     data: dict[str, Any]) -> Owners:
    departments: set[int] = set()
    nodes: set[int] = set()
    for robot in robots:
        match robot:
            case Robots.queue:
                if t.department_id is not None:
                    departments.add(t.department_id)
                elif t.level == "community":
                    nodes.add(t.community_id)
            case Robots.summoned:
                departments |= await _department_ids(session, data.get("departments") or ())
            case Robots.concerned_department:
                if isinstance(data.get("department_id"), int):
                    departments.add(data["department_id"])
            case Robots.level:
                nodes.add(t.street_id if t.level == "street" else t.community_id)
            case Robots.street:
                nodes.add(t.street_id)
    return Owners(frozenset(departments), frozenset(nodes))


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: int
    role: Role
    department_id: int | None
    sees_contact: bool


async def within_scope(session: AsyncSession, user_ids: Iterable[int],
                       t: TicketContext) -> list[Recipient]:
    """The users among ``user_ids`` who may read the ticket, as the API decides it
    (``ticket_scope_clause``). Users with the same scope (a department's staff) share one
    check, so a queue of thirty costs a few round trips, not thirty."""
    return (await within_scope_many(session, [(t, user_ids)]))[0]


async def within_scope_many(session: AsyncSession,
                            asks: Sequence[tuple[TicketContext, Iterable[int]]]
                            ) -> list[list[Recipient]]:
    """``within_scope`` for many tickets at once, a list of recipients per ask: the users
    read once, and one scope check per distinct scope for all the tickets it is asked
    about (a few round trips for a thousand tickets)."""
    wanted = [sorted(set(ids)) for _, ids in asks]
    ids = sorted({u for w in wanted for u in w})
    if not ids:
        return [[] for _ in asks]
    users = (await session.execute(select(User).where(User.id.in_(ids),
                                                      User.is_active.is_(True)))).scalars().all()
    grids: dict[int, set[int]] = {}
    for user_id, grid_id in await session.execute(select(UserGrid.user_id, UserGrid.grid_id)
                                                  .where(UserGrid.user_id.in_(ids))):
        grids.setdefault(user_id, set()).add(grid_id)
    nodes = {u.jurisdiction_id for u in users if u.jurisdiction_id is not None}
    levels: dict[int | None, str] = dict((await session.execute(
        select(Jurisdiction.id, Jurisdiction.level).where(
            Jurisdiction.id.in_(sorted(nodes))))).all()) if nodes else {}
    actors: dict[int, tuple[User, Actor, tuple]] = {}
    for user in users:
        actor = Actor(kind="user", id=user.id, role=Role(user.role), name=user.username,
                      jurisdiction_id=user.jurisdiction_id,
                      scope_level=levels.get(user.jurisdiction_id),
                      department_id=user.department_id,
                      grid_ids=frozenset(grids.get(user.id, ())))
        # Everything the scope depends on but the user's id (the integration role's own
        # key is never a recipient).
        signature = (actor.role, actor.jurisdiction_id, actor.scope_level,
                     actor.department_id, actor.grid_ids)
        actors[user.id] = (user, actor, signature)
    # Which tickets each scope is asked about, then one query per scope.
    asked: dict[tuple, tuple[Actor, set[int]]] = {}
    for (t, _), users_wanted in zip(asks, wanted, strict=True):
        for user_id in users_wanted:
            if user_id in actors:
                _, actor, signature = actors[user_id]
                asked.setdefault(signature, (actor, set()))[1].add(t.id)
    seen: dict[tuple, set[int]] = {}
    for signature, (actor, ticket_ids) in asked.items():
        seen[signature] = set((await session.execute(select(Ticket.id).where(
            among(session, Ticket.id, sorted(ticket_ids)),
            ticket_scope_clause(actor, Ticket)))).scalars())
    # Whether a scope sees the contact depends on the ticket's place: decided once per
    # scope and place, not per recipient and ticket.
    contact: dict[tuple, bool] = {}
    out = []
    for (t, _), users_wanted in zip(asks, wanted, strict=True):
        recipients = []
        place = (t.street_id, t.community_id, t.department_id)
        for user_id in users_wanted:
            if user_id not in actors:
                continue
            user, actor, signature = actors[user_id]
            if t.id in seen[signature]:
                sees = contact.get((signature, place))
                if sees is None:
                    sees = contact[signature, place] = can_see_contact(
                        actor, street_id=t.street_id, community_id=t.community_id,
                        department_id=t.department_id)
                recipients.append(Recipient(user.id, actor.role, user.department_id, sees))
        out.append(recipients)
    return out
