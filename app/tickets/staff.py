"""A department's people and their load (在办): what a lead needs to transfer a ticket to
someone (转交) and to see who carries what. Read in one statement."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.models import Role, User
from app.errors import Forbidden, NotFound
from app.jurisdiction.repository import department_by_code
from app.messages import M
from app.tickets.models import Status, Ticket

# What an assignee is working on: claimed and not yet handed back (resolved waits for
# verification by others; suspended still belongs to its handler).
IN_HAND = (Status.claimed.value, Status.in_progress.value, Status.suspended.value,
           Status.rework.value)
READERS = (Role.admin, Role.department_lead)


@dataclass(frozen=True, slots=True)
class StaffLoad:
    id: int
    display_name: str
    role: str
    in_hand: int


async def department_staff(*, session: AsyncSession, actor: Actor, code: str) -> list[StaffLoad]:
    """The active staff and leads of department ``code`` with how many tickets each holds,
    for admins and that department's lead (another department's lead: 404, as if absent)."""
    if actor.role not in READERS:
        raise Forbidden(M("error.role_forbidden", role=actor.role.value,
                          allowed=", ".join(r.value for r in READERS)))
    dept = await department_by_code(session, code)
    if dept is None or (actor.role is Role.department_lead and actor.department_id != dept.id):
        raise NotFound(M("error.no_department", code=code))
    held = func.count(Ticket.id)
    rows = await session.execute(
        select(User.id, User.display_name, User.role, held)
        .outerjoin(Ticket, and_(Ticket.assignee_id == User.id, Ticket.status.in_(IN_HAND)))
        .where(User.department_id == dept.id, User.is_active.is_(True),
               User.role.in_((Role.department_staff.value, Role.department_lead.value)))
        .group_by(User.id, User.display_name, User.role)
        .order_by(held.desc(), User.display_name, User.id))
    return [StaffLoad(id=i, display_name=name, role=role, in_hand=n) for i, name, role, n in rows]
