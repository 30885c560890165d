"""Who may read which reports, as equality filters on the rollup key.

- admin: everything;
- supervisor (督查): the subtree of their node (street, community or grid);
- street / community dispatcher: their street / community;
- department lead: tickets their department holds (and its own whistle report-ins);
- everyone else: 403.

A ``jurisdiction`` outside the caller's subtree answers 404, like any resource outside the
scope; a ``department`` other than a lead's own, too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.models import Role
from app.errors import Forbidden, InvalidInput, NotFound
from app.jurisdiction.models import DepartmentStreet, Jurisdiction
from app.jurisdiction.repository import department_id as department_id_of
from app.matrix.categories import CATEGORY_BY_CODE
from app.messages import M

LEVEL_COLUMN = {"street": "street_id", "community": "community_id", "grid": "grid_id"}
READERS = frozenset({Role.admin, Role.supervisor, Role.street_dispatcher,
                     Role.community_dispatcher, Role.department_lead})


@dataclass(frozen=True, slots=True)
class RequestFilters:
    jurisdiction: str | None = None
    department: str | None = None
    category: str | None = None


def scope_filters(actor: Actor) -> dict[str, Any]:
    """The key filters that confine ``actor`` to what it may see; 403 for other roles."""
    role = actor.role
    if role not in READERS:
        raise Forbidden(M("report.role_may_not_read", role=role.value,
                          allowed=", ".join(sorted(r.value for r in READERS))))
    if role is Role.admin:
        return {}
    if role is Role.department_lead:
        if actor.department_id is None:
            raise Forbidden(M("report.lead_no_department"))
        return {"department_id": actor.department_id}
    level = {Role.street_dispatcher: "street",
             Role.community_dispatcher: "community"}.get(role, actor.scope_level)
    if actor.jurisdiction_id is None or level not in LEVEL_COLUMN:
        raise Forbidden(M("report.no_jurisdiction"))
    return {LEVEL_COLUMN[level]: actor.jurisdiction_id}


def _inside(node: Jurisdiction, scope: dict[str, Any]) -> bool:
    if "street_id" in scope:
        return node.street_id == scope["street_id"]
    if "community_id" in scope:
        return node.community_id == scope["community_id"]
    if "grid_id" in scope:
        return node.id == scope["grid_id"]
    return True  # admin, or a department lead (the department already confines them)


async def _served(session: AsyncSession, actor: Actor, node: Jurisdiction) -> bool:
    """A department lead's jurisdictions are the streets its department serves (as
    ``GET /jurisdictions`` shows them); anyone else's, their subtree (``_inside``)."""
    if actor.role is not Role.department_lead:
        return True
    street_id = node.street_id or node.id
    return (await session.execute(select(DepartmentStreet.street_id).where(
        DepartmentStreet.department_id == actor.department_id,
        DepartmentStreet.street_id == street_id))).first() is not None


async def resolve_filters(session: AsyncSession, actor: Actor,
                          wanted: RequestFilters) -> dict[str, Any]:
    """Scope filters plus the request's own, validated: codes become key values."""
    filters = scope_filters(actor)
    if wanted.jurisdiction:
        node = (await session.execute(select(Jurisdiction).where(
            Jurisdiction.code == wanted.jurisdiction))).scalar_one_or_none()
        if node is None or not _inside(node, filters) or not await _served(session, actor, node):
            raise NotFound(M("error.no_jurisdiction_in_scope", code=wanted.jurisdiction))
        filters[LEVEL_COLUMN[node.level]] = node.id
    if wanted.department:
        department_id = await department_id_of(session, wanted.department)
        if department_id is None:
            raise InvalidInput.at(["query", "department"],
                                  M("error.no_department", code=wanted.department))
        if filters.get("department_id", department_id) != department_id:
            raise NotFound(M("error.no_department_in_scope", code=wanted.department))
        filters["department_id"] = department_id
    if wanted.category:
        if wanted.category not in CATEGORY_BY_CODE:
            raise InvalidInput.at(["query", "category"], M(
                "report.no_category", category=wanted.category,
                known=", ".join(CATEGORY_BY_CODE)))
        filters["category_code"] = wanted.category
    return filters
