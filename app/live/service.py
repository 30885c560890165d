"""Who may watch a department's live queue, and which of its events they see.

Department staff and leads (部门工作人员/负责人) of the department and admins see all of
its queue; street dispatchers (街道指挥中心) and supervisors (督查) bound to a node inside
one of the streets the department serves see the department's tickets in that subtree.
Everyone else gets 404, as for the department's queue itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.models import Role
from app.errors import NotFound
from app.jurisdiction.models import DepartmentStreet, Jurisdiction
from app.jurisdiction.repository import department_id as department_id_of
from app.live.broker import QueueEvent
from app.messages import M


@dataclass(frozen=True, slots=True)
class Audience:
    """One stream's view: a department, optionally narrowed to one node's subtree."""

    department_id: int
    node_id: int | None = None

    def sees(self, event: QueueEvent) -> bool:
        return self.node_id is None or self.node_id in (
            event.street_id, event.community_id, event.grid_id)


async def _street_of(session: AsyncSession, node_id: int) -> int | None:
    node = (await session.execute(select(Jurisdiction.id, Jurisdiction.level,
                                         Jurisdiction.street_id)
                                  .where(Jurisdiction.id == node_id))).first()
    if node is None:
        return None
    return node.id if node.level == "street" else node.street_id


async def _serves_street(session: AsyncSession, department_id: int, street_id: int) -> bool:
    row = await session.execute(select(DepartmentStreet.street_id).where(
        DepartmentStreet.department_id == department_id, DepartmentStreet.street_id == street_id))
    return row.first() is not None


async def audience_for(*, session: AsyncSession, actor: Actor, department_code: str) -> Audience:
    department_id = await department_id_of(session, department_code)
    missing = NotFound(M("error.no_department", code=department_code))
    if department_id is None:
        raise missing
    if actor.role is Role.admin:
        return Audience(department_id)
    if actor.role in (Role.department_staff, Role.department_lead):
        if actor.department_id != department_id:
            raise missing
        return Audience(department_id)
    if actor.role in (Role.street_dispatcher, Role.supervisor) and actor.jurisdiction_id:
        street_id = await _street_of(session, actor.jurisdiction_id)
        if street_id is not None and await _serves_street(session, department_id, street_id):
            return Audience(department_id, actor.jurisdiction_id)
    raise missing
