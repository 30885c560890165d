"""The queries behind ``GET /api/v1/whistles``: whistles in the caller's scope with their
report-in counts, and one whistle's summons."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.models import Role, User
from app.auth.scope import ticket_scope_clause
from app.errors import NotFound
from app.jurisdiction.models import Department, Jurisdiction
from app.messages import M
from app.sla.models import Whistle, WhistleSummons
from app.tickets.models import Ticket, ticket_number

DEPARTMENT_ROLES = (Role.department_staff, Role.department_lead)


def whistle_scope(actor: Actor) -> ColumnElement[bool]:
    """Whistles on tickets the actor sees (street dispatchers and supervisors of the street,
    community dispatchers, admin, ...) plus, for department staff, whistles summoning their
    department. Needs ``Ticket`` joined on ``Whistle.ticket_id``."""
    clause = ticket_scope_clause(actor, Ticket)
    if actor.role in DEPARTMENT_ROLES and actor.department_id is not None:
        summoned = select(WhistleSummons.whistle_id).where(
            WhistleSummons.department_id == actor.department_id)
        clause = or_(clause, Whistle.id.in_(summoned))
    return clause


def _counts():
    summoned = func.count(WhistleSummons.id)
    reported = func.count(WhistleSummons.reported_in_at)
    on_time = func.coalesce(func.sum(case((WhistleSummons.on_time.is_(True), 1), else_=0)), 0)
    missed = func.count(WhistleSummons.missed_at)
    return (summoned.label("summoned"), reported.label("reported_in"),
            on_time.cast(Integer).label("on_time"), missed.label("missed"))


def _listing(actor: Actor):
    return (select(Whistle, Ticket.created_at, Jurisdiction.code, User.display_name, *_counts())
            .join(Ticket, Ticket.id == Whistle.ticket_id)
            .join(Jurisdiction, Jurisdiction.id == Whistle.street_id)
            .outerjoin(User, User.id == Whistle.blown_by)
            .outerjoin(WhistleSummons, WhistleSummons.whistle_id == Whistle.id)
            .where(whistle_scope(actor))
            .group_by(Whistle.id, Ticket.created_at, Jurisdiction.code, User.display_name))


def _row_dict(row: Any) -> dict[str, Any]:
    whistle, created_at, street, blown_by, summoned, reported, on_time, missed = row
    return {"id": whistle.id, "ticket_id": whistle.ticket_id,
            "ticket_number": ticket_number(whistle.ticket_id, created_at), "street": street,
            "auto": whistle.auto, "blown_by": blown_by, "reason": whistle.reason,
            "blown_at": whistle.blown_at, "report_in_due_at": whistle.report_in_due_at,
            "closed_at": whistle.closed_at, "summoned": summoned, "reported_in": reported,
            "on_time": on_time, "missed": missed}


async def list_whistles(session: AsyncSession, *, actor: Actor, state: str | None,
                        ticket_id: int | None, limit: int, offset: int
                        ) -> tuple[list[dict[str, Any]], int]:
    filters: list[ColumnElement[bool]] = []
    if state == "open":
        filters.append(Whistle.closed_at.is_(None))
    elif state == "closed":
        filters.append(Whistle.closed_at.is_not(None))
    if ticket_id is not None:
        filters.append(Whistle.ticket_id == ticket_id)
    total = (await session.execute(
        select(func.count()).select_from(Whistle)
        .join(Ticket, Ticket.id == Whistle.ticket_id)
        .where(whistle_scope(actor), *filters))).scalar_one()
    rows = await session.execute(_listing(actor).where(*filters)
                                 .order_by(Whistle.blown_at.desc(), Whistle.id.desc())
                                 .limit(limit).offset(offset))
    return [_row_dict(r) for r in rows], total


async def get_whistle(session: AsyncSession, *, actor: Actor, whistle_id: int) -> dict[str, Any]:
    row = (await session.execute(_listing(actor).where(Whistle.id == whistle_id))).first()
    if row is None:
        raise NotFound(M("error.no_whistle", id=whistle_id))
    summons = await session.execute(
        select(WhistleSummons, Department.code, Department.name, User.display_name)
        .join(Department, Department.id == WhistleSummons.department_id)
        .outerjoin(User, User.id == WhistleSummons.reported_by)
        .where(WhistleSummons.whistle_id == whistle_id)
        .order_by(Department.code))
    return {**_row_dict(row), "summons": [
        {"department": code, "department_name": name, "due_at": s.due_at,
         "reported_in_at": s.reported_in_at, "reported_by": reporter, "on_time": s.on_time,
         "missed_at": s.missed_at}
        for s, code, name, reporter in summons]}
